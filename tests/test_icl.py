"""Chapter 10: in-context learning, induction heads, and the attention-only GPT they need."""

from __future__ import annotations

import copy
import string

import pytest
import torch

from llm_guide.attention import attention_maps
from llm_guide.block import Block
from llm_guide.generate import generate
from llm_guide.icl import (
    RULES,
    _copy_masks,
    attention_only_gpt,
    copy_accuracy,
    few_shot_prompt,
    induction_scores,
    induction_targets,
    previous_token_scores,
    repeated_sequences,
    rule_batch,
    rule_tokenizer,
    train_on_batches,
    weights_fingerprint,
)
from llm_guide.model import GPT, GPTConfig


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: one thread is faster, and steadier on a shared machine
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------
# weights do not change at inference
# ---------------------------------------------------------------------------------
def test_fingerprint_is_unchanged_by_generation_and_changed_by_one_training_step():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=7, block_size=8, n_layer=1, n_head=2, n_embd=16))
    before = weights_fingerprint(model)
    assert len(before) == 16 and before == weights_fingerprint(copy.deepcopy(model))
    generate(model, torch.tensor([[1, 2, 3]]), 10, generator=torch.Generator().manual_seed(0))
    assert weights_fingerprint(model) == before

    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    x = torch.randint(7, (2, 8))
    model(x, x)[1].backward()
    optimizer.step()
    assert weights_fingerprint(model) != before


def test_fingerprint_sees_a_single_changed_number():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=7, block_size=8, n_layer=1, n_head=2, n_embd=16))
    other = copy.deepcopy(model)
    with torch.no_grad():
        other.transformer.h[0].attn.c_attn.bias[5] += 1e-7
    assert weights_fingerprint(model) != weights_fingerprint(other)


# ---------------------------------------------------------------------------------
# the few-shot task
# ---------------------------------------------------------------------------------
def test_few_shot_prompt_format_and_errors():
    assert few_shot_prompt("upper case", "am", "c") == "aA mM c"
    assert few_shot_prompt("next letter", "az", "c") == "ab za c"
    assert few_shot_prompt("upper case", "", "c") == "c"
    with pytest.raises(ValueError, match="rule must be one of"):
        few_shot_prompt("reverse", "a", "c")
    with pytest.raises(ValueError, match="lower-case letters"):
        few_shot_prompt("upper case", "A", "c")


def test_rule_batch_rows_follow_one_rule_each():
    tok = rule_tokenizer()
    x, y = rule_batch(tok, 64, n_examples=5, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (64, 14)
    assert torch.equal(x[:, 1:], y[:, :-1])
    seen = set()
    for row in range(64):
        text = tok.decode(x[row].tolist() + [y[row, -1].item()])
        pairs = text.split()
        assert len(pairs) == 5 and all(len(p) == 2 and p[0] in string.ascii_lowercase for p in pairs)
        rules = {name for name, rule in RULES.items() if all(rule(p[0]) == p[1] for p in pairs)}
        assert len(rules) == 1, text
        seen |= rules
    assert seen == set(RULES)


def test_train_on_batches_records_every_step_and_refuses_zero_steps():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=7, block_size=8, n_layer=1, n_head=2, n_embd=16))
    batch = (torch.randint(7, (4, 8)), torch.randint(7, (4, 8)))
    losses = train_on_batches(model, lambda g: batch, steps=30, lr=1e-2)
    assert len(losses) == 30 and losses[-1] < losses[0]
    assert not model.training
    with pytest.raises(ValueError, match="steps must be a positive integer, got 0"):
        train_on_batches(model, lambda g: batch, steps=0)


# ---------------------------------------------------------------------------------
# the induction data: the two traps
# ---------------------------------------------------------------------------------
def test_repeated_sequences_repeat_their_segment():
    batch = repeated_sequences(50, block_size=32, generator=torch.Generator().manual_seed(0))
    assert batch.x.shape == batch.y.shape == (50, 32) and batch.lengths.shape == (50,)
    assert torch.equal(batch.x[:, 1:], batch.y[:, :-1])
    full = torch.cat([batch.x, batch.y[:, -1:]], dim=1)
    for row, L in zip(full, batch.lengths.tolist()):
        assert torch.equal(row[L:], row[:-L])  # period L
        assert 2 * L <= 32  # the second copy fits


def test_segment_lengths_vary_from_row_to_row():
    """Trap 1: with one fixed length, a single layer can look a fixed distance back."""
    lengths = repeated_sequences(2000, min_len=4, max_len=16, generator=torch.Generator().manual_seed(0)).lengths
    assert set(lengths.tolist()) == set(range(4, 17))


def test_tokens_within_a_segment_are_distinct():
    """Trap 2: a repeated token inside a segment would have two different continuations."""
    batch = repeated_sequences(500, vocab_size=26, min_len=4, max_len=16, generator=torch.Generator().manual_seed(1))
    for row, L in zip(batch.x, batch.lengths.tolist()):
        assert len(set(row[:L].tolist())) == L


def test_repeated_sequences_refuse_impossible_settings():
    with pytest.raises(ValueError, match="can't be longer than the vocabulary"):
        repeated_sequences(2, block_size=64, vocab_size=10, max_len=12)
    with pytest.raises(ValueError, match="so two copies fit"):
        repeated_sequences(2, block_size=20, max_len=12)
    with pytest.raises(ValueError, match="min_len <= max_len"):
        repeated_sequences(2, min_len=8, max_len=4)


