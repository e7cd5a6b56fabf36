"""``snippets/``: every chapter's complete programs, as files the pages include.

A snippet is one source shown two ways. The page includes it (whole, or its named
sections in order, across several blocks) and the doc tests run those blocks in the
page's kernel; here each file also runs on its own, as a reader runs it
(``python snippets/<page>/<name>.py``), in a fresh process in an empty folder, and must
print what the page shows under the blocks that include it, and draw the page's figures.

The rest checks that included code reads as it runs: no method shown outside its class,
no page importing a private name, no listing importing from its own module.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from tests.docs_harness import DOCS, FIGURES, Block, figures_match, normalise, outputs_match, read_page
from tools.pages import source_pages

REPO = Path(__file__).resolve().parent.parent
SNIPPETS = REPO / "snippets"
SECTION_MARKER = re.compile(r"^\s*#\s*-{1,}8<-{1,}\s*\[(start|end):\w+\]\s*$")
FILES = sorted(SNIPPETS.rglob("*.py"))
CHAPTERS = [p for p in DOCS.glob("*.md") if p.name not in ("glossary.md", "workbook.md")]


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


@lru_cache(maxsize=1)
def pages() -> dict[Path, list[Block]]:
    return {path: read_page(path).blocks for path in source_pages(DOCS)}  # not docs/notebooks/


@lru_cache(maxsize=1)
def users() -> dict[Path, list[Block]]:
    """Every snippet file -> the blocks (in page order) that show its lines."""
    found: dict[Path, list[Block]] = {}
    for blocks in pages().values():
        for block in blocks:
            for path in {o.path for o in block.origins if o.path.is_relative_to(SNIPPETS)}:
                found.setdefault(path, []).append(block)
    return found


def program_lines(path: Path) -> list[str]:
    """The file's lines as a page shows them: without the section markers, without the
    blank lines at either end."""
    lines = [line for line in path.read_text(encoding="utf-8").split("\n") if not SECTION_MARKER.match(line)]
    return "\n".join(lines).strip("\n").split("\n")


def test_every_chapter_has_snippets_and_only_python_files_live_there():
    slugs = {p.parent.name for p in FILES}
    missing = sorted(p.stem for p in CHAPTERS if p.stem not in slugs)
    assert not missing, f"these pages have no program in snippets/<page>/: {missing}"
    strays = [rel(p) for p in SNIPPETS.rglob("*") if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts]
    assert not strays, f"snippets/ holds only .py programs: {strays}"
    unknown = sorted(s for s in slugs if not (DOCS / f"{s}.md").exists())
    assert not unknown, f"snippets/<page>/ folders must be named after a page in docs/: {unknown}"


def test_no_snippet_shadows_a_module():
    """``python snippets/x/math.py`` puts snippets/x/ first on sys.path, so a file named
    like a module (math.py, torch.py) would be imported instead of it, by every snippet
    beside it."""
    import importlib.util

    clashes = [rel(p) for p in FILES if p.stem in sys.stdlib_module_names or importlib.util.find_spec(p.stem)]
    assert not clashes, f"rename these: they shadow a module of the same name: {clashes}"


@pytest.mark.parametrize("path", FILES, ids=rel)
def test_the_page_includes_the_whole_file_in_order(path):
    blocks = users().get(path)
    assert blocks, f'{rel(path)} is not included by any page: include it (--8<-- "{rel(path)}") or delete it'
    page = {b.page for b in blocks}
    assert page == {DOCS / f"{path.parent.name}.md"}, (
        f"{rel(path)} is included by {sorted(str(p.relative_to(REPO)) for p in page)}; "
        f"a snippet belongs to the one page named by its folder, docs/{path.parent.name}.md"
    )
    shown: list[str] = []
    for block in blocks:
        foreign = [o.describe() for o in block.origins if o.path != path and block.code.strip()]
        assert not foreign, (
            f"the block at {rel(block.page)}:{block.fence_line} mixes {rel(path)} with other lines "
            f"({foreign[0]}); a block that shows a snippet shows only that snippet, so the page runs what the file runs"
        )
        shown.extend(block.code.rstrip("\n").split("\n"))
    # Blank lines between two sections belong to neither (the formatter wants two before a
    # def, which the page would show at the top of a cell): compare the lines that hold code.
    assert [x for x in shown if x.strip()] == [x for x in program_lines(path) if x.strip()], (
        f"the blocks that include {rel(path)} do not show the whole file, in order: include every "
        "named section, in the order the file has them"
    )


def _run(path: Path, folder: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, str(path)], cwd=folder, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("path", FILES, ids=rel)
def test_the_file_runs_alone_and_prints_what_the_page_shows(path, tmp_path):
    blocks = users().get(path)
    if not blocks:
        pytest.fail(f"{rel(path)} is not included by any page")
    result = _run(path, tmp_path)
    assert result.returncode == 0, f"python {rel(path)} failed on its own:\n{result.stderr[-3000:]}"
    shown = "\n".join(normalise(b.expected) for b in blocks if b.expected is not None and normalise(b.expected))
    printed = normalise(result.stdout)
    where = ", ".join(f"{rel(b.page)}:{b.fence_line}" for b in blocks)
    assert outputs_match(shown, printed), (
        f"python {rel(path)} prints something else than the page shows under its blocks ({where}):\n"
        f"--- shown\n{shown}\n--- printed\n{printed}"
    )
    for made in sorted(tmp_path.iterdir()):
        if made.suffix in (".svg", ".png"):
            committed = FIGURES / made.name
            assert committed.exists() and figures_match(made, committed), (
                f"python {rel(path)} draws {made.name} unlike docs/figures/{made.name}"
            )


# ----------------------------------------------------------------------------------
# Included code reads as it runs
# ----------------------------------------------------------------------------------
def _all_blocks() -> list[Block]:
    return [b for blocks in pages().values() for b in blocks]


def _included_from_package(block: Block) -> set[Path]:
    return {o.path for o in block.origins if o.path.is_relative_to(REPO / "llm_guide")}


def test_no_method_or_decorator_is_shown_outside_its_class():
    bad = []
    for block in _all_blocks():
        if not _included_from_package(block):
            continue
        tree = ast.parse(block.code)
        in_class = {id(n) for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for n in c.body}
        # every def not directly in a class body: at top level, or (an indented method
        # pasted under a function) nested in another def
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or id(node) in in_class:
                continue
            args = node.args.posonlyargs + node.args.args
            decorators = {ast.unparse(d) for d in node.decorator_list}
            if (args and args[0].arg in ("self", "cls")) or decorators & {"classmethod", "staticmethod", "property"}:
                bad.append(f"{rel(block.page)}:{block.fence_line} shows {node.name}() outside its class")
    assert not bad, "include the whole class (or a section that starts at `class ...:`):\n" + "\n".join(bad)


def test_no_page_imports_a_private_name():
    bad = []
    for block in _all_blocks():
        for node in ast.walk(ast.parse(block.code)):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                names = [a.name for a in node.names if a.name.startswith("_")]
                if names or any(part.startswith("_") for part in (node.module or "").split(".")):
                    bad.append(f"{rel(block.page)}:{block.fence_line}: from {node.module} import {', '.join(names)}")
            elif isinstance(node, ast.Import):
                bad += [
                    f"{rel(block.page)}:{block.fence_line}: import {a.name}"
                    for a in node.names
                    if any(part.startswith("_") for part in a.name.split("."))
                ]
    assert not bad, "pages use the package's public names only:\n" + "\n".join(bad)


def test_no_listing_imports_from_its_own_module():
    bad = []
    for block in _all_blocks():
        for source in _included_from_package(block):
            module = ".".join(source.relative_to(REPO).with_suffix("").parts)
            for node in ast.walk(ast.parse(block.code)):
                if isinstance(node, ast.ImportFrom) and node.module == module:
                    bad.append(f"{rel(block.page)}:{block.fence_line} shows {rel(source)} and imports from {module}")
    assert not bad, "a block that shows a module's code defines those names itself:\n" + "\n".join(bad)
