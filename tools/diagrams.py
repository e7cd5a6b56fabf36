"""Mermaid diagrams drawn once, at refresh time, and shown as inline SVG.

A page keeps its diagram as a ```` ```mermaid ```` fence (the text a reader edits, and what a
downloaded notebook carries), but the site does not draw it in the reader's browser: Mermaid
is 3.5 MB of JavaScript for one small diagram a page. Instead ``python3 dev.py diagrams``
(also part of ``dev.py refresh``) opens the vendored Mermaid in headless Chromium, draws every
fence of ``docs/`` twice, in Mermaid's light and dark themes, and writes the SVGs to
``docs/assets/diagrams/<key>-light.svg`` and ``-dark.svg``, where ``key`` is a hash of the
fence's text. At build time, ``fence_format`` (the ``mermaid`` custom fence of
``pymdownx.superfences`` in mkdocs.yml, which every builder reading that file runs) puts both
SVGs inline, and ``extra.css`` shows the one that matches the palette. A fence whose text
changed has no SVG under its new key, so the build stops and says which command draws it;
``tests/test_diagrams.py`` checks that every fence is drawn and no drawing is left over, and
the browser test draws them again and compares.

Labels are SVG text (``htmlLabels: false``), so a ``<br/>`` in a label stays a line break
wherever the SVG is shown, and a label set in a different font than the one it was measured
with runs slightly past its box instead of being cut off.
"""

from __future__ import annotations

import hashlib
import html
import posixpath
import re
import sys
from pathlib import Path

from markdown_it import MarkdownIt
from pymdownx.superfences import SuperFencesException

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tools.pages import DOCS, expand_snippets, source_pages, unindent_containers  # noqa: E402

DIAGRAMS = DOCS / "assets" / "diagrams"
MERMAID_JS = REPO / "tools" / "vendor" / "mermaid" / "mermaid.min.js"  # not part of the site
THEMES = {"light": "default", "dark": "dark"}  # our name -> Mermaid's theme
# The site's own font stack (Material with `font: false`), so labels are measured in the
# font the page will show them in.
FONT = "-apple-system, BlinkMacSystemFont, Helvetica, Arial, sans-serif"
MERMAID_CONFIG = {
    "startOnLoad": False,
    "securityLevel": "strict",
    "fontFamily": FONT,
    "htmlLabels": False,  # Mermaid 11 reads it here; older releases under "flowchart"
    "flowchart": {
        "htmlLabels": False,
        "useMaxWidth": False,
        "nodeSpacing": 30,
        "rankSpacing": 35,
        "wrappingWidth": 320,
    },
    "deterministicIds": True,
}


def diagram_key(source: str) -> str:
    """The file name stem for a fence's text: 12 hex digits of its SHA-256."""
    return hashlib.sha256(source.strip().encode("utf-8")).hexdigest()[:12]


def svg_path(source: str, theme: str) -> Path:
    return DIAGRAMS / f"{diagram_key(source)}-{theme}.svg"


def page_diagrams(page: Path) -> list[str]:
    """The text of every ```mermaid fence of a page, includes expanded, in page order."""
    raw = page.read_text(encoding="utf-8").split("\n")
    expanded, _ = expand_snippets(page, raw)
    tokens = MarkdownIt("commonmark").parse("\n".join(unindent_containers(expanded)))
    return [t.content for t in tokens if t.type == "fence" and t.info.strip() == "mermaid"]


def site_diagrams() -> dict[str, list[str]]:
    """Every page's diagrams, by page path relative to docs/ (pages without one left out)."""
    found = {p.relative_to(DOCS).as_posix(): page_diagrams(p) for p in source_pages(DOCS)}  # not docs/notebooks/
    return {page: sources for page, sources in found.items() if sources}


class DiagramNotDrawn(SuperFencesException, LookupError):
    """A fence with no drawing. A SuperFencesException, because superfences turns any other
    exception from a formatter into the fence's raw text and lets the build pass."""


