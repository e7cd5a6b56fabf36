"""Every page with code is also a notebook (``tools/notebooks.py``), and the notebook works.

* Its code cells are exactly the blocks the doc tests run (same number, same text), and
  the outputs attached to them are the page's output fences.
* It runs top to bottom in a fresh Jupyter kernel (ipykernel, from this environment) in
  an empty folder, with no error, and prints what the page shows: the doc-test harness
  runs every page this way, so that part is ``pytest docs``.
* The notebook the built site offers for download is valid nbformat and is the same
  notebook, byte for byte; the chapter page links to it and to its rendered page, and
  nothing on the notebook pages is loaded from another host.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tests.docs_harness import DOCS, normalise, read_page
from tools.notebooks import notebook_json, notebook_stem, page_to_notebook, pages_with_code

PAGES = pages_with_code()


def _id(page: Path) -> str:
    return page.relative_to(DOCS).as_posix()


def _code_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


# ----------------------------------------------------------------------------------
# The notebook is the page
# ----------------------------------------------------------------------------------
def test_there_are_notebooks():
    assert PAGES, "no page with runnable python blocks was found under docs/"
    assert (DOCS / "vocabulary.md") in PAGES


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_code_cells_are_the_blocks_the_doc_tests_run(page):
    nb = page_to_notebook(page)
    nbformat.validate(nb)
    blocks = read_page(page).blocks
    cells = _code_cells(nb)
    assert len(cells) == len(blocks), f"{_id(page)}: {len(cells)} code cells, the doc tests run {len(blocks)} blocks"
    for cell, block in zip(cells, blocks):
        where = f"{_id(page)}:{block.fence_line}"
        assert cell.source == block.code.rstrip("\n"), f"{where}: the code cell differs from the block"
        shown = [o.text for o in cell.outputs if o.output_type == "stream"]
        assert shown == ([block.expected] if block.expected else []), f"{where}: the cell's output is not the page's"
    assert nb.metadata.kernelspec.name == "python3"
    assert notebook_json(page) == notebook_json(page), f"{_id(page)}: the notebook is not deterministic"


def test_prose_is_converted_for_jupyter():
    nb = page_to_notebook(DOCS / "vocabulary.md")
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert (
        "generated from the page" in nb.cells[0].source
        and "pip install -c constraints.txt -e" in nb.cells[0].source
        and "#running-it-yourself" in nb.cells[0].source
    )
    assert "**The question of this chapter**" in text  # admonition title, body un-indented
    assert "!!!" not in text and "???" not in text
    assert r"\(" not in text and r"\[" not in text and "$|V|$" in text and "$$\nV = " in text
    assert "](https://llm-guide.github.io/llm-guide/)" in text  # [the home page](index.md)
    assert "(https://llm-guide.github.io/llm-guide/reference/vocab/#llm_guide.vocab.Vocabulary)" in text
    assert 'title="Output"' not in text  # output fences became outputs, not markdown


# ----------------------------------------------------------------------------------
# The notebook runs: that is the doc tests
# ----------------------------------------------------------------------------------
# The doc-test harness (tests/docs_harness.py) runs each page *as its notebook*: the code
# cells of page_to_notebook(page), through nbclient, in a fresh Jupyter kernel started in an
# empty folder, and checks every cell's printed output against the page. So `pytest docs`
# is the notebook test; running the notebooks a second time here would double the work.
def test_the_doc_tests_run_each_page_as_its_notebook_in_a_kernel():
    from tests.docs_harness import Session, page_notebook

    page = read_page(DOCS / "vocabulary.md")
    assert page_notebook(page) == page_to_notebook(DOCS / "vocabulary.md")
    session = Session(page)
    session.start()
    try:
        printed = session.run(page.blocks[0])
        assert session.client.km.has_kernel  # a kernel process of its own, not this one
    finally:
        session.close()
    assert normalise(printed) == normalise(page.blocks[0].expected or "")


# ----------------------------------------------------------------------------------
# The built site offers it
# ----------------------------------------------------------------------------------
def _html(site: Path, src: str) -> str:
    stem = src[: -len(".md")]
    path = site / ("index.html" if stem == "index" else f"{stem}/index.html")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_site_offers_the_notebook(page, built_site):
    site, _ = built_site
    stem = notebook_stem(page)
    download = site / "notebooks" / f"{stem}.ipynb"
    assert download.exists(), f"the site has no notebooks/{stem}.ipynb for {_id(page)}"
    nb = nbformat.read(download, as_version=4)
    nbformat.validate(nb)
    assert download.read_text(encoding="utf-8") == notebook_json(page), f"notebooks/{stem}.ipynb is stale"

    chapter = _html(site, _id(page))
    prefix = "" if _id(page) == "index.md" else "../"
    assert f'href="{prefix}notebooks/{stem}.ipynb" download="{stem}.ipynb"' in chapter, "no download button"
    assert f'href="{prefix}notebooks/{stem}/"' in chapter and "Open the notebook" in chapter, "no open button"

    rendered = (site / "notebooks" / stem / "index.html").read_text(encoding="utf-8")
    assert rendered.count('class="clipboard-copy-txt"') == len(_code_cells(nb)), "not every code cell is shown"
    assert "Back to the chapter" in rendered and 'download="' in rendered
    for name in re.findall(r'<img[^>]+src="([^"/:]+\.svg)"', rendered):
        assert (site / "notebooks" / stem / name).exists(), f"notebooks/{stem}/ shows {name}, which is missing"


def test_notebook_pages_load_nothing_from_another_host(built_site):
    site, _ = built_site
    for html in sorted((site / "notebooks").glob("*/index.html")):
        text = html.read_text(encoding="utf-8")
        remote = re.findall(r'<(?:script|img|iframe|source)\b[^>]*\bsrc="(?:https?:)?//[^"]*"', text)
        remote += [
            m
            for m in re.findall(r"<link\b[^>]*>", text)
            if re.search(r'href="(?:https?:)?//', m) and 'rel="canonical"' not in m
        ]
        remote += re.findall(r"import\(\s*[\"'](?:https?:)?//[^\"']*", text)
        remote += re.findall(r"@import\s+url\([\"']?(?:https?:)?//[^)]*", text)
        assert not remote, f"{html.relative_to(site)} loads from another host: {remote}"
    css = (site / "notebooks" / "notebook.css").read_text(encoding="utf-8")
    assert not re.search(r"url\([\"']?(?:https?:)?//", css), "notebook.css loads from another host"


def test_no_chapter_prose_has_a_dollar_sign():
    """A notebook's markdown cells write math as $...$ (tools/notebooks.py turns \\( \\) into
    $), and Jupyter and the notebook pages read any $ in a markdown cell as math: a literal
    dollar in a chapter's prose would turn the text after it into a formula. Write it in
    code (`$5`) or as math (\\(\\$5\\)) instead."""
    found = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        text = re.sub(r"^( *)(`{3,}|~{3,}).*?^\1\2 *$", "", text, flags=re.S | re.M)  # fences
        text = re.sub(r"`[^`\n]*`", "", text)  # inline code
        text = re.sub(r"\\\(.*?\\\)|\\\[.*?\\\]", "", text, flags=re.S)  # math
        found += [f"{page.name}: {line.strip()[:80]}" for line in text.splitlines() if "$" in line]
    assert not found, "a $ in prose becomes math in the notebook:\n" + "\n".join(found)
