"""The pages' Mermaid diagrams are drawn, and drawn from the fences' current text.

``tools.diagrams`` keeps each ```mermaid fence of docs/ as two SVGs (light and dark) named
by a hash of the fence's text. These checks need no browser; the browser test draws every
fence again with Mermaid and compares (``test_the_drawn_diagrams_are_what_mermaid_draws...``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from tools.diagrams import DIAGRAMS, THEMES, DiagramNotDrawn, diagram_html, diagram_key, site_diagrams, svg_path

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
