"""Run every python block of every page, exactly as the built site shows it.

This is a pytest plugin (loaded by the repo-root ``conftest.py``) on top of
pytest-markdown-docs. It adds what that plugin lacks, and what the guide promises:

* **Snippet includes are expanded** with pymdownx.snippets' own preprocessor,
  configured from ``mkdocs.yml``, so a block that shows ``llm_guide/vocab.py`` runs
  the same lines the site renders.
* **Fences inside admonitions (``!!!``, ``???``) and content tabs (``===``) run**:
  their bodies are un-indented (line numbers unchanged) before parsing.
* **A page is its notebook, run in a fresh Jupyter kernel.** The blocks are the code
  cells of the chapter notebook the site offers (``tools/notebooks.py``); they run top to
  bottom through nbclient in one kernel per page, started in an empty folder with nothing
  imported or seeded, as a reader's notebook starts. So the doc tests and the notebook
  tests are one run, and a page cannot lean on state the harness set up.
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

import ast
import difflib
import hashlib
import json
import os
import re
import shutil
import tempfile
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
    is_generated,
    read_page,
    unindent_containers,
)

FIGURES = DOCS / "figures"
# What `dev.py refresh` wrote into each page's output fences, as digests. The check of an
# output against what the code prints is tolerant (another CPU changes a last digit), so
# without this a hand-typed 0.18 for a printed 0.16 would pass; with it, a page's output
# text must be the one refresh recorded.
OUTPUT_PIN = REPO / "tests" / "fixtures" / "outputs.json"
PINNED = DOCS  # the pages whose outputs are pinned (the harness's own tests point it elsewhere)
FIGURE_SUFFIXES = (".svg", ".png")


# ----------------------------------------------------------------------------------
# Running a page
# ----------------------------------------------------------------------------------
def normalise(text: str) -> str:
    """Compare outputs line by line, ignoring trailing spaces and trailing blank lines."""
    return "\n".join(line.rstrip() for line in text.rstrip("\n").split("\n")).strip("\n")


# A printed number: an integer (thousands separators allowed) or a decimal, maybe in e-notation.
PRINTED_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?(?![\w])")
FLOAT_RELATIVE = 0.02  # 2% ...
FLOAT_DIGITS = 2  # ... or 2 in the last printed digit, whichever is larger


def numbers_match(shown: str, printed: str) -> bool:
    """One printed number against the one the page shows.

    Integers (counts, ids, sizes, steps) must be equal. Decimals may differ by rounding
    noise: another CPU adds float32 numbers in another order (wider SIMD registers, another
    BLAS kernel), and a few hundred training steps carry that into the third digit of a
    loss. So a decimal matches within 2% or 2 units of its last printed digit.
    """
    if shown == printed:
        return True
    if not any(c in shown + printed for c in ".e"):
        return False
    a, b = float(shown.replace(",", "")), float(printed.replace(",", ""))
    mantissa = shown.split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(shown.split("e")[1]) if "e" in shown else 0
    unit = 10.0 ** (exponent - decimals)
    allowed = max(FLOAT_DIGITS * unit, FLOAT_RELATIVE * max(abs(a), abs(b)))
    return abs(a - b) <= allowed * (1 + 1e-9)  # 0.26 - 0.24 is 0.020000000000000018 in binary


def outputs_match(shown: str, printed: str, number: re.Pattern = PRINTED_NUMBER) -> bool:
    """Equal text, and numbers (found by ``number``) equal as ``numbers_match`` says (both
    already normalised)."""
    if shown == printed:
        return True
    if number.sub("#", shown) != number.sub("#", printed):
        return False
    return all(numbers_match(x, y) for x, y in zip(number.findall(shown), number.findall(printed)))


def free_names(code: str) -> set[str]:
    """Names a block reads without assigning them itself (so it takes them from earlier blocks)."""
    tree = ast.parse(code)
    loaded, stored = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else stored).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stored.add(node.name)
        elif isinstance(node, ast.alias):
            stored.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            stored.add(node.arg)
    return loaded - stored


def output_digest(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()[:16]


def read_output_pin() -> dict[str, list[str]]:
    return json.loads(OUTPUT_PIN.read_text(encoding="utf-8")) if OUTPUT_PIN.exists() else {}


def record_outputs(paths: list[Path]) -> None:
    """Store the digests of every output fence of these pages (after refresh rewrote them)."""
    pin = read_output_pin()
    for path in paths:
        pin[_rel(path)] = sorted({output_digest(b.expected) for b in read_page(path).blocks if b.expected is not None})
    OUTPUT_PIN.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT_PIN.write_text(json.dumps(dict(sorted(pin.items())), indent=1) + "\n", encoding="utf-8")


class BlockFailure(Exception):
    """A block ran, but what it printed or drew is not what the page shows."""


CELL_TIMEOUT = 600  # seconds; a block runs in well under a second, a training run in seconds
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class BlockRaised(Exception):
    """A block raised in the page's kernel; ``ename``, ``evalue`` and the traceback lines."""

    def __init__(
        self, block: Block, ename: str, evalue: str, traceback_lines: list[str], cells: dict[int, Block]
    ) -> None:
        super().__init__(f"{ename}: {evalue}")
        self.block = block
        self.cells = cells  # execution count (IPython's "In [n]") -> the block run as that cell
        self.ename = ename
        self.evalue = evalue
        self.traceback = ANSI.sub("", "\n".join(traceback_lines))


