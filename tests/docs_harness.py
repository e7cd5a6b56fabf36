"""Run every python block of every page, exactly as the built site shows it.

This is a pytest plugin (loaded by the repo-root ``conftest.py``) on top of
pytest-markdown-docs. It adds what that plugin lacks, and what the guide promises:

* **Snippet includes are expanded** with pymdownx.snippets' own preprocessor,
  configured from ``mkdocs.yml``, so a block that shows ``llm_guide/vocab.py`` runs
  the same lines the site renders.
* **Fences inside admonitions (``!!!``, ``???``) and content tabs (``===``) run**:
  their bodies are un-indented (line numbers unchanged) before parsing.
* **A page is one Python session.** Blocks run top to bottom in one namespace, as
  a reader pasting them into a prompt (or running the chapter notebook) would.
  Running a single block with ``-k`` replays the blocks above it first.
* **Printed output is checked.** A ```` ```text title="Output" ```` fence right
  after a python fence must equal what that block prints; a block that prints with
  no such fence fails too.
* **Figures are checked.** Blocks run in a scratch directory; every image a block
  saves there must match the committed copy in ``docs/figures/``.
* **Failures name the page and line**, and the snippet file and line when the
  failing line came from an include.

``pytest --update-docs`` rewrites the output fences and copies the figures instead
of failing (``python3 dev.py refresh`` runs it).
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import random
import re
import shutil
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytest_markdown_docs import plugin as md_plugin
from pytest_markdown_docs._runners import _Runner, register_runner
from pytest_markdown_docs.definitions import FenceTestDefinition

from tools.pages import (  # noqa: F401  (re-exported for the harness's tests)
    DOCS,
    REPO,
    Block,
    Origin,
    Page,
    _rel,
    read_page,
    unindent_containers,
)

FIGURES = DOCS / "figures"
FIGURE_SUFFIXES = (".svg", ".png")


# ----------------------------------------------------------------------------------
# Running a page
# ----------------------------------------------------------------------------------
def normalise(text: str) -> str:
    """Compare outputs line by line, ignoring trailing spaces and trailing blank lines."""
    return "\n".join(line.rstrip() for line in text.rstrip("\n").split("\n")).strip("\n")


class BlockFailure(Exception):
    """A block ran, but what it printed or drew is not what the page shows."""


def _numpy_print_defaults() -> dict[str, Any]:
    import numpy as np

    return dict(np.get_printoptions())


_NUMPY_PRINT_DEFAULTS = _numpy_print_defaults()


@dataclass
class Session:
    """The state of one page being run top to bottom."""

    page: Page
    namespace: dict[str, Any] = field(default_factory=dict)
    workdir: Path | None = None
    next_index: int = 0
    failed_line: int | None = None
    outputs: dict[int, str] = field(default_factory=dict)
    figures: dict[int, list[Path]] = field(default_factory=dict)

    def start(self) -> None:
        import numpy as np
        import torch

        self.workdir = Path(tempfile.mkdtemp(prefix="llm-guide-page-"))
        self.namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        # A fresh interpreter's state (67280421310721 is torch's default seed) and fixed
        # seeds for the others, so a page's output never depends on the pages before it.
        torch.manual_seed(67280421310721)
        np.random.seed(0)
        random.seed(0)
        # A page may change global print and dtype settings; the next page must not see them.
        torch.set_printoptions(profile="default", sci_mode=None)
        np.set_printoptions(**_NUMPY_PRINT_DEFAULTS)
        torch.set_default_dtype(torch.float32)
        import matplotlib.pyplot as plt

        plt.close("all")

    def run(self, block: Block) -> str:
        """Execute one block in the page's namespace; return what it printed."""
        # Line k of the code is line k of this "file"; ``origins`` maps it to the page or include.
        compiled = compile(block.code, _code_name(block), "exec", dont_inherit=True)
        before = _snapshot(self.workdir)
        buffer = io.StringIO()
        cwd = os.getcwd()
        os.chdir(self.workdir)
        try:
            with contextlib.redirect_stdout(buffer):
                exec(compiled, self.namespace)
        finally:
            os.chdir(cwd)
        after = _snapshot(self.workdir)
        self.figures[block.index] = sorted(p for p, m in after.items() if before.get(p) != m)
        return buffer.getvalue()


def _code_name(block: Block) -> str:
    return f"<{_rel(block.page)} block at line {block.fence_line}>"


def _snapshot(directory: Path) -> dict[Path, float]:
    return {
        p: p.stat().st_mtime_ns
        for p in directory.rglob("*")
        if p.is_file() and p.suffix in FIGURE_SUFFIXES
    }


