"""The figures package as a whole: the shared style, and figures named after their pages.

Each page's figures are drawn by ``llm_guide/figures/<page>.py`` (the page's slug with
``_`` for ``-``) and saved as ``docs/figures/<page>-<what>.svg``, so a figure's name says
which page shows it and which module draws it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from llm_guide.figures.style import new_figure, save

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
FIGURES = DOCS / "figures"
PACKAGE = REPO / "llm_guide" / "figures"

SHOWN = re.compile(r"!\[(?:[^\]]|\\\])*\]\(figures/([^)\s]+)")  # ![alt](figures/x.svg)
SAVED = re.compile(r"""["']([\w.-]+\.(?:svg|png))["']""")  # save(fig, "x.svg")
IMPORTED = re.compile(r"^\s*from llm_guide\.figures\.(\w+) import", re.M)


def _pages() -> dict[str, str]:
    """Slug -> text of every page directly under docs/ (the chapters, home, glossary)."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md"))}


def test_saved_lines_keep_every_point(tmp_path):
    """Simplification would drop points by a float comparison, so a loss curve trained on
    another CPU would come out with other points and fail the staleness check."""
    fig, ax = new_figure()
    ax.plot(np.random.default_rng(0).normal(size=500).cumsum())  # a random walk: most points are droppable
    save(fig, str(tmp_path / "walk.svg"))
    paths = re.findall(r'<path d="(M [^"]*)"', (tmp_path / "walk.svg").read_text(encoding="utf-8"))
    assert max(d.count("L ") for d in paths) + 1 == 500


def test_every_figure_file_starts_with_the_slug_of_a_page_that_shows_it():
    pages = _pages()
    files = sorted(p.name for p in FIGURES.iterdir() if p.is_file())
    assert files, "docs/figures/ is empty"
    for name in files:
        showing = [slug for slug, text in pages.items() if name in SHOWN.findall(text)]
        assert showing, f"docs/figures/{name} is shown by no page: delete it, or show it with ![...](figures/{name})"
        assert any(name.startswith(f"{slug}-") for slug in showing), (
            f"docs/figures/{name} is shown on {', '.join(f'{s}.md' for s in showing)}: "
            f"name it after that page, {showing[0]}-<what>{Path(name).suffix}"
        )


def test_every_figure_a_page_shows_exists_and_is_saved_there_under_its_slug():
    for slug, text in _pages().items():
        for name in SHOWN.findall(text):
            assert (FIGURES / name).is_file(), f"{slug}.md shows figures/{name}, which does not exist"
            assert name.startswith(f"{slug}-"), f"{slug}.md shows figures/{name}: name it {slug}-<what>"
        for name in SAVED.findall(text):
            assert name.startswith(f"{slug}-"), f"{slug}.md saves {name}: name it {slug}-<what>"


def test_pages_draw_with_their_own_figures_module():
    """One source per figure: a page imports from ``llm_guide.figures.<its slug>`` and the style."""
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    for slug, text in _pages().items():
        own = slug.replace("-", "_")
        for module in IMPORTED.findall(text):
            assert module in (own, "style"), f"{slug}.md imports llm_guide.figures.{module}; use {own} or style"
            assert module in modules
        if SHOWN.search(text):
            assert own in modules, f"{slug}.md shows figures, but llm_guide/figures/{own}.py does not exist"


def test_the_api_reference_shows_every_figures_module_in_chapter_order():
    """``docs/reference/figures.md`` lists the package's modules by hand (to order them by
    chapter), so a new module must be added there."""
    text = (DOCS / "reference" / "figures.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\s+- (\w+)\s*$", text, re.M)
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert set(listed) == modules, f"list every module of llm_guide/figures/ under members: in {text!r}"
    nav = re.findall(r'^\s+- "\d+\. [^"]+": ([\w-]+)\.md$', (REPO / "mkdocs.yml").read_text(encoding="utf-8"), re.M)
    chapters = [slug.replace("-", "_") for slug in nav if slug.replace("-", "_") in modules]
    assert listed == ["style", *chapters]
