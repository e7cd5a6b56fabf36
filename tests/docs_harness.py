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
from markdown_it import MarkdownIt
from pytest_markdown_docs import plugin as md_plugin
from pytest_markdown_docs._runners import _Runner, register_runner
from pytest_markdown_docs.definitions import FenceTestDefinition

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
FIGURES = DOCS / "figures"
FIGURE_SUFFIXES = (".svg", ".png")
PYTHON_LANGS = ("python", "py", "python3")

OUTPUT_INFO = re.compile(r'^text\b.*\btitle="Output"')
CONTAINER_HEADER = re.compile(r'^(?P<indent>[ \t]*)(?:!!!|\?\?\?\+?|===)[ \t]')
FENCE_DELIM = re.compile(r"^[ \t]*(`{3,}|~{3,})")
BLOCK_SNIPPET = re.compile(r"^[ \t]*-{1,}8<-{1,}[ \t]*$")


# ----------------------------------------------------------------------------------
# Reading a page the way mkdocs does
# ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Origin:
    """Where one line of the expanded page came from."""

    path: Path
    line: int  # 1-based
    included_at: int | None = None  # page line of the --8<-- include, if any

    def describe(self) -> str:
        where = f"{_rel(self.path)}, line {self.line}"
        if self.included_at is not None:
            where += f" (included at the page's line {self.included_at})"
        return where


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def _snippet_preprocessor():
    """pymdownx.snippets' own preprocessor, configured exactly as in mkdocs.yml."""
    from markdown import Markdown
    from mkdocs.config import load_config
    from pymdownx.snippets import SnippetExtension

    config = load_config(str(REPO / "mkdocs.yml"))
    options = dict(config["mdx_configs"].get("pymdownx.snippets", {}))
    bases = options.get("base_path", ["."])
    bases = [bases] if isinstance(bases, str) else bases
    # pymdownx resolves base_path against the current directory; mkdocs runs from the repo root.
    options["base_path"] = [str((REPO / b).resolve()) for b in bases]
    md = Markdown(extensions=[SnippetExtension(**options)])
    return md.preprocessors["snippet"]


def expand_snippets(path: Path, lines: list[str]) -> tuple[list[str], list[Origin]]:
    """Expand every ``--8<--`` include, remembering where each resulting line came from."""
    pre = _snippet_preprocessor()
    out: list[str] = []
    origins: list[Origin] = []
    for number, line in enumerate(lines, start=1):
        if BLOCK_SNIPPET.match(line):
            raise ValueError(
                f"{_rel(path)}:{number}: use the one-line form --8<-- \"file\" for includes; "
                "the block form is not supported by the doc-test harness"
            )
        if "8<" not in line or not pre.RE_ALL_SNIPPETS.match(line):
            out.append(line)
            origins.append(Origin(path, number))
            continue
        expanded = pre.run([line])
        out.extend(expanded)
        origins.extend(_align_include(line, expanded, pre, path, number))
    return out, origins


def _align_include(line: str, expanded: list[str], pre, page: Path, number: int) -> list[Origin]:
    """Map the lines an include produced back to lines of the included file."""
    target = pre.RE_ALL_SNIPPETS.match(line).group("snippet")[1:-1].strip()
    parsed = pre.parse_snippet_target(target)
    source = Path(pre.get_snippet_path(parsed["path"]))
    source_lines = source.read_text(encoding="utf-8").split("\n")
    origins = []
    cursor = 0
    for text in expanded:
        want = text.strip()
        found = None
        for j in range(cursor, len(source_lines)):
            if source_lines[j].strip() == want:
                found = j
                break
        if found is None:  # should not happen; fall back to the include line itself
            origins.append(Origin(page, number))
            continue
        origins.append(Origin(source, found + 1, included_at=number))
        cursor = found + 1
    return origins


