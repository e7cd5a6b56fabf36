"""The workbook: write the guide's GPT yourself, one TODO at a time, and have each one checked.

``init(DIR)`` writes one file per chapter (``DIR/01_vocabulary.py`` ...
``DIR/11_putting_it_together.py``) holding the chapter's TODOs: functions and classes
with their signature, a docstring with the shapes, a hint that links the chapter, and a
body that raises ``NotImplementedError``. Later TODOs use earlier ones, so the last one
trains the GPT you assembled from your own parts. ``check_dir(DIR)`` runs every TODO's
checks and prints, for each, *done*, *not yet* or *wrong* with what is wrong; ``check``
does the same for one function in a notebook:

    from llm_guide import workbook
    print(workbook.check("causal_mask", my_causal_mask))

The command line runs the same functions: ``llm-guide workbook init DIR`` and
``llm-guide workbook check DIR [--chapter SLUG]``. ``init(DIR, solutions=True)`` writes
the reference solutions instead, which are the package's own code.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from llm_guide.workbook.files import (
    WorkbookError,
    import_chapter,
    reader_modules,
    solution_source,
    uses,
    write_workbook,
)
from llm_guide.workbook.grading import DIAGNOSED, DIAGNOSES, CheckTimeout, Result, check, deadline
from llm_guide.workbook.todos import CHAPTERS, TODOS, Chapter, Todo, find_chapter, find_todo

__all__ = [
    "TODOS",
    "CHAPTERS",
    "DIAGNOSES",
    "DIAGNOSED",
    "Todo",
    "Chapter",
    "Result",
    "Report",
    "WorkbookError",
    "init",
    "check",
    "check_dir",
    "chapter_todos",
    "find_todo",
    "find_chapter",
    "solution_source",
    "deadline",
]


def init(folder: str | os.PathLike[str], *, solutions: bool = False, force: bool = False) -> list[Path]:
    """Write the workbook into ``folder``: the stubs, or with ``solutions=True`` the package's solutions.

    Returns the files written. Raises ``WorkbookError`` (and writes nothing) if a file
    exists already and ``force`` is False, or if the folder cannot be written.
    """
    return write_workbook(folder, solutions=solutions, force=force)


def chapter_todos(chapter: str | int) -> list[Todo]:
    """The TODOs of one chapter, by slug (``"attention"``) or number."""
    found = find_chapter(chapter)
    return [t for t in TODOS if t.chapter == found]


@dataclass
class Report:
    """What ``check_dir`` found: one ``Result`` per TODO checked, and problems with files."""

    results: list[Result] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line per file that cannot be compiled

    @property
    def done(self) -> int:
        return sum(r.done for r in self.results)

    @property
    def summary(self) -> str:
        return f"{self.done}/{len(self.results)} done"

    @property
    def exit_status(self) -> int:
        """0 when every TODO checked passed, 2 when a file has a syntax error, 1 otherwise."""
        if self.errors:
            return 2
        return 0 if self.done == len(self.results) else 1


_STATUS_WIDTH = max(len(s) for s in ("done", "not yet", "wrong", "can't import"))


def _line(result: Result) -> str:
    text = f"  {result.status:<{_STATUS_WIDTH}}  TODO {result.todo.number:>2} {result.todo.name}"
    return text + (f": {result.message}" if result.message and not result.done else "")


def _syntax_error(path: Path) -> str | None:
    """One line naming the file and line of a syntax error, or None when the file compiles."""
    try:
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    except SyntaxError as error:
        return f"{path.name}, line {error.lineno}: {error.msg}"
    except (OSError, ValueError) as error:
        return f"{path.name}: cannot be read ({error})"
    return None


def _import_problem(chapter: Chapter, folder: Path, limit: float) -> tuple[Any, str]:
    """Import the reader's chapter file: (the module, "") or (None, what went wrong)."""
    try:
        with deadline(limit):
            return import_chapter(chapter), ""
    except SyntaxError as error:
        where = Path(error.filename or chapter.filename).name
        if where != chapter.filename:
            return None, f"it imports {where}, which has a syntax error at line {error.lineno}: {error.msg}"
        return None, f"syntax error at line {error.lineno}: {error.msg}"
    except CheckTimeout as error:
        from llm_guide.workbook.grading import _where

        return (
            None,
            f"importing {chapter.filename} took longer than {limit:g} s{_where(error)}: a loop at the top of a file?",
        )
    except ModuleNotFoundError as error:
        if error.name and error.name[:2].isdigit():
            return None, f"it imports {error.name}.py, which is missing from the folder"
        return None, f"{chapter.filename} could not be imported: {type(error).__name__}: {error}"
    except Exception as error:  # anything a reader's top-level code can raise
        from llm_guide.workbook.grading import _one_line, _where

        return (
            None,
            f"{chapter.filename} could not be imported: {type(error).__name__}: {_one_line(error)}{_where(error)}",
        )