class Harness:
    """Holds every page's session; one instance per pytest run."""

    def __init__(self, update: bool) -> None:
        self.update = update
        self.pages: dict[Path, Page] = {}
        self.sessions: dict[Path, Session] = {}
        self.collected: dict[Path, int] = {}
        self.pending_outputs: dict[Path, dict[int, str]] = {}

    def page(self, path: Path) -> Page:
        path = path.resolve()
        if path not in self.pages:
            self.pages[path] = read_page(path)
        return self.pages[path]

    def run_block(self, path: Path, fence_line: int) -> None:
        page = self.page(path)
        block = next(b for b in page.blocks if b.fence_line == fence_line)
        session = self.sessions.get(page.path)
        if session is None or session.next_index > block.index:
            session = Session(page)
            session.start()
            self.sessions[page.path] = session
        if session.failed_line is not None:
            pytest.skip(
                f"not run: the block at {_rel(page.path)}:{session.failed_line} failed, "
                "and every later block on the page depends on the ones before it"
            )
        # Replay earlier blocks (when a single block was selected with -k) without checking them.
        while session.next_index < block.index:
            earlier = page.blocks[session.next_index]
            try:
                session.run(earlier)
            except BaseException:
                session.failed_line = earlier.fence_line
                raise
            session.next_index += 1
        try:
            printed = session.run(block)
        except BaseException:
            session.failed_line = block.fence_line
            raise
        session.next_index += 1
        self.check_output(block, printed)
        self.check_figures(block, session.figures.get(block.index, []))

    # -- output ------------------------------------------------------------------
    def check_output(self, block: Block, printed: str) -> None:
        got = normalise(printed)
        want = normalise(block.expected) if block.expected is not None else None
        if got == (want or "") and (want is not None or not got):
            return
        if self.update:
            self.pending_outputs.setdefault(block.page, {})[block.fence_line] = printed
            return
        where = f"{_rel(block.page)}:{block.fence_line}"
        if want is None:
            raise BlockFailure(
                f"the block at {where} printed output, but the page shows none after it.\n"
                f"Add a ```text title=\"Output\"``` fence (run `python3 dev.py refresh`).\n"
                f"It printed:\n{printed}"
            )
        diff = "\n".join(
            difflib.unified_diff(
                want.split("\n"), got.split("\n"), "shown on the page", "printed by the code", lineterm=""
            )
        )
        raise BlockFailure(
            f"the output shown at {_rel(block.page)}:{block.output_span[0] if block.output_span else '?'} "
            f"is not what the block at {where} prints.\n"
            f"If the change is intended, run `python3 dev.py refresh`.\n{diff}"
        )

    # -- figures -----------------------------------------------------------------
    def check_figures(self, block: Block, made: list[Path]) -> None:
        for produced in made:
            committed = FIGURES / produced.name
            if self.update:
                FIGURES.mkdir(parents=True, exist_ok=True)
                if not committed.exists() or not figures_match(produced, committed):
                    shutil.copyfile(produced, committed)
                continue
            where = f"{_rel(block.page)}:{block.fence_line}"
            if not committed.exists():
                raise BlockFailure(
                    f"the block at {where} saved {produced.name}, but docs/figures/{produced.name} "
                    "does not exist; run `python3 dev.py refresh`"
                )
            if not figures_match(produced, committed):
                raise BlockFailure(
                    f"docs/figures/{produced.name} is stale: the block at {where} now draws a "
                    "different figure; run `python3 dev.py refresh`"
                )

    # -- refresh -----------------------------------------------------------------
    def write_updates(self) -> list[str]:
        changed = []
        for path, outputs in self.pending_outputs.items():
            rewrite_outputs(self.page(path), outputs)
            changed.append(_rel(path))
        return changed


# A number standing on its own: not the tail of an id such as "p8fc9e481ba".
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])")


def figures_match(a: Path, b: Path, tolerance: float = 0.05) -> bool:
    """Same picture? SVGs: the same text, with every number equal to within
    ``tolerance`` (float noise from another CPU moves a point by far less than a
    pixel, a changed figure moves many). PNGs: the same bytes."""
    if a.suffix != ".svg":
        return a.read_bytes() == b.read_bytes()
    ta, tb = a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8")
    if ta == tb:
        return True
    if NUMBER.sub("#", ta) != NUMBER.sub("#", tb):
        return False
    na, nb = NUMBER.findall(ta), NUMBER.findall(tb)
    return all(abs(float(x) - float(y)) <= tolerance for x, y in zip(na, nb))


