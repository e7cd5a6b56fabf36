"""One source per concept: the GPT is built from the functions the chapters show.

For each chapter function the model uses, break it (tests/breakages.py swaps in a
plausible bug) and run the model's own tests in a fresh process: they must fail.
If the model had kept a private copy of the function, the break would not reach it
and the model's tests would pass, failing this test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.breakages import LLAMA_NAMES, NAMES, _targets, broken

ROOT = Path(__file__).resolve().parent.parent
MODEL_TESTS = ["tests/test_model.py"]


def test_every_breakage_names_a_real_chapter_function():
    assert set(_targets()) == set(NAMES) | set(LLAMA_NAMES)


@pytest.mark.parametrize("name", LLAMA_NAMES)
def test_breaking_a_chapter_function_changes_the_llama(name):
    """Chapter 12's Llama runs the chapters' functions too: break one and its logits change.

    In this process (a swap of the function's body, undone afterwards): a forward pass
    of a tiny model is all it takes, where the GPT's whole test file is the check above.
    """
    from llm_guide.llama import Llama, LlamaConfig

    torch.manual_seed(0)
    model = Llama(LlamaConfig(vocab_size=11, block_size=8, n_layer=1, n_head=4, n_kv_head=2, n_embd=16)).eval()
    idx = torch.randint(0, 11, (2, 8), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = model(idx)[0]
        with broken(name):
            after = model(idx)[0]
        mended = model(idx)[0]
    assert torch.equal(before, mended)
    assert (before - after).abs().max() > 1e-4, f"breaking {name!r} left the Llama's logits as they were"


@pytest.mark.parametrize("name", NAMES)
def test_breaking_a_chapter_function_breaks_the_model(name):
    env = dict(os.environ, LLM_GUIDE_BREAK=name)
    result = subprocess.run(
        # -x: the first failure is the answer; no conftest, docs harness or xdist: not needed here
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.breakages",
            *MODEL_TESTS,
            "-x",
            "-q",
            "-o",
            "addopts=",
            "-p",
            "no:cacheprovider",
            "--noconftest",
            "-p",
            "no:markdown-docs",
            "-p",
            "no:xdist",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr
    # exit code 1 is "tests failed"; 2-4 would be a broken plugin or command, not a caught bug
    assert result.returncode == 1, f"with {name!r} broken the model's tests gave exit {result.returncode}: {summary}"
    assert re.search(r"\b1 failed\b", summary), summary
