"""The pages' Mermaid diagrams are drawn, and drawn from the fences' current text.

``tools.diagrams`` keeps each ```mermaid fence of docs/ as two SVGs (light and dark) named
by a hash of the fence's text. These checks need no browser; the browser test draws every
fence again with Mermaid and compares (``test_the_drawn_diagrams_are_what_mermaid_draws...``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from llm_guide.figures.style import MIN_DESKTOP_PX, desktop_px
from tools.diagrams import (
    DIAGRAMS,
    THEMES,
    DiagramNotDrawn,
    diagram_html,
    diagram_key,
    fence_format,
    site_diagrams,
    svg_path,
)

SOURCES = [s for sources in site_diagrams().values() for s in sources]
# The text of a node or edge label: A["..."], A(("...")), A(["..."]), -- "..." -->, -. "..." .->
LABEL = re.compile(r'"([^"]+)"')


def test_the_pages_have_diagrams():
    assert {"index.md", "weights.md", "transformer-block.md"} <= set(site_diagrams())


@pytest.mark.parametrize("source", SOURCES, ids=[diagram_key(s) for s in SOURCES])
def test_every_fence_is_drawn_in_both_palettes_with_all_its_labels(source):
    for theme in THEMES:
        path = svg_path(source, theme)
        assert path.is_file(), f"{path.name} missing: run `python3 dev.py diagrams`"
        text = " ".join(t.strip() for t in ET.parse(path).getroot().itertext() if t.strip())
        for label in LABEL.findall(source):
            for line in re.split(r"<br\s*/?>", label):
                # Mermaid wraps a long line at a space, so compare word by word
                assert all(word in text for word in line.split()), f"{path.name} lacks the label {line!r}"


def test_no_drawing_is_left_over():
    keys = {diagram_key(s) for s in SOURCES}
    stale = sorted(p.name for p in DIAGRAMS.glob("*.svg") if p.name.rsplit("-", 1)[0] not in keys)
    assert not stale, f"drawings no fence uses (run `python3 dev.py diagrams` to delete them): {stale}"


def test_a_changed_fence_stops_the_build_and_names_the_command():
    with pytest.raises(DiagramNotDrawn, match=r"flowchart LR.*python3 dev.py diagrams"):
        diagram_html(SOURCES[0].replace("flowchart", "flowchart LR", 1) + "\n    X --> Y\n")


def test_a_page_shows_both_drawings_each_once():
    html = diagram_html(SOURCES[0])
    assert html.count("<svg") == 2
    assert 'class="llm-guide-diagram__light"' in html and 'class="llm-guide-diagram__dark"' in html


def test_an_undrawn_fence_stops_a_build_instead_of_showing_its_text():
    """superfences turns a formatter's exceptions into the fence's raw text, and the build
    passes, unless the exception is a SuperFencesException: DiagramNotDrawn is one."""
    import markdown

    fence = {"name": "mermaid", "class": "mermaid", "format": fence_format}
    md = markdown.Markdown(
        extensions=["pymdownx.superfences"], extension_configs={"pymdownx.superfences": {"custom_fences": [fence]}}
    )
    assert "<svg" in md.convert(f"```mermaid\n{SOURCES[0]}\n```\n")
    with pytest.raises(DiagramNotDrawn):
        md.reset().convert(f"```mermaid\n{SOURCES[0]}\n    %% edited\n```\n")


@pytest.mark.parametrize("source", SOURCES, ids=[diagram_key(s) for s in SOURCES])
def test_every_drawing_keeps_its_labels_readable_on_the_desktop_page(source):
    """The same rule as the figures' (tests/test_figure_text.py): a drawing wider than the
    column is scaled down to it, and its 16-px labels must stay at least MIN_DESKTOP_PX."""
    root = ET.parse(svg_path(source, "light")).getroot()
    width = float(root.get("width") or root.get("viewBox").split()[2])
    size = float(re.search(r"font-size:(\d+(?:\.\d+)?)px", ET.tostring(root, encoding="unicode")).group(1))
    shown = desktop_px(size * 3 / 4, width * 3 / 4)  # px to pt: an SVG without units is in px
    assert shown >= MIN_DESKTOP_PX, (
        f"{svg_path(source, 'light').name}: {width:.0f} px wide, labels {shown:.1f} px on the desktop page; "
        "lay it out in rows (subgraphs) or top to bottom"
    )


def test_the_notebook_pages_show_the_drawings_too(built_site):
    """nbconvert leaves a diagram as <div class="jp-Mermaid"><pre class="mermaid">; the notebook
    pages replace it with the drawings (inline_notebook_diagrams), so none may be left."""
    site, _ = built_site
    for page, sources in site_diagrams().items():
        stem = page.removesuffix(".md")
        notebook = site / "notebooks" / stem / "index.html"
        if not notebook.exists():
            continue  # a page without runnable code has no notebook
        text = notebook.read_text(encoding="utf-8")
        assert 'class="mermaid"' not in text and "jp-Mermaid" not in text, f"{notebook}: raw Mermaid left"
        assert text.count('<figure class="llm-guide-diagram">') == len(sources), notebook


@pytest.mark.parametrize("source", SOURCES, ids=[diagram_key(s) for s in SOURCES])
def test_every_drawing_has_a_name_for_screen_readers(source):
    """Each fence starts with ``accTitle:`` (and may add ``accDescr:``); Mermaid writes them as
    the SVG's <title> and <desc> and points aria-labelledby and aria-describedby at them."""
    for theme in THEMES:
        root = ET.parse(svg_path(source, theme)).getroot()
        title = root.find("{http://www.w3.org/2000/svg}title")
        assert title is not None and title.text.strip(), f"{svg_path(source, theme).name}: add an accTitle: line"
        assert root.get("aria-labelledby") == title.get("id")
