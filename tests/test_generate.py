"""Sampling: the next-token distribution and the generation loop."""

import pytest
import torch

from llm_guide.generate import generate, next_token_distribution
from llm_guide.model import GPT, GPTConfig

LOGITS = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0, 3.0])  # ranking: 5, 0, 1, 2, 3, 4


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=13, block_size=8, n_layer=1, n_head=2, n_embd=16))
    with torch.no_grad():  # sharper than the init's near-uniform logits, so greedy is unambiguous
        m.lm_head.weight.mul_(50)
    return m


# --- next_token_distribution ---------------------------------------------------------


def test_default_is_plain_softmax():
    torch.testing.assert_close(next_token_distribution(LOGITS), torch.softmax(LOGITS, -1))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"temperature": 0.3},
        {"temperature": 5.0},
        {"top_k": 3},
        {"top_p": 0.7},
        {"temperature": 2.0, "top_k": 4, "top_p": 0.9},
    ],
)
def test_distribution_sums_to_one(kwargs):
    p = next_token_distribution(LOGITS, **kwargs)
    assert p.shape == LOGITS.shape and (p >= 0).all()
    assert abs(p.sum().item() - 1.0) < 1e-6


def test_temperature_sharpens_and_flattens():
    def entropy(p):
        return -(p * p.clamp_min(1e-30).log()).sum().item()

    cold, normal, hot = (next_token_distribution(LOGITS, temperature=t) for t in (0.25, 1.0, 4.0))
    assert entropy(cold) < entropy(normal) < entropy(hot)
    assert cold.argmax() == hot.argmax() == 5  # the order of tokens never changes
    assert next_token_distribution(LOGITS, temperature=0.01)[5].item() > 0.999  # close to greedy
    torch.testing.assert_close(next_token_distribution(LOGITS, temperature=2.0), torch.softmax(LOGITS / 2, -1))


def test_top_k_keeps_exactly_the_k_most_likely():
    p = next_token_distribution(LOGITS, top_k=2)
    assert set(p.nonzero().flatten().tolist()) == {5, 0}
    expected = torch.softmax(torch.tensor([3.0, 2.0]), -1)
    torch.testing.assert_close(p[[5, 0]], expected)
    torch.testing.assert_close(next_token_distribution(LOGITS, top_k=100), torch.softmax(LOGITS, -1))
    assert next_token_distribution(LOGITS, top_k=1)[5].item() == 1.0


def test_top_p_keeps_smallest_set_reaching_p():
    probs = torch.softmax(LOGITS, -1)
    ranked = probs.sort(descending=True).values
    # p just below the top two tokens' mass: both are needed, the third is not
    p_two = ranked[:2].sum().item() - 1e-3
    p = next_token_distribution(LOGITS, top_p=p_two)
    assert set(p.nonzero().flatten().tolist()) == {5, 0}
    torch.testing.assert_close(p[[5, 0]], probs[[5, 0]] / probs[[5, 0]].sum())
    # a tiny p still keeps the single most likely token
    assert set(next_token_distribution(LOGITS, top_p=1e-6).nonzero().flatten().tolist()) == {5}
    torch.testing.assert_close(next_token_distribution(LOGITS, top_p=1.0), probs)


def test_top_k_then_top_p():
    # top-k leaves 3 tokens; top-p on the renormalised three keeps the first two
    p = next_token_distribution(LOGITS, top_k=3, top_p=0.85)
    kept = torch.softmax(torch.tensor([3.0, 2.0, 1.0]), -1)
    assert kept[:2].sum() > 0.85 > kept[0]
    assert set(p.nonzero().flatten().tolist()) == {5, 0}


def test_distribution_works_row_by_row_on_a_batch():
    batch = torch.stack([LOGITS, LOGITS.flip(0)])
    p = next_token_distribution(batch, top_k=2)
    assert p.shape == (2, 6)
    assert set(p[0].nonzero().flatten().tolist()) == {5, 0}
    assert set(p[1].nonzero().flatten().tolist()) == {0, 5}  # flipped: 3.0 is first, 2.0 last
    torch.testing.assert_close(p[1], p[0].flip(0))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"temperature": 0.0}, r"temperature must be > 0, got 0.0; use greedy=True for deterministic argmax"),
        ({"temperature": -1.0}, r"temperature must be > 0, got -1.0"),
        ({"top_k": 0}, r"top_k must be a positive integer, got 0"),
        ({"top_k": 2.5}, r"top_k must be a positive integer, got 2.5"),
        ({"top_p": 0.0}, r"top_p must be in \(0, 1\].*got 0.0"),
        ({"top_p": 1.5}, r"top_p must be in \(0, 1\].*got 1.5"),
    ],
)
def test_bad_sampling_settings_raise(kwargs, message, model):
    with pytest.raises(ValueError, match=message):
        next_token_distribution(LOGITS, **kwargs)
    with pytest.raises(ValueError, match=message):
        generate(model, torch.tensor([[1, 2]]), 3, **kwargs)


