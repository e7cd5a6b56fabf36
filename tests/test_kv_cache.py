"""The key-value cache (chapter 12): the same logits and the same tokens, for the GPT and the Llama."""

import pytest
import torch

from llm_guide.attention import MultiHeadAttention, causal_mask
from llm_guide.generate import generate
from llm_guide.kv_cache import KVCache, LayerKV, kv_cache_numbers
from llm_guide.llama import Llama, LlamaConfig
from llm_guide.model import GPT, GPTConfig

V, BLOCK = 13, 8


def gpt(fast=False):
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=V, block_size=BLOCK, n_layer=2, n_head=2, n_embd=16, fast=fast))


def llama(fast=False):
    torch.manual_seed(0)
    return Llama(LlamaConfig(vocab_size=V, block_size=BLOCK, n_layer=2, n_head=4, n_kv_head=2, n_embd=16, fast=fast))


MODELS = {"gpt": gpt, "gpt-fast": lambda: gpt(True), "llama": llama, "llama-fast": lambda: llama(True)}


@pytest.fixture(params=list(MODELS))
def model(request):
    m = MODELS[request.param]().eval()
    with torch.no_grad():  # sharper than the init's near-uniform logits, so greedy is unambiguous
        m.lm_head.weight.mul_(50)
    return m


def prompt(T, B=2, seed=1):
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))


# --- the pieces ----------------------------------------------------------------


def test_causal_mask_with_a_past_is_the_last_rows_of_the_full_mask():
    for past, T in ((0, 4), (3, 1), (2, 3)):
        assert torch.equal(causal_mask(T, past=past), causal_mask(past + T)[past:])
    assert causal_mask(1, past=5).all()  # one new token sees everything before it


def test_layer_cache_appends_along_time():
    layer = LayerKV()
    assert layer.length == 0
    k, v = torch.randn(2, 3, 4, 8), torch.randn(2, 3, 4, 8)
    layer.update(k[:, :, :3], v[:, :, :3])
    k_all, v_all = layer.update(k[:, :, 3:], v[:, :, 3:])
    assert layer.length == 4
    assert torch.equal(k_all, k) and torch.equal(v_all, v)


def test_cache_refuses_tokens_beyond_the_context():
    cache = KVCache(n_layer=2, block_size=8)
    assert cache.next_position(8) == 0
    cache.layers[0].update(torch.zeros(1, 1, 6, 2), torch.zeros(1, 1, 6, 2))
    assert cache.length == 6 and cache.next_position(2) == 6
    with pytest.raises(
        ValueError,
        match=r"the cache holds 6 tokens and 3 more would make 9, beyond the context "
        r"length block_size=8; start a new cache from the last 8 tokens",
    ):
        cache.next_position(3)
    with pytest.raises(ValueError, match=r"n_layer must be a positive integer, got 0"):
        KVCache(0, 8)


def test_cache_numbers():
    assert kv_cache_numbers(n_layer=2, n_kv_head=3, head_size=4, tokens=5) == 2 * 2 * 3 * 4 * 5
    assert kv_cache_numbers(16, 8, 64) == 16_384  # Llama 3.2 1B: 32 KiB a token in bfloat16


@pytest.mark.parametrize("fast", [False, True])
def test_attention_with_a_cache_equals_attention_over_everything(fast):
    torch.manual_seed(0)
    attn, x = MultiHeadAttention(16, 2, fast=fast).eval(), torch.randn(2, 7, 16)
    full = attn(x)
    layer = LayerKV()
    parts = [attn(x[:, :4], layer), attn(x[:, 4:6], layer), attn(x[:, 6:], layer)]  # prefill, 2 tokens, 1 token
    torch.testing.assert_close(torch.cat(parts, dim=1), full, atol=1e-6, rtol=1e-5)


# --- whole models ----------------------------------------------------------------


def test_logits_with_a_cache_equal_the_full_forward(model):
    idx = prompt(BLOCK)
    with torch.no_grad():
        full, _ = model(idx)
        cache = KVCache(model.config.n_layer, BLOCK)
        steps = [model(idx[:, :3], cache=cache)[0]] + [
            model(idx[:, t : t + 1], cache=cache)[0] for t in range(3, BLOCK)
        ]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-4, rtol=1e-4)
    assert cache.length == BLOCK
    with pytest.raises(ValueError, match=r"the cache holds 8 tokens and 1 more would make 9"):
        model(idx[:, :1], cache=cache)


@pytest.mark.parametrize("T, new", [(3, 4), (3, 12), (11, 6)])  # within the context, growing past it, too long
def test_generate_with_the_cache_gives_the_same_tokens(model, T, new):
    idx = prompt(T)
    greedy = generate(model, idx, new, greedy=True)
    assert torch.equal(generate(model, idx, new, greedy=True, kv_cache=True), greedy)
    sample = dict(temperature=50.0, top_k=8)  # undoes the sharpening: sampling has real choices to make
    sampled = generate(model, idx, new, **sample, generator=torch.Generator().manual_seed(3))
    cached = generate(model, idx, new, **sample, generator=torch.Generator().manual_seed(3), kv_cache=True)
    assert torch.equal(cached, sampled)
    assert not torch.equal(sampled, greedy)


def test_generate_with_the_cache_runs_the_model_on_one_token_a_step():
    model = gpt().eval()
    lengths = []
    hook = model.register_forward_pre_hook(lambda m, args, kwargs: lengths.append(args[0].size(1)), with_kwargs=True)
    try:
        generate(model, prompt(3, B=1), 8, greedy=True, kv_cache=True)
    finally:
        hook.remove()
    # the prompt, then one token a step until the context is full (8), then the last 8 afresh every step
    assert lengths == [3, 1, 1, 1, 1, 1, 8, 8]


def test_generate_leaves_the_mode_as_it_was():
    model = llama().train()
    generate(model, prompt(2), 3, kv_cache=True, generator=torch.Generator().manual_seed(0))
    assert model.training
