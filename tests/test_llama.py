"""Chapter 12's parts and model: RMSNorm, rotary embeddings, SwiGLU, grouped-query attention, Llama.

Each part is checked against PyTorch's own where there is one; the comparison with
Hugging Face's LlamaForCausalLM is in tests/test_llama_hf.py.
"""

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from llm_guide.attention import scaled_dot_product_attention
from llm_guide.llama import (
    LLAMA_3_2_1B,
    QWEN2_5_0_5B,
    GroupedQueryAttention,
    Llama,
    LlamaConfig,
    RMSNorm,
    SwiGLU,
    apply_rotary,
    rotary_cos_sin,
    silu,
    swiglu_hidden,
)
from llm_guide.train import TrainConfig, train

ATOL = 1e-6


def tiny(**overrides):
    return LlamaConfig(
        **({"vocab_size": 11, "block_size": 8, "n_layer": 2, "n_head": 4, "n_kv_head": 2, "n_embd": 16} | overrides)
    )


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# --- RMSNorm, SiLU, SwiGLU -------------------------------------------------------


@pytest.mark.parametrize("fast", [False, True])
def test_rms_norm_matches_torch(fast):
    x = randn(2, 5, 16) * 3 + 1
    ours = RMSNorm(16, eps=1e-5, fast=fast)
    theirs = nn.RMSNorm(16, eps=1e-5)
    with torch.no_grad():
        w = randn(16, seed=1)
        ours.weight.copy_(w)
        theirs.weight.copy_(w)
    torch.testing.assert_close(ours(x), theirs(x), atol=ATOL, rtol=1e-5)


def test_rms_norm_is_scale_invariant_but_not_shift_invariant():
    norm, x = RMSNorm(8), randn(3, 8)
    torch.testing.assert_close(norm(5 * x), norm(x), atol=1e-5, rtol=1e-5)
    assert (norm(x + 3) - norm(x)).abs().max() > 0.1  # unlike LayerNorm, the mean is kept
    assert torch.allclose(norm(x).pow(2).mean(-1), torch.ones(3), atol=1e-4)  # unit root mean square


def test_silu_matches_torch():
    x = torch.linspace(-6, 6, 101)
    torch.testing.assert_close(silu(x), F.silu(x), atol=ATOL, rtol=1e-6)


@pytest.mark.parametrize("fast", [False, True])
def test_swiglu_is_the_gated_formula(fast):
    torch.manual_seed(0)
    mlp, x = SwiGLU(16, 40, fast=fast), randn(2, 3, 16)
    expected = mlp.down_proj(F.silu(mlp.gate_proj(x)) * mlp.up_proj(x))
    torch.testing.assert_close(mlp(x), expected, atol=ATOL, rtol=1e-5)


def test_swiglu_default_width_keeps_gpts_weight_count():
    for C in (16, 64, 128, 768):
        n = swiglu_hidden(C)
        assert n % 8 == 0 and 8 * C / 3 <= n < 8 * C / 3 + 8
        assert 0 <= 3 * C * n - 8 * C * C <= 3 * C * 8  # at most 8 columns over GPT's 8 C^2
    assert LlamaConfig(vocab_size=5, block_size=4, n_embd=128).n_hidden == 344


# --- rotary embeddings ---------------------------------------------------------


