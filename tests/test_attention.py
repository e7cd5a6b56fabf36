"""Attention: softmax, the causal mask, NumPy and PyTorch attention, multi-head attention."""

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_guide.attention import (
    MultiHeadAttention,
    attention_maps,
    attention_numpy,
    causal_mask,
    scaled_dot_product_attention,
    softmax,
    softmax_numpy,
)
from llm_guide.model import GPT, GPTConfig

ATOL = 1e-6


def qkv(B=2, nh=3, T=5, hs=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(B, nh, T, hs, generator=g) for _ in range(3))


# --- softmax ---------------------------------------------------------------


def test_softmax_matches_torch_and_sums_to_one():
    x = torch.randn(4, 7, generator=torch.Generator().manual_seed(1))
    for dim in (0, 1, -1):
        torch.testing.assert_close(softmax(x, dim=dim), torch.softmax(x, dim=dim))
    torch.testing.assert_close(softmax(x).sum(-1), torch.ones(4))


def test_softmax_is_stable_for_large_scores_and_zeroes_minus_inf():
    x = torch.tensor([1000.0, 1001.0, float("-inf")])
    p = softmax(x)
    assert torch.isfinite(p).all()
    torch.testing.assert_close(p, torch.tensor([1 / (1 + np.e), np.e / (1 + np.e), 0.0]))
    assert p[2].item() == 0.0


def test_softmax_numpy_matches_torch():
    x = np.random.default_rng(0).normal(size=(3, 6)) * 50
    np.testing.assert_allclose(softmax_numpy(x), softmax(torch.from_numpy(x)).numpy(), atol=1e-12)
    np.testing.assert_allclose(softmax_numpy(x, axis=0).sum(axis=0), np.ones(6))


# --- causal mask -------------------------------------------------------------


def test_causal_mask_is_lower_triangular_bool():
    m = causal_mask(4)
    assert m.dtype == torch.bool and m.shape == (4, 4)
    expected = torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool)
    assert torch.equal(m, expected)
    assert causal_mask(1).item() is True


# --- scaled dot-product attention -----------------------------------------------


@pytest.mark.parametrize("causal", [False, True])
def test_teaching_attention_matches_pytorch(causal):
    q, k, v = qkv()
    out, weights = scaled_dot_product_attention(q, k, v, causal=causal)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=0)
    assert weights.shape == (2, 3, 5, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5))
    if causal:
        upper = ~causal_mask(5)
        assert (weights[..., upper] == 0).all()


def test_teaching_attention_with_boolean_mask_matches_pytorch():
    q, k, v = qkv(seed=3)
    mask = torch.rand(5, 5, generator=torch.Generator().manual_seed(4)) > 0.4
    mask |= torch.eye(5, dtype=torch.bool)  # every query keeps at least one key
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=ATOL, rtol=0)
    assert (weights[..., ~mask] == 0).all()


def test_teaching_attention_rejects_float_mask():
    q, k, v = qkv()
    with pytest.raises(ValueError, match="boolean.*torch.float32"):
        scaled_dot_product_attention(q, k, v, mask=torch.zeros(5, 5))


def test_teaching_attention_dropout_keeps_weights_and_zeroes_some_outputs():
    q, k, v = qkv()
    torch.manual_seed(0)
    out, weights = scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    _, clean = scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(weights, clean)  # returned weights are pre-dropout
    full, _ = scaled_dot_product_attention(q, k, v)
    assert not torch.allclose(out, full)


@settings(max_examples=25, deadline=None)
@given(B=st.integers(1, 3), nh=st.integers(1, 4), T=st.integers(1, 9), hs=st.integers(1, 16), causal=st.booleans())
def test_teaching_attention_matches_pytorch_for_any_shape(B, nh, T, hs, causal):
    g = torch.Generator().manual_seed(B * 1000 + nh * 100 + T * 10 + hs)
    q, k, v = (torch.randn(B, nh, T, hs, generator=g) for _ in range(3))
    out, _ = scaled_dot_product_attention(q, k, v, causal=causal)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=causal), atol=1e-5, rtol=0)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_numpy_matches_torch(causal):
    q, k, v = qkv(seed=7)
    out_np, w_np = attention_numpy(q.numpy(), k.numpy(), v.numpy(), causal=causal)
    out, w = scaled_dot_product_attention(q, k, v, causal=causal)
    np.testing.assert_allclose(out_np, out.numpy(), atol=1e-5)
    np.testing.assert_allclose(w_np, w.numpy(), atol=1e-6)


