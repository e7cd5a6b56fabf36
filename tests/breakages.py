"""Chapter functions broken on purpose, one at a time: a pytest plugin for tests/test_one_source.py.

With ``LLM_GUIDE_BREAK=<name>`` set, loading this plugin (``pytest -p tests.breakages``)
replaces the body of one function the chapters show with a plausible bug, before any
test runs. The body is swapped in place (``__code__``), so every module that imported
the function, and every model built from it, runs the broken version. If the model
kept a copy of its own somewhere, the copy would stay correct and the model's tests
would pass: that is what the test calling this plugin rules out.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# Each broken body runs with the globals of the module it replaces (torch, math, F are there).


def _embedding_without_positions(self, idx, start=0):  # TokenAndPositionEmbedding.forward
    check_token_ids(idx, self.wte.num_embeddings)  # noqa: F821
    return self.wte(idx)  # forgot to add the position vectors


def _gelu_without_cubic_term(x, approximate="none"):  # activations.gelu
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * x))  # noqa: F821


def _softmax_over_wrong_axis(x, dim=-1):  # attention.softmax
    e = torch.exp(x - x.amax(dim=dim, keepdim=True).detach())  # noqa: F821
    return e / e.sum(dim=dim - 1, keepdim=True)  # normalises columns, not rows


def _mask_that_lets_the_future_in(T, device=None, past=0):  # attention.causal_mask
    return torch.ones(T, past + T, dtype=torch.bool, device=device)  # noqa: F821


def _layer_norm_with_unbiased_variance(self, x):  # LayerNorm.forward
    centred = x - x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True, unbiased=True)  # divides by C - 1
    y = centred / torch.sqrt(var + self.eps) * self.weight  # noqa: F821
    return y + self.bias if self.bias is not None else y


def _attention_without_scaling(q, k, v, causal=False, mask=None, dropout_p=0.0):  # scaled_dot_product_attention
    scores = q @ k.transpose(-2, -1)  # forgot / sqrt(d)
    if causal:
        scores = scores.masked_fill(~causal_mask(scores.size(-1), device=q.device), float("-inf"))  # noqa: F821
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = softmax(scores, dim=-1)  # noqa: F821
    return weights @ v, weights


def _rms_norm_that_centres(self, x):  # llama.RMSNorm.forward
    x = x - x.mean(dim=-1, keepdim=True)  # LayerNorm's centring, which RMSNorm leaves out
    return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + self.eps) * self.weight  # noqa: F821


def _rotary_pairing_neighbours(x, cos, sin):  # llama.apply_rotary
    a, b = x[..., 0::2], x[..., 1::2]  # the paper's pairs, but the weights are in Hugging Face's layout
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)  # noqa: F821


def _silu_that_returns_the_gate(x):  # llama.silu
    return sigmoid(x)  # forgot to multiply by x  # noqa: F821


def _sigmoid_of_minus_x(x):  # activations.sigmoid
    return 1.0 / (1.0 + torch.exp(x))  # lost the minus sign: sigmoid(-x)  # noqa: F821


def _sinusoidal_table_with_sin_and_cos_swapped(T, C, base=10000.0, dtype=None):  # embeddings.sinusoidal_positions
    w = _frequencies(C, base)  # noqa: F821
    angles = torch.arange(T, dtype=torch.float64)[:, None] * w[None, :]  # noqa: F821
    pe = torch.empty(T, C, dtype=torch.float64)  # noqa: F821
    pe[:, 0::2] = torch.cos(angles)  # noqa: F821
    pe[:, 1::2] = torch.sin(angles)  # noqa: F821
    return pe.to(dtype)


def _targets() -> dict[str, tuple[Callable, Callable]]:
    from llm_guide import activations, attention, block, embeddings, llama

    return {
        "embedding lookup": (embeddings.TokenAndPositionEmbedding.forward, _embedding_without_positions),
        "gelu": (activations.gelu, _gelu_without_cubic_term),
        "softmax": (attention.softmax, _softmax_over_wrong_axis),
        "causal_mask": (attention.causal_mask, _mask_that_lets_the_future_in),
        "LayerNorm": (block.LayerNorm.forward, _layer_norm_with_unbiased_variance),
        "attention step": (attention.scaled_dot_product_attention, _attention_without_scaling),
        "RMSNorm": (llama.RMSNorm.forward, _rms_norm_that_centres),
        "rotary": (llama.apply_rotary, _rotary_pairing_neighbours),
        "silu": (llama.silu, _silu_that_returns_the_gate),
        "sigmoid": (activations.sigmoid, _sigmoid_of_minus_x),
        "sinusoidal table": (embeddings.sinusoidal_positions, _sinusoidal_table_with_sin_and_cos_swapped),
    }


# What the GPT is built from: breaking any of these must fail tests/test_model.py.
NAMES = ("embedding lookup", "gelu", "softmax", "causal_mask", "LayerNorm", "attention step")
# What chapter 12's Llama is built from: breaking any of these must change its logits.
LLAMA_NAMES = ("softmax", "causal_mask", "attention step", "RMSNorm", "rotary", "silu", "sigmoid", "sinusoidal table")


@contextmanager
def broken(name: str) -> Iterator[None]:
    """Run the ``with`` block with chapter function ``name`` broken, then mend it."""
    original, bad = _targets()[name]
    code = original.__code__
    original.__code__ = bad.__code__
    try:
        yield
    finally:
        original.__code__ = code


def pytest_configure(config) -> None:
    name = os.environ.get("LLM_GUIDE_BREAK")
    if not name:
        return
    targets = _targets()
    if name not in targets:
        raise ValueError(f"LLM_GUIDE_BREAK={name!r} is not one of {list(targets)}")
    original, broken = targets[name]
    original.__code__ = broken.__code__