# --- generate ---------------------------------------------------------------------------


def test_generate_appends_tokens_and_keeps_the_prompt(model):
    prompt = torch.tensor([[1, 2, 3], [4, 5, 6]])
    out = generate(model, prompt, 5, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 8) and out.dtype == torch.long
    assert torch.equal(out[:, :3], prompt)
    assert ((out >= 0) & (out < 13)).all()


def test_greedy_is_deterministic_and_is_the_argmax(model):
    prompt = torch.tensor([[1, 2, 3]])
    a = generate(model, prompt, 4, greedy=True)
    b = generate(model, prompt, 4, greedy=True, temperature=0.0)  # sampling settings are ignored
    assert torch.equal(a, b)
    with torch.no_grad():
        for t in range(3, 7):
            assert a[0, t].item() == model(a[:, :t])[0][0, -1].argmax().item()


def test_top_k_1_sampling_equals_greedy(model):
    prompt = torch.tensor([[7, 8]])
    assert torch.equal(generate(model, prompt, 6, top_k=1), generate(model, prompt, 6, greedy=True))


def test_seeded_sampling_is_reproducible(model):
    prompt = torch.tensor([[0, 1]])
    a = generate(model, prompt, 20, temperature=3.0, generator=torch.Generator().manual_seed(42))
    b = generate(model, prompt, 20, temperature=3.0, generator=torch.Generator().manual_seed(42))
    c = generate(model, prompt, 20, temperature=3.0, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_sampled_tokens_stay_in_the_top_k(model):
    out = generate(
        model, torch.tensor([[3, 4]]), 6, top_k=2, temperature=5.0, generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        for t in range(2, 8):
            top2 = model(out[:, max(0, t - 8) : t])[0][0, -1].topk(2).indices.tolist()
            assert out[0, t].item() in top2


def test_long_prompt_is_cropped_to_the_context(model):
    long_prompt = torch.arange(20).remainder(13).unsqueeze(0)  # 20 tokens, block_size is 8
    out = generate(model, long_prompt, 5, greedy=True)
    assert out.shape == (1, 25)
    # only the last 8 tokens mattered
    from_tail = generate(model, long_prompt[:, -8:], 5, greedy=True)
    assert torch.equal(out[:, 20:], from_tail[:, 8:])


def test_training_mode_is_restored(model):
    model.train()
    generate(model, torch.tensor([[1]]), 2)
    assert model.training
    model.eval()
    generate(model, torch.tensor([[1]]), 2)
    assert not model.training


def test_generation_ignores_dropout():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=13, block_size=8, dropout=0.5)).train()
    prompt = torch.tensor([[1, 2, 3]])
    assert torch.equal(generate(model, prompt, 5, greedy=True), generate(model, prompt, 5, greedy=True))


def test_zero_new_tokens_and_bad_arguments(model):
    prompt = torch.tensor([[1, 2]])
    assert torch.equal(generate(model, prompt, 0), prompt)
    with pytest.raises(ValueError, match=r"max_new_tokens must be a whole number >= 0, got -1"):
        generate(model, prompt, -1)
    with pytest.raises(ValueError, match=r"idx must be a \(B, T\) tensor of token ids, got \(2,\); for one prompt use"):
        generate(model, torch.tensor([1, 2]), 3)
    with pytest.raises(ValueError, match=r"token id 20"):
        generate(model, torch.tensor([[20]]), 1)


@pytest.mark.parametrize(
    "prompt, message",
    [
        ([[99]], r"idx contains token id 99, outside \[0, 13\)"),
        ([[]], r"idx has shape \(1, 0\): give at least one token"),
    ],
)
def test_the_prompt_is_checked_even_when_nothing_is_generated(model, prompt, message):
    idx = torch.tensor(prompt, dtype=torch.long)
    with pytest.raises(ValueError, match=message):
        generate(model, idx, max_new_tokens=0)