def unindent_containers(lines: list[str]) -> list[str]:
    """Lift the bodies of admonitions, collapsible blocks and content tabs out by one
    level, so a markdown parser sees the fences inside them. Line numbers do not change.
    """
    lines = list(lines)
    in_fence: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        delim = FENCE_DELIM.match(line)
        if in_fence is not None:
            if delim and delim.group(1)[0] == in_fence[0] and len(delim.group(1)) >= len(in_fence):
                in_fence = None
            i += 1
            continue
        if delim:
            in_fence = delim.group(1)
            i += 1
            continue
        header = CONTAINER_HEADER.match(line)
        if header:
            indent = len(header.group("indent").expandtabs(4))
            lines[i] = ""
            j = i + 1
            while j < len(lines):
                body = lines[j]
                if body.strip() == "":
                    j += 1
                    continue
                if len(body) - len(body.lstrip(" ")) < indent + 4:
                    break
                lines[j] = body[4:]
                j += 1
        i += 1
    return lines


@dataclass
class Block:
    """One python fence of a page, ready to run."""

    index: int
    page: Path
    fence_line: int  # page line of the opening ``` (1-based)
    code: str
    origins: list[Origin]  # one per code line
    expected: str | None  # the Output fence's text, or None if there is none
    output_span: tuple[int, int] | None  # page lines (1-based, inclusive) of the output text
    fence_indent: str = ""
    fence_end_line: int = 0  # page line of the closing ``` of the python fence


@dataclass
class Page:
    path: Path
    blocks: list[Block]
    skipped: int  # python fences marked notest


def read_page(path: Path) -> Page:
    """Parse a page into its runnable python blocks, after expanding includes."""
    raw = path.read_text(encoding="utf-8").split("\n")
    expanded, origins = expand_snippets(path, raw)
    flat = unindent_containers(expanded)
    tokens = MarkdownIt("commonmark").parse("\n".join(flat))
    fences = [t for t in tokens if t.type == "fence" and t.map]
    blocks: list[Block] = []
    skipped = 0
    for k, tok in enumerate(fences):
        info = tok.info.split()
        if not info or info[0] not in PYTHON_LANGS:
            continue
        if "notest" in info[1:]:
            skipped += 1
            continue
        start, end = tok.map  # 0-based, end exclusive, in expanded coordinates
        code_origins = origins[start + 1 : end - 1]
        expected = span = None
        nxt = fences[k + 1] if k + 1 < len(fences) else None
        if nxt is not None and OUTPUT_INFO.match(nxt.info) and _only_blank_between(flat, end, nxt.map[0]):
            expected = nxt.content
            o_start, o_end = nxt.map
            first, last = origins[o_start + 1], origins[o_end - 2] if o_end - 2 > o_start else None
            span = (first.line, last.line if last else first.line - 1)
        fence_origin = origins[start]
        if fence_origin.path != path:
            raise ValueError(f"{_rel(path)}: a python fence may not open inside an included file")
        indent = re.match(r"[ \t]*", raw[fence_origin.line - 1]).group(0)
        blocks.append(
            Block(
                index=len(blocks),
                page=path,
                fence_line=fence_origin.line,
                code=tok.content,
                origins=code_origins,
                expected=expected,
                output_span=span,
                fence_indent=indent,
                fence_end_line=origins[end - 1].line,
            )
        )
    return Page(path, blocks, skipped)


def _only_blank_between(lines: list[str], start: int, stop: int) -> bool:
    return all(not lines[i].strip() for i in range(start, stop))


# ----------------------------------------------------------------------------------
# Running a page
# ----------------------------------------------------------------------------------
def normalise(text: str) -> str:
    """Compare outputs line by line, ignoring trailing spaces and trailing blank lines."""
    return "\n".join(line.rstrip() for line in text.rstrip("\n").split("\n")).strip("\n")


class BlockFailure(Exception):
    """A block ran, but what it printed or drew is not what the page shows."""


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


NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def figures_match(a: Path, b: Path, tolerance: float = 0.05) -> bool:
    """Same picture? SVGs: the same text, with every number equal to within
    ``tolerance`` (float noise from another CPU moves a point by far less than a
    pixel, a changed figure moves many). PNGs: the same bytes."""
    if a.suffix != ".svg":
        return a.read_bytes() == b.read_bytes()
    ta, tb = a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8")
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
