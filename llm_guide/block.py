"""Chapter 7: the transformer block, attention plus a feed-forward network.

A block does two things to every position's vector: attention lets it gather
information from earlier positions, then a small two-layer network (the
feed-forward, or MLP) processes what it gathered, each position on its own.
Residual connections add each sub-layer's output to its input instead of
replacing it, and LayerNorm keeps the numbers at a steady scale. Stacking the
same block n_layer times gives the body of a GPT.

Parameter names follow GPT-2 (``ln_1``, ``attn``, ``ln_2``, ``mlp``, ``c_fc``,
``c_proj``) so a GPT-2 state dict loads without renaming.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from llm_guide.activations import gelu, relu
from llm_guide.attention import MultiHeadAttention
from llm_guide.checks import check_choice
from llm_guide.kv_cache import LayerKV

__all__ = ["LayerNorm", "ACTIVATIONS", "FeedForward", "NORMS", "Block"]


# --8<-- [start:layer_norm]
class LayerNorm(nn.Module):
    """Normalise each position's vector to mean 0 and variance 1, then rescale.

    Statistics are taken over the last axis (the C features of one token), so
    every token is normalised on its own, unlike batch norm. ``weight`` (gamma)
    and ``bias`` (beta) are learned: they let the model undo the normalisation
    where that helps. eps keeps the division finite for a constant vector.
    fast=True computes the same thing with PyTorch's fused ``F.layer_norm``.
    """

    def __init__(self, ndim: int, eps: float = 1e-5, bias: bool = True, fast: bool = False) -> None:
        super().__init__()
        self.eps = eps
        self.fast = fast
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., C) -> (..., C)."""
        if self.fast:
            return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)
        centred = x - x.mean(dim=-1, keepdim=True)
        # the biased variance (divide by C, not C - 1), as in the paper and nn.LayerNorm
        var = (centred**2).mean(dim=-1, keepdim=True)
        x_hat = centred / torch.sqrt(var + self.eps)
        y = x_hat * self.weight
        return y + self.bias if self.bias is not None else y


# --8<-- [end:layer_norm]


# --8<-- [start:feed_forward]
ACTIVATIONS = ("gelu", "relu")  # the non-linearities a feed-forward can use


class FeedForward(nn.Module):
    """Expand each position to n_hidden features, apply a non-linearity, contract back.

    The same two linear layers are applied to every position independently:
    attention moves information between tokens, this is where each token
    computes with it. n_hidden is usually 4 * n_embd (GPT-2; the Keras TinyGPT uses 2x).
    The non-linearity is chapter 4's: GELU in the tanh form GPT-2 was trained
    with, or ReLU. fast=True calls PyTorch's fused versions of the same functions.
    """

    def __init__(
        self,
        n_embd: int,
        n_hidden: int,
        activation: Literal["gelu", "relu"] = "gelu",
        bias: bool = True,
        dropout: float = 0.0,
        fast: bool = False,
    ) -> None:
        super().__init__()
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        self.fast = fast
        self.c_fc = nn.Linear(n_embd, n_hidden, bias=bias)  # expand
        self.c_proj = nn.Linear(n_hidden, n_embd, bias=bias)  # contract
        self.dropout = nn.Dropout(dropout)

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}"  # shown by print(model)

    def act(self, x: torch.Tensor) -> torch.Tensor:
        """The non-linearity between the two layers, elementwise."""
        if self.activation == "relu":
            return torch.relu(x) if self.fast else relu(x)
        # GPT-2's weights expect the tanh approximation, so matching its logits needs it too
        return F.gelu(x, approximate="tanh") if self.fast else gelu(x, approximate="tanh")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))


# --8<-- [end:feed_forward]


# --8<-- [start:block]
NORMS = ("pre", "post")  # where a block puts its LayerNorms


class Block(nn.Module):
    """One transformer block: causal self-attention, then feed-forward, each with a residual.

    norm="pre" (GPT-2, and most models since): normalise the input of each
    sub-layer and add its output to an untouched residual stream,
        x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
    The stream is a clean sum, so gradients reach early layers easily, and deep
    stacks train without warm-up tricks. (GPT-2 then needs one final LayerNorm,
    ``ln_f``, before the output head.)

    norm="post" (the original 2017 paper, the Keras TinyGPT): normalise after adding,
        x = ln_1(x + attn(x));  x = ln_2(x + mlp(x))

    fast=True runs every part on PyTorch's fused kernels: the same module tree
    and weights, the same numbers up to float rounding.
    """

    def __init__(
        self,
        n_embd: int,
        n_head: int,
        n_hidden: int | None = None,
        *,
        norm: Literal["pre", "post"] = "pre",
        activation: Literal["gelu", "relu"] = "gelu",
        bias: bool = True,
        dropout: float = 0.0,
        mlp: bool = True,
        fast: bool = False,
    ) -> None:
        super().__init__()
        self.norm = check_choice(norm, "norm", NORMS)
        self.ln_1 = LayerNorm(n_embd, bias=bias, fast=fast)
        self.attn = MultiHeadAttention(n_embd, n_head, bias=bias, dropout=dropout, causal=True, fast=fast)
        # mlp=False leaves the feed-forward out: an attention-only block (chapter 10)
        self.ln_2 = LayerNorm(n_embd, bias=bias, fast=fast) if mlp else None
        self.mlp = (
            FeedForward(n_embd, n_hidden or 4 * n_embd, activation, bias=bias, dropout=dropout, fast=fast)
            if mlp
            else None
        )

    def extra_repr(self) -> str:
        return f"norm={self.norm!r}"

    def forward(self, x: torch.Tensor, cache: LayerKV | None = None) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C). ``cache`` is handed to the attention (chapter 12)."""
        if self.norm == "pre":
            x = x + self.attn(self.ln_1(x), cache)
            if self.mlp is not None:
                x = x + self.mlp(self.ln_2(x))
        else:
            x = self.ln_1(x + self.attn(x, cache))
            if self.mlp is not None:
                x = self.ln_2(x + self.mlp(x))
        return x


# --8<-- [end:block]