def test_rotary_is_a_rotation_that_keeps_lengths():
    hs, T = 16, 12
    cos, sin = rotary_cos_sin(T, hs)
    assert cos.shape == sin.shape == (T, hs // 2)
    x = randn(2, 3, T, hs)
    y = apply_rotary(x, cos, sin)
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(y[:, :, 0], x[:, :, 0])  # position 0 is not turned at all
    # turning by +angle and then by -angle gives the input back
    torch.testing.assert_close(apply_rotary(y, cos, -sin), x, atol=1e-5, rtol=1e-5)


def test_rotary_frequencies_are_chapter_5s():
    from llm_guide.embeddings import sinusoidal_positions

    hs, T = 8, 6
    cos, sin = rotary_cos_sin(T, hs)
    pe = sinusoidal_positions(T, hs)  # sin in even columns, cos in odd ones, same frequencies
    torch.testing.assert_close(sin, pe[:, 0::2])
    torch.testing.assert_close(cos, pe[:, 1::2])


def test_rotary_score_depends_only_on_the_distance():
    """q at position m and k at position n score q_m . k_n, the same for every m - n."""
    hs = 32
    q, k = randn(hs, seed=1), randn(hs, seed=2)
    cos, sin = rotary_cos_sin(64, hs, dtype=torch.float64)
    qs = apply_rotary(q.double().expand(64, hs), cos, sin)  # q placed at every position
    ks = apply_rotary(k.double().expand(64, hs), cos, sin)
    scores = qs @ ks.T  # (m, n)
    for offset in (-40, -3, 0, 1, 17):
        diagonal = torch.diagonal(scores, offset=offset)  # all pairs with n - m = offset
        assert (diagonal - diagonal[0]).abs().max() < 1e-10
    assert (scores.diagonal(0)[0] - torch.dot(q.double(), k.double())).abs() < 1e-10  # distance 0: no turn
    assert scores.diagonal(0)[0] != scores.diagonal(5)[0]  # but the distance does matter


# --- grouped-query attention ---------------------------------------------------


@pytest.mark.parametrize("n_kv_head", [1, 2, 4])
@pytest.mark.parametrize("fast", [False, True])
def test_gqa_equals_torch_attention_with_repeated_heads(n_kv_head, fast):
    torch.manual_seed(0)
    B, T, C, nh = 2, 6, 32, 4
    attn, x = GroupedQueryAttention(C, nh, n_kv_head, fast=fast), randn(B, T, C)
    cos, sin = rotary_cos_sin(T, C // nh)
    hs = C // nh
    q = apply_rotary(attn.q_proj(x).view(B, T, nh, hs).transpose(1, 2), cos, sin)
    k = apply_rotary(attn.k_proj(x).view(B, T, n_kv_head, hs).transpose(1, 2), cos, sin)
    v = attn.v_proj(x).view(B, T, n_kv_head, hs).transpose(1, 2)
    g = nh // n_kv_head
    y = F.scaled_dot_product_attention(q, k.repeat_interleave(g, 1), v.repeat_interleave(g, 1), is_causal=True)
    expected = attn.o_proj(y.transpose(1, 2).reshape(B, T, C))
    torch.testing.assert_close(attn(x, cos, sin), expected, atol=ATOL, rtol=1e-5)
    assert attn.k_proj.weight.shape == (n_kv_head * hs, C)


def test_gqa_query_heads_of_one_group_read_the_same_keys():
    """With one key/value head, changing that head's values changes every query head's output."""
    B, T, nh = 1, 4, 4
    q, k, v = randn(B, nh, T, 4, seed=1), randn(B, 1, T, 4, seed=2), randn(B, 1, T, 4, seed=3)
    y, _ = scaled_dot_product_attention(q, k.expand(B, nh, T, 4), v.expand(B, nh, T, 4), causal=True)
    theirs = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    torch.testing.assert_close(y, theirs, atol=ATOL, rtol=1e-5)


# --- configuration -------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"n_head": 6, "n_kv_head": 4, "n_embd": 24},
            r"n_head=6 must be a multiple of n_kv_head=4, .* n_kv_head could be one of \[1, 2, 3, 6\]",
        ),
        (
            {"n_head": 4, "n_kv_head": 2, "n_embd": 20},
            r"head size n_embd // n_head = 20 // 4 = 5 must be even for rotary embeddings",
        ),
        ({"n_head": 3, "n_kv_head": 3, "n_embd": 16}, r"n_embd=16 must be divisible by n_head=3"),
        ({"n_kv_head": 0}, r"n_kv_head must be a positive integer, got 0"),
        ({"block_size": 0}, r"block_size must be a positive integer, got 0"),
        ({"n_hidden": -1}, r"n_hidden must be a positive integer, got -1"),
        ({"rope_theta": 0.0}, r"rope_theta must be > 0, got 0.0"),
    ],
)
def test_config_validation_names_values_and_rule(overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny(**overrides)


def test_config_defaults():
    c = LlamaConfig(vocab_size=5, block_size=4)
    assert (c.n_layer, c.n_head, c.n_kv_head, c.n_embd, c.head_size) == (2, 4, 4, 64, 16)
    assert (c.tie_weights, c.qkv_bias, c.fast, c.rope_theta) == (True, False, False, 10000.0)


# --- the model -----------------------------------------------------------------


def test_forward_shapes_loss_and_names():
    torch.manual_seed(0)
    model = Llama(tiny())
    idx, targets = torch.randint(0, 11, (2, 3, 8), generator=torch.Generator().manual_seed(0))
    logits, loss = model(idx, targets)
    assert logits.shape == (3, 8, 11)
    assert abs(loss.item() - math.log(11)) < 0.1  # std-0.02 init: close to a uniform guess
    assert model.lm_head.weight is model.model.embed_tokens.weight
    names = set(model.state_dict())
    assert {
        "model.embed_tokens.weight",
        "model.layers.1.self_attn.k_proj.weight",
        "model.layers.0.mlp.gate_proj.weight",
        "model.layers.0.input_layernorm.weight",
        "model.norm.weight",
        "lm_head.weight",
    } <= names
    assert not any("bias" in n for n in names)


def test_the_model_is_causal():
    torch.manual_seed(0)
    model = Llama(tiny()).eval()
    idx = torch.randint(0, 11, (1, 8))
    changed = idx.clone()
    changed[0, 5] = (idx[0, 5] + 1) % 11
    with torch.no_grad():
        a, b = model(idx)[0], model(changed)[0]
    torch.testing.assert_close(a[:, :5], b[:, :5])
    assert (a[:, 5:] - b[:, 5:]).abs().max() > 0


def test_bad_input_is_refused_with_the_fix():
    model = Llama(tiny())
    with pytest.raises(ValueError, match=r"sequence of length 9 is longer than the context length block_size=8"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match=r"idx must have shape \(B, T\), got shape \(4,\); for one sequence"):
        model(torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"idx contains token id 11, outside \[0, 11\)"):
        model(torch.tensor([[1, 11]]))
    with pytest.raises(ValueError, match=r"targets must have the same shape as idx \(1, 2\), got \(1, 3\)"):
        model(torch.tensor([[1, 2]]), torch.tensor([[1, 2, 3]]))


@pytest.mark.parametrize("overrides", [{}, {"n_kv_head": 1, "qkv_bias": True, "tie_weights": False}])
def test_fast_and_teaching_paths_agree(overrides):
    torch.manual_seed(0)
    slow = Llama(tiny(**overrides)).eval()
    fast = Llama(tiny(**overrides, fast=True)).eval()
    fast.load_state_dict(slow.state_dict())
    with torch.no_grad():
        for p in slow.parameters():  # larger weights than the init's, so differences would show
            p.mul_(20)
        fast.load_state_dict(slow.state_dict())
    idx = torch.randint(0, 11, (2, 8), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b = slow(idx)[0], fast(idx)[0]
    assert a.abs().max() > 1
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_trains_with_the_chapter_9_loop():
    torch.manual_seed(0)
    data = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] * 20)
    model = Llama(tiny(fast=True))
    result = train(
        model, data, data, TrainConfig(steps=30, batch_size=8, lr=1e-2, warmup_steps=2, eval_interval=29, eval_steps=2)
    )
    first, last = result.evals[0].val_loss, result.evals[-1].val_loss
    assert last < 0.5 * first


def test_published_shapes_give_the_published_sizes():
    """Counted on the meta device: shapes only, no memory, no download."""
    with torch.device("meta"):
        llama, qwen = Llama(LLAMA_3_2_1B), Llama(QWEN2_5_0_5B)
    assert llama.num_params() == 1_235_814_400  # "1.23B" on the model card
    assert qwen.num_params() == 494_032_768  # "0.49B"; 0.36B without the embedding table
    assert round((qwen.num_params() - qwen.model.embed_tokens.weight.numel()) / 1e9, 2) == 0.36
