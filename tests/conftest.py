"""Shared test set-up: the ``browser`` marker and one strict site build per session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Two workers on two cores: one thread each (and for the kernels and subprocesses
        # they start), rather than four threads fighting over two cores. Outputs do not
        # depend on it: the pages print the same with one thread or two.
        os.environ["OMP_NUM_THREADS"] = "1"
        import torch

        torch.set_num_threads(1)
    config.addinivalue_line(
        "markers", "browser: drives headless Chromium through the built site (needs /usr/bin/chromium)"
    )


def _run_root(tmp_path_factory) -> Path:
    """The test run's own temporary folder; under pytest-xdist, the one every worker shares."""
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root  # .../pytest-N/


@pytest.fixture(scope="session")
def notebooks_written(tmp_path_factory) -> None:
    """docs/notebooks/ written once per test run, as ``python3 dev.py notebooks`` writes it
    before every build (both site builders read it). Under pytest-xdist the first worker to
    get here writes it while the others wait."""
    from filelock import FileLock

    from tools.notebook_pages import write_notebook_pages

    root = _run_root(tmp_path_factory)
    with FileLock(str(root / "notebooks.lock")):
        done = root / "notebooks.done"
        if not done.exists():
            write_notebook_pages(quiet=True)  # rewrites only files whose content changed
            done.write_text("written", encoding="utf-8")


@pytest.fixture(scope="session")
def built_site(tmp_path_factory, notebooks_written) -> tuple[Path, str]:
    """``mkdocs build --strict`` into a scratch folder once per test run: (site dir, build log).

    Under pytest-xdist (``python3 dev.py test`` runs two workers) the workers share one build:
    the first to get here builds into the run's common temporary folder while the other waits.
    """
    root = _run_root(tmp_path_factory)
    site, log_file, status = root / "site", root / "site-build.log", root / "site-build.status"
    from filelock import FileLock

    with FileLock(str(root / "site-build.lock")):
        if not status.exists():
            env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
            result = subprocess.run(
                [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
            )
            log_file.write_text(result.stdout + result.stderr, encoding="utf-8")
            status.write_text(str(result.returncode), encoding="utf-8")
    log = log_file.read_text(encoding="utf-8")
    assert status.read_text(encoding="utf-8") == "0", f"mkdocs build --strict failed:\n{log}"
    return site, log


def pytest_collection_modifyitems(session, config, items):
    """Longest first: the browser tests, the fresh install and the standalone snippet runs,
    then the pages (a Jupyter kernel each), then the rest.

    Under pytest-xdist (run with ``--no-loadscope-reorder``, which keeps this order) a worker
    that starts the minute-long browser walk last leaves the other core idle at the end.
    """

    def cost(item) -> int:
        if item.path.name in ("test_browser.py", "test_install.py", "test_snippets.py"):  # a minute each
            return 0
        return 1 if item.path.suffix == ".md" else 2

    items.sort(key=cost)  # stable: within each kind, the collected order


@pytest.fixture
def saved_svg(tmp_path):
    """Save a figure the way the pages do and return the SVG text (checking the 200 KB budget)."""
    from llm_guide.figures.style import save

    def _save(fig) -> str:
        path = tmp_path / "figure.svg"
        save(fig, str(path))
        assert path.stat().st_size < 200_000
        return path.read_text(encoding="utf-8")

    return _save