def rewrite_outputs(page: Page, outputs: dict[int, str]) -> None:
    """Write new output fences into the page source, bottom to top so line numbers hold."""
    lines = page.path.read_text(encoding="utf-8").split("\n")
    blocks = {b.fence_line: b for b in page.blocks}
    for fence_line in sorted(outputs, reverse=True):
        block = blocks[fence_line]
        text = outputs[fence_line].rstrip("\n")
        body = [block.fence_indent + line if line else "" for line in text.split("\n")] if text else []
        if block.output_span is not None:
            first, last = block.output_span
            if text:
                lines[first - 1 : last] = body
            else:  # nothing printed any more: drop the whole output fence
                lines[first - 2 : last + 1] = []
                if first - 3 >= 0 and not lines[first - 3].strip():
                    del lines[first - 3]
        elif text:
            ticks = "`" * max(3, _longest_backtick_run(text) + 1)
            fence = [
                "",
                f'{block.fence_indent}{ticks}text title="Output"',
                *body,
                f"{block.fence_indent}{ticks}",
            ]
            lines[block.fence_end_line : block.fence_end_line] = fence
    page.path.write_text("\n".join(lines), encoding="utf-8")


def _longest_backtick_run(text: str) -> int:
    runs = re.findall(r"`+", text)
    return max((len(r) for r in runs), default=0)


# ----------------------------------------------------------------------------------
# pytest-markdown-docs integration
# ----------------------------------------------------------------------------------
_HARNESS: Harness | None = None
_CURRENT: Page | None = None


class _ExpandedParser:
    """What pytest-markdown-docs asks for: something with ``.parse(text)``.

    It returns the fences of the page being collected with includes expanded,
    container bodies lifted, and each fence's line set to its line on the page.
    """

    def parse(self, text: str):
        from markdown_it.token import Token

        page = _CURRENT
        tokens = []
        for block in page.blocks:
            tok = Token("fence", "code", 0)
            tok.info = "python"
            tok.content = block.code
            tok.map = [block.fence_line - 1, block.fence_line]
            tokens.append(tok)
        return tokens


class GuidePage(md_plugin.MarkdownTextFile):
    """A page under docs/: pytest-markdown-docs collects it with the parser above."""

    def collect(self):
        global _CURRENT
        page = _HARNESS.page(self.path)
        _CURRENT = page
        items = list(super().collect())
        _HARNESS.collected[page.path] = len(items)
        return items


@register_runner(default=True)
class GuideRunner(_Runner):
    """Runs a block inside its page's session and checks its output and figures.

    Its ``runtest`` deliberately takes no ``asyncio_runner`` keyword: pytest-markdown-docs
    then falls back to calling it without one *before* running anything, so a block
    that itself raises ``TypeError`` is never run twice.
    """

    def runtest(self, test: FenceTestDefinition, args: dict[str, Any]) -> None:
        _HARNESS.run_block(Path(test.source_path), test.start_line)

    def repr_failure(self, test: FenceTestDefinition, excinfo, style=None) -> str:
        page = _HARNESS.page(Path(test.source_path))
        block = next(b for b in page.blocks if b.fence_line == test.start_line)
        if isinstance(excinfo.value, BlockFailure):
            return f"{_rel(page.path)}:{block.fence_line}: {excinfo.value}"
        name = _code_name(block)
        lines = []
        failing: Origin | None = None
        for frame in traceback.extract_tb(excinfo.tb):
            if frame.filename == name:
                origin = block.origins[frame.lineno - 1]
                failing = origin
                code = block.code.split("\n")[frame.lineno - 1].strip()
                lines.append(f"  {origin.describe()}, in {frame.name}\n    {code}")
            elif failing is not None or "llm_guide" in frame.filename:
                lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}\n    {frame.line}')
        header = f"{_rel(page.path)}:{block.fence_line}: the python block starting here raised"
        if failing is not None:
            header += f"\n  at {failing.describe()}"
        return f"{header}\nTraceback (most recent call last):\n" + "\n".join(lines) + f"\n{excinfo.exconly()}"


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--update-docs",
        action="store_true",
        default=False,
        help="rewrite the output fences of pages and the figures in docs/figures instead of failing",
    )


def pytest_configure(config) -> None:
    global _HARNESS
    _HARNESS = Harness(update=config.getoption("--update-docs"))
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")  # no build date inside SVG files


def pytest_collect_file(file_path, parent):
    path = Path(file_path)
    if path.suffix == ".md" and DOCS in path.resolve().parents:
        return GuidePage.from_parent(parent, path=path)
    return None


@pytest.hookimpl
def pytest_markdown_docs_markdown_it():
    return _ExpandedParser()


def pytest_sessionfinish(session, exitstatus) -> None:
    if _HARNESS is not None and _HARNESS.update:
        changed = _HARNESS.write_updates()
        if changed:
            print("\nupdated outputs in: " + ", ".join(changed))


def harness() -> Harness:
    """The running harness (for tests that check the harness itself)."""
    return _HARNESS
