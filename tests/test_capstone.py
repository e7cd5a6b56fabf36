"""Chapter 11: the whole pipeline, its recorded reference run, and the fused kernels it trains with."""

from __future__ import annotations

import hashlib
import platform
from dataclasses import asdict

import pytest
import torch

from llm_guide.capstone import (
    CapstoneConfig,
    load_char_gpt,
    load_reference_run,
    save_char_gpt,
    torch_threads,
    train_char_gpt,
)
from llm_guide.corpora import python_docs
from llm_guide.data import train_val_split
from llm_guide.generate import generate
from llm_guide.model import GPT, GPTConfig
from llm_guide.train import save_checkpoint

RHYME = "mary had a little lamb, its fleece was white as snow.\n" * 30
TINY = CapstoneConfig(
    n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=8, steps=30, eval_interval=10, eval_steps=2
)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------
# train_char_gpt
# ---------------------------------------------------------------------------------
def test_train_char_gpt_runs_the_pipeline_and_is_repeatable():
    first = train_char_gpt(RHYME, TINY)
    again = train_char_gpt(RHYME, TINY)
    assert first.tokenizer.vocab_size == len(set(RHYME))
    assert first.n_train_tokens + first.n_val_tokens == len(RHYME)
    assert first.n_val_tokens == len(RHYME) - int(len(RHYME) * 0.9)
    assert [e.step for e in first.history.evals] == [0, 10, 20, 30]
    assert first.val_loss < first.history.evals[0].val_loss  # it learned something
    assert (first.train_loss, first.val_loss) == (again.train_loss, again.val_loss)
    assert first.n_params == first.model.num_params()
    assert first.model.config.fast  # the capstone trains on the fused kernels


def test_train_char_gpt_turns_short_texts_into_value_errors():
    with pytest.raises(ValueError, match="too short for one batch"):
        train_char_gpt("abcdefgh" * 3, TINY)
    with pytest.raises(ValueError, match="empty corpus"):
        train_char_gpt("", TINY)


def test_checkpoint_round_trip(tmp_path):
    result = train_char_gpt(RHYME, TINY, checkpoint=tmp_path / "m.safetensors")
    model, tokenizer = load_char_gpt(tmp_path / "m.safetensors")
    assert tokenizer.vocab.itos == result.tokenizer.vocab.itos
    assert model.config == result.model.config
    assert not model.training
    prompt = torch.tensor([tokenizer.encode("mary")])
    want = generate(result.model, prompt, 20, generator=torch.Generator().manual_seed(0))
    got = generate(model, prompt, 20, generator=torch.Generator().manual_seed(0))
    assert torch.equal(want, got)
    with pytest.raises(ValueError, match="'M'"):
        tokenizer.encode("MARY")


def test_load_char_gpt_refuses_a_checkpoint_without_vocabulary(tmp_path):
    model = GPT(GPTConfig(vocab_size=5, block_size=4))
    save_checkpoint(model, tmp_path / "plain.safetensors")
    with pytest.raises(ValueError, match="has no vocabulary"):
        load_char_gpt(tmp_path / "plain.safetensors")


def test_save_char_gpt_records_the_losses(tmp_path):
    from llm_guide.train import load_checkpoint

    result = train_char_gpt(RHYME, TINY)
    save_char_gpt(result, tmp_path / "m.safetensors")
    _, info = load_checkpoint(tmp_path / "m.safetensors")
    assert info["val_loss"] == pytest.approx(result.val_loss)
    assert info["train_config"]["steps"] == TINY.steps


def test_the_cli_defaults_are_the_reference_configuration():
    from llm_guide.__main__ import build_parser

    args = build_parser().parse_args(["train"])
    cli = CapstoneConfig(
        n_layer=args.layers,
        n_head=args.heads,
        n_embd=args.embd,
        block_size=args.block_size,
        batch_size=args.batch_size,
        steps=args.steps,
        lr=args.lr,
        seed=args.seed,
    )
    assert cli == CapstoneConfig()


# ---------------------------------------------------------------------------------
# the recorded reference run must match what the code would run
# ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reference():
    return load_reference_run()


def test_reference_run_used_the_default_configuration(reference):
    assert reference["config"] == asdict(CapstoneConfig())
    assert reference["command"] == "python -m llm_guide.capstone"


def test_reference_run_sizes_follow_from_the_configuration(reference):
    config = CapstoneConfig()
    with torch.device("meta"):
        model = GPT(config.model_config(reference["vocab_size"]))
    assert reference["n_params"] == model.num_params()
    steps = [e[0] for e in reference["evals"]]
    assert steps == list(range(0, config.steps, config.eval_interval)) + [config.steps]
    assert reference["evals"][-1][1:] == [reference["train_loss"], reference["val_loss"]]
    assert reference["sample"]["text"].startswith(reference["sample"]["prompt"])


def test_reference_run_corpus_is_this_pythons(reference):
    """The help text changes between Python versions; on the version that recorded the
    run it must be byte for byte the text the run trained on."""
    text = python_docs()
    recorded = reference["corpus"]
    if platform.python_version_tuple()[:2] != tuple(recorded["python"].split(".")[:2]):
        pytest.skip(f"recorded on Python {recorded['python']}; this is {platform.python_version()}")
    assert recorded["chars"] == len(text)
    assert recorded["sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert reference["vocab_size"] == len(set(text))
    train_ids, val_ids = train_val_split(torch.zeros(len(text), dtype=torch.long), CapstoneConfig().val_fraction)
    assert (reference["train_tokens"], reference["val_tokens"]) == (len(train_ids), len(val_ids))


def test_reference_run_learned(reference):
    first, last = reference["evals"][0], reference["evals"][-1]
    assert first[2] > 4.0  # about ln(vocab_size) at step 0
    assert last[2] < 2.0
    assert abs(last[2] - last[1]) < 0.3  # validation tracks training: no heavy overfitting


def test_torch_threads_restores_the_count_even_after_an_error():
    before = torch.get_num_threads()
    with torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError):
        with torch_threads(before + 1):
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before
