"""The reader's workbook folder: writing the stubs or the solutions, and importing them back.

Solutions are the package's own code. ``solution_source(todo)`` is the source of the
package object that solves a TODO (``inspect.getsource``, the snippet markers taken out),
and ``chapter_source`` puts a chapter's solutions in a file with what they need: the
package's imports for the names they use, the source of the module's private helpers
they call, and, for a name that is another TODO, the reader's own version from the
chapter file that defines it. So the solution of ``Block`` is ``llm_guide.block.Block``
running on the workbook's ``MultiHeadAttention``, and a change to the package changes
the solutions with it.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from llm_guide.workbook.todos import CHAPTERS, TODOS, Chapter, Todo

__all__ = [
    "WorkbookError",
    "solution_object",
    "solution_source",
    "uses",
    "chapter_source",
    "write_workbook",
    "reader_modules",
]


class WorkbookError(Exception):
    """A problem with the workbook folder itself, reported as one line (CLI exit status 2)."""


# Lines every chapter file starts with: what most TODOs need.
COMMON_IMPORTS = """\
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
"""

_MARKER = re.compile(r"^\s*# --8<-- \[(start|end):[\w-]+\]\s*$")


# ----------------------------------------------------------------------------------
# A TODO's solution: the package object, its source, and the names that source uses
# ----------------------------------------------------------------------------------
def solution_object(todo: Todo) -> Any:
    """The package object that solves ``todo`` (``llm_guide.attention.causal_mask`` for TODO 13)."""
    module, _, qualname = todo.solution.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _clean(source: str) -> str:
    """Source without the ``# --8<--`` snippet markers, which only matter to the site, and
    without the blank lines the formatter leaves before an end marker inside a class."""
    kept = "".join(line for line in source.splitlines(keepends=True) if not _MARKER.match(line))
    return kept.rstrip("\n") + "\n"


def solution_source(todo: Todo) -> str:
    """The source of the package object that solves ``todo``, as the solution file shows it."""
    return _clean(inspect.getsource(solution_object(todo)))


def _loaded_names(source: str) -> list[str]:
    """Every plain name the code reads (locals too: they are filtered by the caller)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in names:
            names.append(node.id)
    return names


@cache
def _module_imports(module_name: str) -> dict[str, str]:
    """name -> the import statement the module itself uses for it, one name per statement."""
    module = sys.modules[module_name]
    tree = ast.parse(inspect.getsource(module))
    package = module.__package__ or ""
    lines: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                lines[bound] = f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            base = node.module or ""
            if node.level:  # from .vocab import ...: spelled out, since the reader's file has no package
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            for alias in node.names:
                bound = alias.asname or alias.name
                lines[bound] = f"from {base} import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
    return lines


@cache
def _module_assignments(module_name: str) -> dict[str, str]:
    """name -> the source of the module-level statement that assigns it (constants such as ``_WORD``)."""
    source = inspect.getsource(sys.modules[module_name])
    found: dict[str, str] = {}
    for node in ast.parse(source).body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        for target in targets:
            if isinstance(target, ast.Name):
                found[target.id] = ast.get_source_segment(source, node) or ""
    return found


def _todo_of(value: Any) -> Todo | None:
    for todo in TODOS:
        if solution_object(todo) is value:
            return todo
    return None


@dataclass
class _Needs:
    """What a chapter file's solutions need besides the common imports."""

    imports: list[str]  # import statements
    helpers: list[str]  # sources of private helpers and constants, in the order they must appear
    parts: list[tuple[Todo, str]]  # (TODO of another chapter, name) taken from the reader's files


def _needs(chapter: Chapter) -> _Needs:
    own = [t for t in TODOS if t.chapter == chapter]
    common = set(_loaded_names_of_imports(COMMON_IMPORTS + chapter.imports))
    needs = _Needs([], [], [])
    done: set[str] = {t.name for t in own} | common | set(dir(builtins))

    def visit(source: str, module_name: str) -> None:
        module = sys.modules[module_name]
        for name in _loaded_names(source):
            if name in done or name not in vars(module):
                continue  # defined in the file already, a builtin, or a local variable
            done.add(name)
            value = vars(module)[name]
            todo = _todo_of(value)
            if todo is not None:  # another chapter's TODO: the reader's own version of it
                needs.parts.append((todo, name))
            elif name in _module_imports(module_name):
                needs.imports.append(_module_imports(module_name)[name])
            elif name.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value)):
                helper = _clean(inspect.getsource(value))
                visit(helper, module_name)  # its own needs come first
                needs.helpers.append(helper)
            elif name.startswith("_") and name in _module_assignments(module_name):
                statement = _module_assignments(module_name)[name]
                visit(statement, module_name)
                needs.helpers.append(statement + "\n")
            else:  # public, defined in that module: import it from there
                needs.imports.append(f"from {module_name} import {name}")

    for todo in own:
        visit(solution_source(todo), solution_object(todo).__module__)
    return needs


def _loaded_names_of_imports(source: str) -> list[str]:
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [a.asname or a.name.split(".")[0] for a in node.names]
    return names


def uses(todo: Todo) -> list[Todo]:
    """The earlier TODOs that ``todo``'s solution calls (its own chapter's and others')."""
    names = set(_loaded_names(solution_source(todo)))
    module = vars(sys.modules[solution_object(todo).__module__])
    found = []
    for other in TODOS:
        if other.number < todo.number and module.get(other.name) is solution_object(other) and other.name in names:
            found.append(other)
    return found