def test_attention_numpy_first_position_copies_its_own_value_when_causal():
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=(4, 3)) for _ in range(3))
    out, w = attention_numpy(q, k, v, causal=True)
    np.testing.assert_allclose(w[0], [1, 0, 0, 0])
    np.testing.assert_allclose(out[0], v[0])


# --- multi-head attention ----------------------------------------------------------


def x_input(B=2, T=6, C=16, seed=0):
    return torch.randn(B, T, C, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("bias", [True, False])
def test_mha_matches_torch_multihead_attention_non_causal(bias):
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(16, 4, bias=bias, batch_first=True)
    if bias:  # PyTorch initialises its biases to zero; make them count
        nn.init.normal_(ref.in_proj_bias)
        nn.init.normal_(ref.out_proj.bias)
    ours = MultiHeadAttention.from_torch(ref, causal=False)
    x = x_input()
    expected, expected_w = ref(x, x, x, need_weights=True, average_attn_weights=True)
    ours.store_attn = True
    torch.testing.assert_close(ours(x), expected, atol=ATOL, rtol=0)
    # PyTorch returns the weights averaged over heads
    torch.testing.assert_close(ours.last_attn.mean(dim=1), expected_w, atol=ATOL, rtol=0)


def test_mha_matches_torch_multihead_attention_with_causal_mask():
    torch.manual_seed(1)
    ours = MultiHeadAttention(16, 2, causal=True)
    nn.init.normal_(ours.c_attn.bias)
    ref = ours.to_torch()
    x = x_input(T=5, seed=2)
    # PyTorch's boolean attn_mask means True = blocked, the opposite of causal_mask
    expected, _ = ref(x, x, x, attn_mask=~causal_mask(5), need_weights=False)
    torch.testing.assert_close(ours(x), expected, atol=ATOL, rtol=0)


def test_mha_from_torch_rejects_cross_attention_layouts():
    with pytest.raises(ValueError, match="kdim == vdim"):
        MultiHeadAttention.from_torch(nn.MultiheadAttention(16, 2, kdim=8, vdim=8))


def test_mha_fast_path_matches_teaching_path():
    torch.manual_seed(0)
    slow = MultiHeadAttention(16, 4, causal=True)
    fast = MultiHeadAttention(16, 4, causal=True, fast=True)
    fast.load_state_dict(slow.state_dict())
    x = x_input()
    torch.testing.assert_close(fast(x), slow(x), atol=ATOL, rtol=0)


def test_mha_stores_weights_only_when_asked():
    mha = MultiHeadAttention(16, 4, fast=True)
    x = x_input(B=3, T=7)
    mha(x)
    assert mha.last_attn is None
    mha.store_attn = True  # also switches the fast path to the written-out one
    y = mha(x)
    assert y.shape == (3, 7, 16)
    w = mha.last_attn
    assert w.shape == (3, 4, 7, 7) and not w.requires_grad
    torch.testing.assert_close(w.sum(-1), torch.ones(3, 4, 7))
    assert (w[..., ~causal_mask(7)] == 0).all()


def test_mha_is_causal_future_tokens_do_not_change_the_past():
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 2)
    x = x_input(B=1, T=6)
    x2 = x.clone()
    x2[:, 4:] += 5.0
    torch.testing.assert_close(mha(x)[:, :4], mha(x2)[:, :4], atol=ATOL, rtol=0)
    assert not torch.allclose(mha(x)[:, 4:], mha(x2)[:, 4:])


def test_mha_names_and_shapes_follow_gpt2():
    mha = MultiHeadAttention(16, 4, bias=False)
    shapes = {k: tuple(v.shape) for k, v in mha.state_dict().items()}
    assert shapes == {"c_attn.weight": (48, 16), "c_proj.weight": (16, 16)}


def test_mha_rejects_width_not_divisible_by_heads():
    with pytest.raises(ValueError, match="n_embd=16 must be divisible by n_head=3"):
        MultiHeadAttention(16, 3)


def test_attention_maps_returns_one_map_per_layer_and_restores_state():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=7, block_size=8, n_layer=2, n_head=2, fast=True))
    model.train()
    idx = torch.tensor([[1, 2, 3, 4, 5]])
    maps = attention_maps(model, idx)
    assert len(maps) == 2 and all(m.shape == (1, 2, 5, 5) for m in maps)
    torch.testing.assert_close(maps[1].sum(-1), torch.ones(1, 2, 5))
    assert model.training
    assert all(not b.attn.store_attn and b.attn.last_attn is None for b in model.transformer.h)
