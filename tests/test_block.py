"""The transformer block: LayerNorm, GELU, feed-forward, pre- and post-norm blocks."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from llm_guide import activations
from llm_guide.attention import MultiHeadAttention
from llm_guide.block import ACTIVATIONS, Block, FeedForward, LayerNorm

ATOL = 1e-6


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("fast", [False, True])
def test_layer_norm_matches_torch_with_learned_scale_and_shift(fast):
    ours, ref = LayerNorm(8, fast=fast), nn.LayerNorm(8)  # both eps=1e-5
    w, b = randn(8, seed=1), randn(8, seed=2)
    with torch.no_grad():
        ours.weight.copy_(w), ours.bias.copy_(b), ref.weight.copy_(w), ref.bias.copy_(b)
    x = randn(2, 5, 8) * 3 + 1
    torch.testing.assert_close(ours(x), ref(x), atol=ATOL, rtol=0)


def test_layer_norm_without_bias_matches_torch():
    ours, ref = LayerNorm(8, bias=False), nn.LayerNorm(8, bias=False)
    assert ours.bias is None and [n for n, _ in ours.named_parameters()] == ["weight"]
    x = randn(3, 8)
    torch.testing.assert_close(ours(x), ref(x), atol=ATOL, rtol=0)


def test_layer_norm_output_has_zero_mean_unit_variance_per_token():
    y = LayerNorm(16)(randn(4, 16) * 10 + 7)
    torch.testing.assert_close(y.mean(-1), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(-1, unbiased=False), torch.ones(4), atol=1e-3, rtol=0)


def test_layer_norm_of_constant_vector_is_finite():
    assert torch.equal(LayerNorm(4)(torch.full((1, 4), 3.0)), torch.zeros(1, 4))


@pytest.mark.parametrize("fast", [False, True])
def test_feed_forward_uses_gpt2_tanh_gelu(fast):
    ff = FeedForward(8, 32, "gelu", fast=fast)
    x = torch.linspace(-6, 6, 1001)
    torch.testing.assert_close(ff.act(x), F.gelu(x, approximate="tanh"), atol=ATOL, rtol=0)
    assert not torch.allclose(ff.act(x), F.gelu(x), atol=1e-5)  # not the exact erf GELU
    assert set(ACTIVATIONS) == {"gelu", "relu"}


def test_feed_forward_calls_chapter_4s_activations(monkeypatch):
    """The teaching path is chapter 4's code: the very functions, and they are what runs."""
    import llm_guide.block

    assert (llm_guide.block.gelu, llm_guide.block.relu) == (activations.gelu, activations.relu)
    calls = []
    monkeypatch.setattr("llm_guide.block.gelu", lambda x, approximate: calls.append(approximate) or x)
    monkeypatch.setattr("llm_guide.block.relu", lambda x: calls.append("relu") or x)
    FeedForward(8, 32, "gelu")(randn(1, 2, 8))
    FeedForward(8, 32, "relu")(randn(1, 2, 8))
    assert calls == ["tanh", "relu"]


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize(
    "activation, reference",
    [("gelu", lambda h: F.gelu(h, approximate="tanh")), ("relu", F.relu)],
)
def test_feed_forward_is_expand_activate_contract(activation, reference, fast):
    torch.manual_seed(0)
    ff = FeedForward(8, 32, activation, fast=fast)
    assert ff.c_fc.weight.shape == (32, 8) and ff.c_proj.weight.shape == (8, 32)
    x = randn(2, 3, 8)
    expected = F.linear(reference(F.linear(x, ff.c_fc.weight, ff.c_fc.bias)), ff.c_proj.weight, ff.c_proj.bias)
    torch.testing.assert_close(ff(x), expected, atol=ATOL, rtol=0)
    assert f"activation='{activation}'" in repr(ff)


def test_feed_forward_parameter_count_matches_keras_tiny_gpt():
    ff = FeedForward(16, 32, "relu")
    assert (ff.c_fc.weight.numel() + ff.c_fc.bias.numel(), ff.c_proj.weight.numel() + ff.c_proj.bias.numel()) == (
        544,
        528,
    )


def test_feed_forward_rejects_unknown_activation():
    with pytest.raises(ValueError, match="'swish'"):
        FeedForward(8, 32, "swish")


def test_block_submodules_have_gpt2_names():
    block = Block(16, 2)
    assert [n for n, _ in block.named_children()] == ["ln_1", "attn", "ln_2", "mlp"]
    assert isinstance(block.attn, MultiHeadAttention) and block.attn.causal
    assert block.mlp.c_fc.out_features == 64  # n_hidden defaults to 4 * n_embd


def test_pre_norm_block_adds_sublayers_to_the_residual_stream():
    torch.manual_seed(0)
    block = Block(16, 2, 32, norm="pre")
    x = randn(2, 5, 16)
    h = x + block.attn(block.ln_1(x))
    expected = h + block.mlp(block.ln_2(h))
    torch.testing.assert_close(block(x), expected, atol=ATOL, rtol=0)


def test_post_norm_block_normalises_after_adding():
    torch.manual_seed(0)
    block = Block(16, 2, 32, norm="post", activation="relu")
    x = randn(2, 5, 16)
    h = block.ln_1(x + block.attn(x))
    expected = block.ln_2(h + block.mlp(h))
    y = block(x)
    torch.testing.assert_close(y, expected, atol=ATOL, rtol=0)
    # a post-norm block's output is LayerNorm output: mean 0 for every token
    torch.testing.assert_close(y.mean(-1), torch.zeros(2, 5), atol=1e-5, rtol=0)


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_block_is_causal_and_keeps_shape(norm):
    torch.manual_seed(0)
    block = Block(16, 4, norm=norm)
    x = randn(1, 6, 16)
    x2 = x.clone()
    x2[:, -1] = 0.0
    y, y2 = block(x), block(x2)
    assert y.shape == x.shape
    torch.testing.assert_close(y[:, :-1], y2[:, :-1], atol=ATOL, rtol=0)


def test_block_fast_path_matches_teaching_path():
    torch.manual_seed(0)
    slow, fast = Block(16, 4), Block(16, 4, fast=True)
    fast.load_state_dict(slow.state_dict())
    x = randn(2, 7, 16)
    torch.testing.assert_close(fast(x), slow(x), atol=ATOL, rtol=0)


def test_block_rejects_unknown_norm():
    with pytest.raises(ValueError, match="'middle'"):
        Block(16, 2, norm="middle")
