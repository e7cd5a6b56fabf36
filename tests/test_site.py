"""The site builds cleanly, and the doc tests run every python block it shows."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.docs_harness import DOCS, REPO, harness, read_page
from tools.pages import source_pages

# ``built_site`` (one strict build per session, shared with the browser tests) is in conftest.py.


def test_build_is_strict_and_clean(built_site):
    _, log = built_site
    warnings = [line for line in log.splitlines() if "WARNING" in line]
    assert warnings == [], "\n".join(warnings)


def _pages() -> list[Path]:
    return source_pages(DOCS)  # not the notebook pages generated into docs/notebooks/


def _rendered_python_blocks(site: Path, page: Path) -> int:
    return len(re.findall(r'class="language-python (?:notest )?highlight"', _html(site, page)))


def _html(site: Path, page: Path) -> str:
    rel = page.relative_to(DOCS)
    html = site / (rel.parent / "index.html" if rel.stem == "index" else rel.with_suffix("") / "index.html")
    return html.read_text(encoding="utf-8")


def test_a_block_that_is_not_run_says_so_on_the_site(built_site):
    """A notest block shows a "Not run: ..." title and carries the notest class, so a reader
    does not run it expecting it to work offline."""
    site, _ = built_site
    total = 0
    for page in _pages():
        skipped = read_page(page).skipped
        labelled = re.findall(
            r'class="language-python notest highlight"><span class="filename">Not run: [^<]+</span>', _html(site, page)
        )
        assert len(labelled) == skipped, f"{page.relative_to(REPO)}: {skipped} notest blocks, {len(labelled)} labelled"
        total += skipped
    assert total > 0  # the guide has such a block, so the check above checked something


def test_every_python_block_on_the_site_is_run(built_site):
    """Count python blocks in the built HTML independently of the harness's parser:
    every one must be either run by the doc tests or explicitly marked ``notest``."""
    site, _ = built_site
    for page in _pages():
        parsed = read_page(page)
        rendered = _rendered_python_blocks(site, page)
        assert len(parsed.blocks) + parsed.skipped == rendered, (
            f"{page.relative_to(REPO)}: the site shows {rendered} python blocks, but the harness "
            f"finds {len(parsed.blocks)} to run and {parsed.skipped} marked notest"
        )
        collected = harness().collected.get(page.resolve())
        if collected is not None:  # the docs were collected in this run too
            assert collected == len(parsed.blocks), f"{page}: collected {collected} of {len(parsed.blocks)}"


def test_few_blocks_are_exempt():
    """notest is for code that cannot run here (shell, network); keep it rare."""
    pages = [read_page(p) for p in _pages()]
    run = sum(len(p.blocks) for p in pages)
    skipped = sum(p.skipped for p in pages)
    assert run > 0
    assert skipped <= max(3, run // 20), f"{skipped} python blocks are marked notest"


def test_no_cdn_assets():
    """Nothing on the site is loaded from another host."""
    config = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    assert "font: false" in config
    assert not re.search(r"https?://(?!llm-guide\.github\.io|github\.com/llm-guide/)", config.split("nav:")[1])


def test_the_search_index_leaves_code_blocks_out_but_finds_names(built_site):
    """tools/search_without_code.py: every page loads the index, and code was 60% of it."""
    site, _ = built_site
    index = site / "search" / "search_index.json"
    docs = json.loads(index.read_text(encoding="utf-8"))["docs"]
    texts = [d["text"] for d in docs]
    assert not [d["location"] for d in docs if "<pre>" in d["text"]], "code blocks in the search index"
    assert any("causal_mask" in t for t in texts)  # named in prose, inline code and the reference
    assert index.stat().st_size < 500_000
    leftover = [p for p in site.rglob("*.html") if "data-search-exclude" in p.read_text(encoding="utf-8")]
    assert not leftover, f"the theme did not strip data-search-exclude from {leftover[:3]}"


def test_the_config_loads_from_any_folder(tmp_path):
    """mkdocs.yml names the guide's own extensions by module (``tools.md_extensions``,
    ``tools.diagrams.fence_format``); a plain ``mkdocs serve`` in the environment, run from
    anywhere, must find them (dev.py's set-up puts the repository on the environment's path)."""
    code = f"from mkdocs.config import load_config; load_config({str(REPO / 'mkdocs.yml')!r})"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, "run `python3 dev.py` to set up the environment\n" + result.stderr[-2000:]