def diagram_html(source: str, link=None) -> str:
    """Both drawings of one diagram, inline, for a page (the palette's CSS shows one).

    ``link``, if given, maps a file of docs/ to a relative link from the page being built;
    each drawing then links to its own file, so a tap on a phone opens it full size.
    """
    parts = []
    for theme in THEMES:
        path = svg_path(source, theme)
        if not path.is_file():
            first = source.strip().splitlines()[0] if source.strip() else ""
            raise DiagramNotDrawn(
                f"the Mermaid diagram starting {first!r} has no drawing ({path.relative_to(REPO)} is "
                "missing): its text changed or it is new; run `python3 dev.py diagrams` to draw it"
            )
        svg = path.read_text(encoding="utf-8")
        if link is not None:
            href = html.escape(link(path.relative_to(DOCS).as_posix()), quote=True)
            svg = f'<a class="llm-guide-figure" href="{href}" title="Open the diagram at full size">{svg}</a>'
        parts.append(f'<div class="llm-guide-diagram__{theme}">{svg}</div>')
    return '<figure class="llm-guide-diagram">' + "".join(parts) + "</figure>"


def fence_format(source: str, language: str, css_class: str, options: dict, md, **kwargs) -> str:
    """``pymdownx.superfences`` custom-fence formatter for ```mermaid (see mkdocs.yml)."""
    from tools.md_extensions import page_context  # the page being built, from either builder

    context = page_context(md)
    return diagram_html(source, link=context.link if context is not None else None)


_NOTEBOOK_MERMAID = re.compile(r'<div class="jp-Mermaid"><pre class="mermaid">\s*(.*?)</pre>\s*</div>', re.S)


def inline_notebook_diagrams(body: str) -> str:
    """Replace the Mermaid blocks nbconvert leaves in a rendered notebook with the drawings,
    each linked to its file as written from the notebook page's source (``notebooks/x.md``)."""

    def link(src: str) -> str:
        return posixpath.relpath(src, "notebooks")

    return _NOTEBOOK_MERMAID.sub(lambda m: diagram_html(html.unescape(m.group(1)), link=link), body)


# --- drawing (needs Chromium and Playwright, like the browser test) -------------------------

_RENDER = """async ([source, id, config]) => {
  mermaid.initialize(config);
  const { svg } = await mermaid.render(id, source);
  return svg;
}"""


_GEOMETRY = re.compile(r'\b(d|points|transform|viewBox|x|y|x1|y1|x2|y2|cx|cy|r|rx|ry|width|height)="([^"]*)"')
_LONG_NUMBER = re.compile(r"-?\d+\.\d{3,}(?:e-?\d+)?")


def _round_geometry(svg: str) -> str:
    """Coordinates to 2 decimals: Mermaid writes up to 15, and its rounded shapes are long
    hand-drawn paths, so this halves a diagram's size with no visible change (0.01 px)."""

    def short(m: re.Match) -> str:
        text = f"{float(m.group(0)):.2f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text

    return _GEOMETRY.sub(lambda m: f'{m.group(1)}="{_LONG_NUMBER.sub(short, m.group(2))}"', svg)


def draw(page, source: str, theme: str) -> str:
    """One SVG, drawn by Mermaid in a Playwright page that has loaded MERMAID_JS."""
    config = dict(MERMAID_CONFIG, theme=THEMES[theme])
    svg = page.evaluate(_RENDER, [source, f"diagram-{diagram_key(source)}-{theme}", config])
    return _round_geometry(svg.strip()) + "\n"


def open_mermaid(browser):
    """A blank Playwright page with the vendored Mermaid loaded (no network needed)."""
    page = browser.new_page()
    page.set_content("<!doctype html><html><body></body></html>")
    page.add_script_tag(content=MERMAID_JS.read_text(encoding="utf-8"))
    return page


def main() -> int:
    """Draw every fence that has no drawing yet, and delete drawings no fence uses."""
    from playwright.sync_api import sync_playwright

    from tools.chromium import ARGS, CHROMIUM

    wanted = {diagram_key(s): s for sources in site_diagrams().values() for s in sources}
    DIAGRAMS.mkdir(parents=True, exist_ok=True)
    for old in DIAGRAMS.glob("*.svg"):
        if old.name.rsplit("-", 1)[0] not in wanted:
            old.unlink()
            print(f"deleted {old.relative_to(REPO)}")
    todo = [(s, t) for s in wanted.values() for t in THEMES if not svg_path(s, t).is_file()]
    if not todo:
        print(f"all {len(wanted)} diagrams drawn")
        return 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = open_mermaid(browser)
        for source, theme in todo:
            path = svg_path(source, theme)
            path.write_text(draw(page, source, theme), encoding="utf-8")
            print(f"drew {path.relative_to(REPO)}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