# ----------------------------------------------------------------------------------
# The files
# ----------------------------------------------------------------------------------
def _header(chapter: Chapter, solutions: bool) -> str:
    todos = [t for t in TODOS if t.chapter == chapter]
    listing = "\n".join(f"    TODO {t.number:>2}  {t.name}" for t in todos)
    what = "The reference solutions, taken from the llm_guide package itself" if solutions else "Your TODOs"
    return (
        f'"""Workbook, {chapter}.  {chapter.url}\n\n'
        f"{what}:\n\n{listing}\n\n"
        f"Check them with:  llm-guide workbook check . --chapter {chapter.slug}\n"
        f"(run it in this folder, or give the folder's path instead of the dot).\n"
        f'"""\n\n'
    )


def _parts_block(parts: list[tuple[Todo, str]]) -> str:
    if not parts:
        return ""
    lines = [
        "from importlib import import_module",
        "",
        "# Your own parts from earlier chapters. A file name that starts with a digit",
        "# can't be written in an import statement, so they are imported by name.",
    ]
    for todo, name in sorted(parts, key=lambda p: p[0].number):
        lines.append(f'{name} = import_module("{todo.chapter.stem}").{todo.name}  # TODO {todo.number}')
    return "\n".join(lines) + "\n"


def _grouped(statements: list[str]) -> str:
    """Import statements merged per module: the standard library's and others' first, then llm_guide's."""
    plain: list[str] = []
    names: dict[str, list[str]] = {}
    for line in dict.fromkeys(statements):
        if line.startswith("from "):
            module, _, name = line[5:].partition(" import ")
            names.setdefault(module, []).append(name)
        else:
            plain.append(line)
    ordered = sorted(names, key=lambda m: (m.startswith("llm_guide"), m))
    return "\n".join(sorted(plain) + [f"from {m} import {', '.join(sorted(names[m]))}" for m in ordered]) + "\n"


def chapter_source(chapter: Chapter, solutions: bool = False) -> str:
    """The text of ``DIR/<chapter file>``: the stubs, or the package's solutions."""
    needs = _needs(chapter)
    parts = [COMMON_IMPORTS + (f"\n{chapter.imports}\n" if chapter.imports else "")]
    if solutions and needs.imports:
        parts.append("\n# What the package's code below uses\n" + _grouped(needs.imports))
    if needs.parts:
        parts.append("\n" + _parts_block(needs.parts))
    if solutions and needs.helpers:
        parts.append("\n\n# The package's helpers the solutions call\n" + "\n\n".join(needs.helpers))
    for todo in (t for t in TODOS if t.chapter == chapter):
        banner = f"# {'-' * 76}\n# TODO {todo.number}: {todo.name}    {todo.url}\n# {'-' * 76}\n"
        body = solution_source(todo) if solutions else todo.stub_source()
        parts.append(f"\n\n{banner}{body}")
    return _header(chapter, solutions) + "".join(parts).rstrip("\n") + "\n"


def write_workbook(folder: str | os.PathLike[str], *, solutions: bool = False, force: bool = False) -> list[Path]:
    """Write one file per chapter into ``folder`` (created if missing); returns the paths.

    Refuses, before writing anything, if a file it would write exists and ``force`` is
    False: a reader's work is never overwritten by accident.
    """
    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise WorkbookError(f"{root} is a file, not a folder; give a folder for the workbook")
    targets = [root / c.filename for c in CHAPTERS]
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        names = ", ".join(p.name for p in existing[:3]) + (" ..." if len(existing) > 3 else "")
        raise WorkbookError(
            f"{root} already has workbook files ({names}); pass --force to overwrite them "
            "(the code in them would be lost), or choose another folder"
        )
    texts = {path: chapter_source(chapter, solutions) for path, chapter in zip(targets, CHAPTERS)}
    try:
        root.mkdir(parents=True, exist_ok=True)
        for path, text in texts.items():
            path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise WorkbookError(f"cannot write the workbook into {root}: {error.strerror or error}") from None
    return targets


# ----------------------------------------------------------------------------------
# Importing the reader's files
# ----------------------------------------------------------------------------------
def _stems() -> set[str]:
    return {c.stem for c in CHAPTERS}


@contextmanager
def reader_modules(folder: Path) -> Iterator[None]:
    """Make ``folder``'s chapter files importable (``import_module("06_attention")``) inside the block.

    Each use starts from fresh modules (a notebook that checks twice sees the edited
    files) and leaves nothing behind: ``sys.path`` and ``sys.modules`` are restored,
    and no ``__pycache__`` is written into the reader's folder.
    """
    saved_path = list(sys.path)
    saved_bytecode = sys.dont_write_bytecode
    saved_modules = {name: sys.modules.pop(name) for name in _stems() if name in sys.modules}
    sys.path.insert(0, str(folder.resolve()))
    sys.dont_write_bytecode = True
    importlib.invalidate_caches()
    try:
        yield
    finally:
        for name in _stems():
            sys.modules.pop(name, None)
        sys.modules.update(saved_modules)
        sys.path[:] = saved_path
        sys.dont_write_bytecode = saved_bytecode


def import_chapter(chapter: Chapter) -> ModuleType:
    """Import the reader's file of ``chapter`` (inside ``reader_modules(folder)``)."""
    return importlib.import_module(chapter.stem)
