"""The package, the snippets, the tests and the tools pass ruff, pinned in the test extra
and configured in ``pyproject.toml``: the linter (``ruff check``) and the formatter
(``ruff format --check``). Fix with ``.venv/bin/ruff check --fix`` and ``.venv/bin/ruff format``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TARGETS = ["llm_guide", "snippets", "tests", "tools", "benchmarks", "dev.py", "conftest.py"]


def ruff() -> str:
    found = Path(sys.executable).with_name("ruff")
    if found.exists():
        return str(found)
    path = shutil.which("ruff")
    if path is None:
        pytest.fail("ruff is not installed: it is in the test extra (pip install -e '.[test]')")
    return path


@pytest.mark.parametrize("command", [["check", "--no-cache"], ["format", "--check", "--no-cache"]], ids=" ".join)
def test_ruff_is_clean(command):
    result = subprocess.run([ruff(), *command, *TARGETS], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, f"ruff {' '.join(command)} {' '.join(TARGETS)}:\n{result.stdout}{result.stderr}"