def test_copy_masks_pick_the_first_and_second_copy():
    first, second = _copy_masks(torch.tensor([4]), 12)
    assert first[0].nonzero().flatten().tolist() == [0, 1, 2]  # predicting tokens 1, 2, 3
    assert second[0].nonzero().flatten().tolist() == [4, 5, 6]  # predicting tokens 5, 6, 7


def _train_one_layer(min_len: int, max_len: int, steps: int = 200) -> dict[str, float]:
    torch.manual_seed(0)
    model = attention_only_gpt(1, block_size=24)
    train_on_batches(
        model, lambda g: repeated_sequences(16, 24, min_len=min_len, max_len=max_len, generator=g)[:2], steps, lr=1e-3
    )
    test = repeated_sequences(256, 24, min_len=min_len, max_len=max_len, generator=torch.Generator().manual_seed(9))
    return copy_accuracy(model, test)


def test_one_layer_solves_the_fixed_length_variant_but_not_the_real_one():
    """Why the length must vary: with every segment 8 long, one attention layer learns
    to read the token 7 places back and "solves" the task without any induction head.
    With lengths 4 to 12 and the same budget it can only guess."""
    fixed = _train_one_layer(8, 8)
    varied = _train_one_layer(4, 12)
    assert fixed["second copy"] > 0.9
    assert varied["second copy"] < 0.5


# ---------------------------------------------------------------------------------
# measuring heads
# ---------------------------------------------------------------------------------
def test_induction_targets_point_after_earlier_occurrences():
    x = torch.tensor([[0, 1, 2, 0, 1, 2, 0]])
    target = induction_targets(x)[0]
    assert target[3].nonzero().flatten().tolist() == [1]  # the 0 at t=3: look at what followed the 0 at 0
    assert target[6].nonzero().flatten().tolist() == [1, 4]  # two earlier 0s
    assert not target[:3].any()  # the first copy has nothing to look back to


def test_head_scores_on_perfect_patterns():
    x = torch.tensor([[3, 1, 4, 3, 1, 4, 3, 1]])
    T = x.size(1)
    induction = induction_targets(x)[0].float()
    induction[:3, 0] = 1.0  # queries without a target attend to the first token
    induction = induction / induction.sum(dim=-1, keepdim=True)
    previous = torch.zeros(T, T)
    previous[0, 0] = 1.0
    previous[torch.arange(1, T), torch.arange(T - 1)] = 1.0
    attn = [torch.stack([previous, induction])[None]]  # one layer, two heads
    assert torch.allclose(induction_scores(attn, x), torch.tensor([[0.0, 1.0]]))
    assert torch.allclose(previous_token_scores(attn)[0, 0], torch.tensor(1.0))


def test_attention_only_gpt_has_no_feed_forward_and_maps_still_read():
    model = attention_only_gpt(2, vocab_size=26, block_size=32)
    names = [n for n, _ in model.named_parameters()]
    assert not any(".mlp." in n or ".ln_2." in n for n in names)
    assert "lm_head.weight" in names  # untied
    x = repeated_sequences(2, generator=torch.Generator().manual_seed(0)).x
    maps = attention_maps(model, x)
    assert len(maps) == 2 and maps[0].shape == (2, 4, 32, 32)
    assert torch.allclose(maps[1].sum(-1), torch.ones(2, 4, 32))


def test_attention_only_gpt_trains_on_the_fast_path_and_agrees_with_the_teaching_path():
    """Chapter 10 trains with fast=True; the chapters' code gives the same losses and maps."""
    torch.manual_seed(0)
    fast = attention_only_gpt(2, vocab_size=26, block_size=32)
    assert fast.config.fast
    torch.manual_seed(0)
    teaching = GPT(GPTConfig(**{**vars(fast.config), "fast": False}))
    batches = lambda g: repeated_sequences(8, generator=g)[:2]  # noqa: E731
    fast_losses = train_on_batches(fast, batches, steps=20, lr=1e-3)
    teaching_losses = train_on_batches(teaching, batches, steps=20, lr=1e-3)
    assert fast_losses == pytest.approx(teaching_losses, abs=1e-4)
    x = repeated_sequences(2, generator=torch.Generator().manual_seed(1)).x
    for a, b in zip(attention_maps(fast, x), attention_maps(teaching, x)):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=0)


# ---------------------------------------------------------------------------------
# the model addition: mlp=False
# ---------------------------------------------------------------------------------
def test_block_without_mlp_is_attention_plus_residual():
    torch.manual_seed(0)
    block = Block(16, 4, mlp=False)
    assert block.mlp is None and block.ln_2 is None
    assert [n for n, _ in block.named_children()] == ["ln_1", "attn"]
    x = torch.randn(2, 5, 16)
    assert torch.allclose(block(x), x + block.attn(block.ln_1(x)))
    post = Block(16, 4, mlp=False, norm="post")
    assert torch.allclose(post(x), post.ln_1(x + post.attn(x)))


def test_gpt_config_mlp_false_drops_the_feed_forward_parameters():
    with_mlp = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=2, n_head=2, n_embd=16))
    without = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=2, n_head=2, n_embd=16, mlp=False))
    C, H = 16, 64
    per_block = (C * H + H) + (H * C + C) + 2 * C  # c_fc, c_proj, ln_2
    assert with_mlp.num_params() - without.num_params() == 2 * per_block
    logits, loss = without(torch.randint(10, (2, 8)), torch.randint(10, (2, 8)))
    assert logits.shape == (2, 8, 10) and torch.isfinite(loss)