def page_notebook(page: Page):
    """The notebook a page's blocks run in: the chapter notebook the site offers for pages
    under docs/ (tools.notebooks), or a bare one of the blocks for other pages (the
    harness's own tests)."""
    import nbformat

    if DOCS in page.path.parents:
        from tools.notebooks import page_to_notebook

        return page_to_notebook(page.path)
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(b.code.rstrip("\n")) for b in page.blocks])


@dataclass
class Session:
    """One page being run top to bottom: its notebook, in a fresh Jupyter kernel.

    The kernel starts in an empty scratch folder with nothing imported and nothing seeded,
    exactly as a reader's fresh notebook does; so running the docs is running the chapter
    notebooks, and a page whose output depends on unseeded randomness fails here.
    """

    page: Page
    workdir: Path | None = None
    client: Any = None
    cells: list = field(default_factory=list)
    next_index: int = 0
    failed_line: int | None = None
    figures: dict[int, list[Path]] = field(default_factory=dict)
    executed: dict[int, Block] = field(default_factory=dict)  # execution count -> block
    group: tuple | None = None  # the ??? block or === tab the last block ran in

    def start(self) -> None:
        from nbclient import NotebookClient

        self.workdir = Path(tempfile.mkdtemp(prefix="llm-guide-page-"))
        nb = page_notebook(self.page)
        self.cells = [(i, cell) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
        if len(self.cells) != len(self.page.blocks):
            raise AssertionError(
                f"{_rel(self.page.path)}: the notebook has {len(self.cells)} code cells "
                f"for {len(self.page.blocks)} blocks"
            )
        self.client = NotebookClient(
            nb,
            kernel_name="python3",
            timeout=CELL_TIMEOUT,
            allow_errors=True,
            kernel_manager_class=_kernel_manager_class(),
            # Only the kernel application's own log (its notice about TCP on localhost); the
            # code's warnings still arrive as its stderr.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
            resources={"metadata": {"path": str(self.workdir)}},  # the kernel's working directory
        )
        self.client.km = self.client.create_kernel_manager()
        self.client.start_new_kernel()
        self.client.start_new_kernel_client()

    def run(self, block: Block) -> str:
        """Execute one block's cell in the page's kernel; return what it printed (stdout).

        Exercises and tabs run as a reader may run them: on their own, after the page's
        main blocks. The names a ``???`` block (a solution) defines are forgotten after it,
        so a later block that needs them fails, and a solution may not rebind a name the
        page defined (a reader who runs it first would change the next solution's input).
        Each tab of a set starts from the names the page had before the set.
        """
        self._enter(block)
        index, cell = self.cells[block.index]
        if cell.source != block.code.rstrip("\n"):
            raise AssertionError(f"{_rel(self.page.path)}:{block.fence_line}: the notebook cell is not the block")
        before = _snapshot(self.workdir)
        cell.outputs = []
        self.client.execute_cell(cell, index)
        self.executed[cell.execution_count] = block
        after = _snapshot(self.workdir)
        self.figures[block.index] = sorted(p for p, m in after.items() if before.get(p) != m)
        for output in cell.outputs:
            if output.output_type == "error":
                raise BlockRaised(block, output.ename, output.evalue, output.traceback, dict(self.executed))
        self._leave(block)
        return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")

    # -- running exercises and tabs on their own ------------------------------------
    _SAVE = "__llm_guide_saved__ = dict(globals())"
    # Names IPython itself rebinds on every cell; they say nothing about the page.
    _IPYTHON = ("_", "__", "___", "_i", "_ii", "_iii", "_ih", "_oh", "_dh", "In", "Out", "exit", "quit")
    _RESTORE = (
        "(lambda saved, g: ([g.pop(k) for k in [k for k in g if k not in saved]], g.update(saved)))"
        "(__llm_guide_saved__, globals())"
    )
    _REBOUND = (
        "print(sorted(k for k, v in __llm_guide_saved__.items() if k in globals() and globals()[k] is not v "
        "and not k.startswith('_i') and k not in {ipython!r}))"
    )

    def _hidden(self, code: str) -> str:
        """Run bookkeeping code in the kernel, outside the notebook's history; return its stdout."""
        import nbformat

        cell = nbformat.v4.new_code_cell(code)
        self.client.execute_cell(cell, 0, store_history=False)
        for output in cell.outputs:
            if output.output_type == "error":
                raise AssertionError(f"the harness's own bookkeeping failed: {output.ename}: {output.evalue}")
        return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")

    def _enter(self, block: Block) -> None:
        """Save the kernel's names as ``block`` starts a ??? block or a tab (or go back to
        them, for the next tab of a set)."""
        old, new = self.group, block.group
        if new == old or new is None:
            self.group = new
            return
        if new[0] == "tab" and old is not None and old[0] == "tab" and old[1] == new[1]:
            self._hidden(self._RESTORE)  # the next tab of the same set: back to before the set
        self._hidden(self._SAVE)
        self.group = new

    def _leave(self, block: Block) -> None:
        """After the last block of a ??? block: check it rebound nothing, then forget its names."""
        if block.group is None or block.group[0] != "details":
            return
        following = self.page.blocks[block.index + 1] if block.index + 1 < len(self.page.blocks) else None
        if following is not None and following.group == block.group:
            return  # the exercise goes on
        self.group = None
        rebound = ast.literal_eval(self._hidden(self._REBOUND.format(ipython=set(self._IPYTHON))).strip())
        self._hidden(self._RESTORE)
        # A rebound name matters where another exercise reads it: run first, this one would
        # hand that one a different value than the page gave it.
        for other in self.page.blocks:
            if other.group is None or other.group[0] != "details" or other.group == block.group:
                continue
            clash = sorted(set(rebound) & free_names(other.code))
            if clash:
                raise BlockFailure(
                    f"the exercise ending with the block at {_rel(self.page.path)}:{block.fence_line} rebinds "
                    f"{', '.join(clash)}, which the page defines and the exercise at "
                    f"{_rel(self.page.path)}:{other.fence_line} reads: a reader who runs this one first "
                    "changes what that one sees. Use new names inside the solution"
                )

    def close(self) -> None:
        if self.client is not None and self.client.km is not None:
            self.client._cleanup_kernel()
        self.client = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


_ZYGOTE = None


def _kernel_manager_class():
    """Kernels forked from one warm process per pytest process (``tests/kernel_zygote.py``):
    the same fresh kernel, without paying for ``import torch`` on every page.
    ``LLM_GUIDE_COLD_KERNELS=1`` starts every kernel from nothing instead."""
    global _ZYGOTE
    from jupyter_client import AsyncKernelManager

    if os.environ.get("LLM_GUIDE_COLD_KERNELS") == "1" or not hasattr(os, "fork"):
        return AsyncKernelManager
    from tests.kernel_zygote import Zygote

    if _ZYGOTE is None:
        _ZYGOTE = Zygote()
    return _ZYGOTE.kernel_manager_class


def _snapshot(directory: Path) -> dict[Path, float]:
    return {p: p.stat().st_mtime_ns for p in directory.rglob("*") if p.is_file() and p.suffix in FIGURE_SUFFIXES}


class Harness:
    """Holds every page's session; one instance per pytest run."""

    def __init__(self, update: bool) -> None:
        self.update = update
        self.pages: dict[Path, Page] = {}
        self.sessions: dict[Path, Session] = {}
        self.collected: dict[Path, int] = {}
        self.pending_outputs: dict[Path, dict[int, str]] = {}
        self.completed: set[Path] = set()  # pages whose every block ran
        self._pin: dict[str, list[str]] | None = None

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
            if session is not None:
                session.close()
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
                session.close()
                raise
            session.next_index += 1
        try:
            printed = session.run(block)
        except BaseException:
            session.failed_line = block.fence_line
            session.close()
            raise
        session.next_index += 1
        try:
            self.check_output(block, printed)
            self.check_figures(block, session.figures.get(block.index, []))
        finally:
            if session.next_index == len(page.blocks):
                self.completed.add(page.path)
                session.close()  # the page is done: free its kernel and its scratch folder

    # -- output ------------------------------------------------------------------
    def check_output(self, block: Block, printed: str) -> None:
        got = normalise(printed)
        want = normalise(block.expected) if block.expected is not None else None
        if outputs_match(want or "", got) and (want is not None or not got):
            self.check_recorded(block)
            return
        if self.update:
            self.pending_outputs.setdefault(block.page, {})[block.fence_line] = printed
            return
        where = f"{_rel(block.page)}:{block.fence_line}"
        if want is None:
            raise BlockFailure(
                f"the block at {where} printed output, but the page shows none after it.\n"
                f'Add a ```text title="Output"``` fence (run `python3 dev.py refresh`).\n'
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

    def check_recorded(self, block: Block) -> None:
        """The output fence's text is the one refresh wrote, not a hand edit."""
        if self.update or block.expected is None or PINNED not in block.page.parents:
            return
        if self._pin is None:
            self._pin = read_output_pin()
        if output_digest(block.expected) not in self._pin.get(_rel(block.page), []):
            line = block.output_span[0] if block.output_span else block.fence_line
            raise BlockFailure(
                f"the output shown at {_rel(block.page)}:{line} is close to what the block prints, but it is "
                "not the text `python3 dev.py refresh` recorded for this page (tests/fixtures/outputs.json): "
                "outputs are written by running the code, never by hand. Run `python3 dev.py refresh`"
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


# A number in an SVG: not the tail of a name or a hex colour ("p8fc9e481ba", "#3b528b");
# a unit may follow it ("640.16pt").
NUMBER = re.compile(r"(?<![\w.#])-?\d+(?:\.\d+)?(?![\d.])")
# Ids matplotlib derives from a hash of what they name (clip paths, embedded images): a point
# that moves by float noise changes them, so they are compared by where they are used.
SVG_ID = re.compile(r"\b(?:p|image)[0-9a-f]{10}\b")
EMBEDDED_PNG = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=\s]+)")
# matplotlib writes each text as a comment holding the string, then draws it with glyph
# outlines ("DejaVuSans-2e") defined where first used. The comment is what is compared; the
# glyphs follow from it (and their definitions move to wherever a character first appears).
TEXT_COMMENT = re.compile(r"<!-- (.*?) -->", re.DOTALL)
GLYPH_DEF = re.compile(r'<path id="[^"]+-[0-9a-f]+" d="[^"]*"(?: transform="[^"]*")?/>')
GLYPH_USE = re.compile(r'<use xlink:href="#[^"]+-[0-9a-f]+"[^>]*/>')
EMPTY_DEFS = re.compile(r"<defs>\s*</defs>")
# Where a number is a position or a length on the canvas (in points).
COORDINATES = re.compile(
    r'\b(?:d|points|viewBox|x|y|x1|x2|y1|y2|cx|cy|r|rx|ry|width|height)="[^"]*"|translate\([^)]*\)'
)
VIEWBOX = re.compile(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"')
# A text in a figure (a tick label, an annotation ".65") is compared like printed output,
# with leading-dot decimals read as numbers.
TEXT_NUMBER = re.compile(r"(?<![\w.])-?(?:\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?(?![\w])")


@dataclass
class SvgParts:
    structure: str  # the SVG with every text, number, hashed id and image replaced
    coordinates: list[float]
    other_numbers: list[float]  # opacities, stroke widths, scales
    texts: list[str]
    images: list[bytes]  # embedded PNGs (heat maps)
    size: float  # the larger side of the canvas, in points (0 if not given)


def _svg_parts(text: str) -> SvgParts:
    import base64

    images = [base64.b64decode(m) for m in EMBEDDED_PNG.findall(text)]
    text = EMBEDDED_PNG.sub("data:image/png;base64,IMAGE", text)
    texts = TEXT_COMMENT.findall(text)
    text = TEXT_COMMENT.sub("<!-- TEXT -->", text)
    text = EMPTY_DEFS.sub("", GLYPH_USE.sub("", GLYPH_DEF.sub("", text)))
    ids: dict[str, str] = {}
    text = SVG_ID.sub(lambda m: ids.setdefault(m.group(0), f"id{len(ids)}"), text)
    box = VIEWBOX.search(text)
    size = max(float(box.group(1)), float(box.group(2))) if box else 0.0
    coordinates: list[float] = []

    def take_coordinates(m: re.Match) -> str:
        coordinates.extend(float(x) for x in NUMBER.findall(m.group(0)))
        return NUMBER.sub("@", m.group(0))

    text = COORDINATES.sub(take_coordinates, text)
    other = [float(x) for x in NUMBER.findall(text)]
    structure = " ".join(NUMBER.sub("#", text).split())  # whitespace left where glyphs were is no difference
    return SvgParts(structure, coordinates, other, texts, images, size)


def _pixels_match(a: bytes, b: bytes, tolerance: float) -> bool:
    """Two PNGs of the same size whose pixels differ by at most ``tolerance`` (of 255) on average."""
    import io

    import numpy as np
    from PIL import Image

    pa, pb = (np.asarray(Image.open(io.BytesIO(x)).convert("RGBA"), dtype=np.int16) for x in (a, b))
    return pa.shape == pb.shape and float(np.abs(pa - pb).mean()) <= tolerance


def figures_match(a: Path, b: Path, position: float = 0.005, pixel_tolerance: float = 2.0) -> bool:
    """Same picture? For SVGs, everything but the numbers must be equal: elements, styles,
    colours, the order things are drawn in. Then:

    * texts (titles, labels, tick labels, annotations) match as printed output does
      (``outputs_match``: words exact, decimals within 2% or 2 in the last digit);
    * positions and lengths match within ``position`` of the canvas's larger side
      (0.5%: 3.2 pt on a 640 pt figure), or 0.5 pt, whichever is larger;
    * other numbers (opacities, line widths) within 1%;
    * embedded images (heat maps) have the same size, and pixels within
      ``pixel_tolerance`` of 255 on average.

    That absorbs what another CPU does to a figure: its float32 sums round differently, a
    model trained there for a few hundred steps ends a hair away, a PCA of its embeddings
    turns a little, an attention weight prints .66 instead of .65. It still fails a figure
    whose data, labels or layout changed. PNG files: the same bytes."""
    if a.suffix != ".svg":
        return a.read_bytes() == b.read_bytes()
    ta, tb = a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8")
    if ta == tb:
        return True
    pa, pb = _svg_parts(ta), _svg_parts(tb)
    if pa.structure != pb.structure:  # which also holds a placeholder for every number, text and image
        return False
    slack = max(0.5, position * max(pa.size, pb.size))
    return (
        all(abs(x - y) <= slack for x, y in zip(pa.coordinates, pb.coordinates))
        and all(abs(x - y) <= 0.01 * max(abs(x), abs(y)) for x, y in zip(pa.other_numbers, pb.other_numbers))
        and all(outputs_match(x, y, TEXT_NUMBER) for x, y in zip(pa.texts, pb.texts))
        and all(_pixels_match(x, y, pixel_tolerance) for x, y in zip(pa.images, pb.images))
    )


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
        if not isinstance(excinfo.value, BlockRaised):
            return f"{_rel(page.path)}:{block.fence_line}: {excinfo.exconly()}"
        # The kernel's traceback, with each line of the cell named by where it is on the page
        # (or in the snippet file it was included from).
        lines = []
        failing: Origin | None = None
        frames = re.findall(
            r"^(?:Cell In\[(\d+)\], line (\d+)(?:, in (.+))?|File (.+):(\d+), in (.+))$",
            excinfo.value.traceback,
            flags=re.M,
        )
        for count, cell_line, cell_fn, file, file_line, file_fn in frames:
            if cell_line:
                # A frame in this block, or in a function an earlier block of the page defined.
                source = excinfo.value.cells.get(int(count), block)
                origin = source.origins[int(cell_line) - 1]
                failing = origin
                code = source.code.split("\n")[int(cell_line) - 1].strip()
                lines.append(f"  {origin.describe()}, in {cell_fn or '<page>'}\n    {code}")
            elif failing is not None or "llm_guide" in file:
                code = _source_line(Path(file), int(file_line))
                lines.append(f'  File "{file}", line {file_line}, in {file_fn}\n    {code}')
        header = f"{_rel(page.path)}:{block.fence_line}: the python block starting here raised"
        if failing is not None:
            header += f"\n  at {failing.describe()}"
        exc = excinfo.value
        return f"{header}\nTraceback (most recent call last):\n" + "\n".join(lines) + f"\n{exc.ename}: {exc.evalue}"


def _source_line(path: Path, lineno: int) -> str:
    try:
        return path.read_text(encoding="utf-8").split("\n")[lineno - 1].strip()
    except (OSError, IndexError):
        return ""


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
    if path.suffix == ".md" and DOCS in path.resolve().parents and not is_generated(path):  # not docs/notebooks/
        return GuidePage.from_parent(parent, path=path)
    return None


@pytest.hookimpl
def pytest_markdown_docs_markdown_it():
    return _ExpandedParser()


def pytest_sessionfinish(session, exitstatus) -> None:
    global _ZYGOTE
    if _HARNESS is not None:
        for page_session in _HARNESS.sessions.values():
            page_session.close()  # pages stopped early (-x, a failure, -k): their kernels
    if _ZYGOTE is not None:
        _ZYGOTE.close()
        _ZYGOTE = None
    if _HARNESS is not None and _HARNESS.update:
        changed = _HARNESS.write_updates()
        if changed:
            print("\nupdated outputs in: " + ", ".join(changed))
        done = sorted(p for p in _HARNESS.completed if PINNED in p.parents)
        if done:
            record_outputs(done)


def harness() -> Harness:
    """The running harness (for tests that check the harness itself)."""
    return _HARNESS
