"""Every page with code is also a notebook (``tools/notebooks.py``), and the notebook works.

* Its code cells are exactly the blocks the doc tests run (same number, same text), and
  the outputs attached to them are the page's output fences.
* It runs top to bottom in a fresh Jupyter kernel (ipykernel, from this environment) in
  an empty folder, with no error, and prints what the page shows.
* The notebook the built site offers for download is valid nbformat and is the same
  notebook, byte for byte; the chapter page links to it and to its rendered page, and
  nothing on the notebook pages is loaded from another host.

The notebooks run two at a time, each in its own kernel.
"""

from __future__ import annotations

import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from tests.docs_harness import DOCS, normalise, read_page
from tools.notebooks import notebook_json, notebook_stem, page_to_notebook, pages_with_code

PAGES = pages_with_code()
CELL_TIMEOUT = 600  # seconds; a page's blocks each run in well under a second, training in seconds
ANSI = re.compile(r"\x1b\[[0-9;]*m")


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
    assert "generated from the page" in nb.cells[0].source and "pip install llm-guide" in nb.cells[0].source
    assert "**The question of this chapter**" in text  # admonition title, body un-indented
    assert "!!!" not in text and "???" not in text
    assert r"\(" not in text and r"\[" not in text and "$|V|$" in text and "$$\nV = " in text
    assert "](https://llm-guide.github.io/llm-guide/)" in text  # [the home page](index.md)
    assert "(https://llm-guide.github.io/llm-guide/reference/vocab/#llm_guide.vocab.Vocabulary)" in text
    assert 'title="Output"' not in text  # output fences became outputs, not markdown


# ----------------------------------------------------------------------------------
# The notebook runs
# ----------------------------------------------------------------------------------
@dataclass
class Run:
    nb: nbformat.NotebookNode
    seconds: float
    error: BaseException | None = None


def _execute(page: Path) -> Run:
    from nbclient import NotebookClient

    nb = page_to_notebook(page)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="llm-guide-notebook-") as workdir:
        client = NotebookClient(
            nb,
            kernel_name="python3",  # ipykernel's spec; "python" in it is this interpreter
            timeout=CELL_TIMEOUT,
            allow_errors=False,
            resources={"metadata": {"path": workdir}},  # the kernel's working directory
        )
        try:
            client.execute()
        except BaseException as error:  # noqa: BLE001  (reported per page below)
            return Run(nb, time.perf_counter() - start, error)
    return Run(nb, time.perf_counter() - start)


@pytest.fixture(scope="module")
def runs() -> dict[Path, Run]:
    """Every notebook, executed two at a time (each in its own kernel)."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(PAGES, pool.map(_execute, PAGES)))
    total = time.perf_counter() - start
    print(f"\nexecuted {len(PAGES)} notebooks in {total:.1f} s: "
          + ", ".join(f"{_id(p)} {r.seconds:.1f} s" for p, r in results.items()))
    return results


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_notebook_runs_without_errors(page, runs):
    run = runs[page]
    blocks = read_page(page).blocks
    for n, cell in enumerate(_code_cells(run.nb)):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                traceback = ANSI.sub("", "\n".join(output.traceback))
                pytest.fail(
                    f"{_id(page)}: the notebook's code cell {n + 1} (the block at "
                    f"{_id(page)}:{blocks[n].fence_line}) raised {output.ename}: {output.evalue}\n{traceback}",
                    pytrace=False,
                )
    if run.error is not None:
        pytest.fail(f"{_id(page)}: the notebook did not run: {type(run.error).__name__}: {run.error}", pytrace=False)


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_notebook_prints_what_the_page_shows(page, runs):
    """A fresh kernel has none of the harness's set-up (it seeds NumPy and ``random``),
    so a block whose output is random must seed itself, as CONTRIBUTING.md asks."""
    run = runs[page]
    if run.error is not None:
        pytest.skip("the notebook did not run (see test_notebook_runs_without_errors)")
    for cell, block in zip(_code_cells(run.nb), read_page(page).blocks):
        printed = "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
        assert normalise(printed) == normalise(block.expected or ""), (
            f"{_id(page)}:{block.fence_line}: run as a notebook, this block prints something else than "
            f"the page shows (seed it explicitly if its output is random).\n"
            f"page:\n{block.expected}\nnotebook:\n{printed}"
        )


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
        remote += [m for m in re.findall(r'<link\b[^>]*>', text) if re.search(r'href="(?:https?:)?//', m)
                   and 'rel="canonical"' not in m]
        remote += re.findall(r"import\(\s*[\"'](?:https?:)?//[^\"']*", text)
        remote += re.findall(r"@import\s+url\([\"']?(?:https?:)?//[^)]*", text)
        assert not remote, f"{html.relative_to(site)} loads from another host: {remote}"
    css = (site / "notebooks" / "notebook.css").read_text(encoding="utf-8")
    assert not re.search(r"url\([\"']?(?:https?:)?//", css), "notebook.css loads from another host"