def check_dir(
    folder: str | os.PathLike[str],
    chapter: str | int | None = None,
    *,
    time_limit: float | None = None,
    out: TextIO | None = None,
    quiet: bool = False,
) -> Report:
    """Check the TODOs in a workbook folder (all, or one chapter's) and print a line for each.

    A file that cannot be imported (a syntax error, a name error at the top, an endless
    loop) gets its message and the other chapters are still checked; each TODO's check
    has a time limit (``time_limit`` seconds overrides every TODO's own). A TODO that
    fails while an earlier TODO it uses is not done says so. The lines go to ``out``
    (default: standard output) as each check finishes; ``quiet=True`` prints nothing.
    Raises ``WorkbookError`` for a missing folder, one without workbook files, or an
    unknown chapter.
    """
    root = Path(folder)
    if not root.exists():
        raise WorkbookError(f"no such folder: {root}; create the workbook with: llm-guide workbook init {root}")
    if not root.is_dir():
        raise WorkbookError(f"{root} is a file, not a workbook folder")
    try:
        chosen = [find_chapter(chapter)] if chapter is not None else list(CHAPTERS)
    except ValueError as error:
        raise WorkbookError(str(error)) from None
    if not any((root / c.filename).is_file() for c in CHAPTERS):
        raise WorkbookError(
            f"{root} has no workbook files ({CHAPTERS[0].filename} ... {CHAPTERS[-1].filename}); "
            f"create them with: llm-guide workbook init {root}"
        )
    if chapter is not None and not (root / chosen[0].filename).is_file():
        raise WorkbookError(f"{root / chosen[0].filename} is missing; llm-guide workbook init writes it")

    def show(text: str) -> None:
        if not quiet:
            print(text, file=out or sys.stdout, flush=True)

    from llm_guide.capstone import torch_threads

    report = Report()
    for c in CHAPTERS:
        problem = _syntax_error(root / c.filename) if (root / c.filename).is_file() else None
        if problem:
            report.errors.append(problem)
    by_name: dict[str, Result] = {}
    with reader_modules(root), torch_threads(1):
        for c in chosen:
            show(f"{c}  ({c.filename})")
            todos = [t for t in TODOS if t.chapter == c]
            module, problem = None, ""
            if not (root / c.filename).is_file():
                problem = (
                    f"{c.filename} is missing; llm-guide workbook init OTHER_FOLDER writes a fresh copy to take it from"
                )
            else:
                module, problem = _import_problem(c, root, time_limit or 10.0)
            for todo in todos:
                if module is None:
                    result = Result(todo, "can't import", problem)
                elif not hasattr(module, todo.name):
                    result = Result(todo, "wrong", f"{c.filename} defines no {todo.name}; keep the TODO's name")
                else:
                    parts = _parts(todo)
                    result = check(todo, getattr(module, todo.name), time_limit=time_limit, parts=parts)
                    result = _blame(result, by_name)
                by_name[todo.name] = result
                report.results.append(result)
                show(_line(result))
    show(report.summary + (f" in {chosen[0]}" if chapter is not None else ""))
    upcoming = next((r for r in report.results if not r.done), None)
    if upcoming is not None:
        show(f"next: TODO {upcoming.todo.number} {upcoming.todo.name}, explained at {upcoming.todo.url}")
    return report


def _parts(todo: Todo) -> dict[str, Any]:
    """The reader's versions of the earlier TODOs this one uses (those whose files import)."""
    import importlib

    parts = {}
    for earlier in uses(todo):
        try:
            parts[earlier.name] = getattr(importlib.import_module(earlier.chapter.stem), earlier.name)
        except Exception:
            pass  # that file has its own message
    return parts


def _blame(result: Result, by_name: dict[str, Result]) -> Result:
    """A wrong TODO that uses an earlier one which is not done: say to fix that first."""
    if result.done:
        return result
    pending = [t for t in uses(result.todo) if t.name in by_name and not by_name[t.name].done]
    if not pending or result.status == "not yet":
        return result
    names = " and ".join(f"{t.name} (TODO {t.number})" for t in pending)
    return replace(result, message=f"{result.message} [it uses {names}, not done yet: fix that first]")
