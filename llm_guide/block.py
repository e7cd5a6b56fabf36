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

import math
from typing import Callable, Literal

import torch
import torch.nn as nn

from llm_guide.attention import MultiHeadAttention

__all__ = ["LayerNorm", "gelu", "ACTIVATIONS", "FeedForward", "Block"]


# --8<-- [start:layer_norm]
class LayerNorm(nn.Module):
    """Normalise each position's vector to mean 0 and variance 1, then rescale.

    Statistics are taken over the last axis (the C features of one token), so
    every token is normalised on its own, unlike batch norm. ``weight`` (gamma)
    and ``bias`` (beta) are learned: they let the model undo the normalisation
    where that helps. eps keeps the division finite for a constant vector.
    """

    def __init__(self, ndim: int, eps: float = 1e-5, bias: bool = True) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., C) -> (..., C)."""
        mean = x.mean(dim=-1, keepdim=True)
        # the biased variance (divide by C, not C - 1), as in the paper and nn.LayerNorm
        var = x.var(dim=-1, keepdim=True, unbiased=False)
        x_hat = (x - mean) / torch.sqrt(var + self.eps)
        y = x_hat * self.weight
        return y + self.bias if self.bias is not None else y
# --8<-- [end:layer_norm]


# --8<-- [start:gelu]
def gelu(x: torch.Tensor) -> torch.Tensor:
    """GELU, in the tanh approximation GPT-2 was trained with (Hendrycks and Gimpel, 2016).

    Like ReLU for large |x|, but smooth around 0 and slightly negative just
    below it. The exact GELU uses erf; GPT-2's weights expect this formula, so
    matching Hugging Face's logits needs it too.
    """
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gelu": gelu,
    "relu": torch.relu,
}
# --8<-- [end:gelu]


# --8<-- [start:feed_forward]
class FeedForward(nn.Module):
    """Expand each position to n_hidden features, apply a non-linearity, contract back.

    The same two linear layers are applied to every position independently:
    attention moves information between tokens, this is where each token
    computes with it. n_hidden is usually 4 * n_embd (GPT-2; the Keras TinyGPT uses 2x).
    """

    def __init__(
        self,
        n_embd: int,
        n_hidden: int,
        activation: Literal["gelu", "relu"] = "gelu",
        bias: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, not {activation!r}")
        self.c_fc = nn.Linear(n_embd, n_hidden, bias=bias)  # expand
        self.activation = activation
        self.act = ACTIVATIONS[activation]
        self.c_proj = nn.Linear(n_hidden, n_embd, bias=bias)  # contract
        self.dropout = nn.Dropout(dropout)

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}"  # shown by print(model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))
# --8<-- [end:feed_forward]


# --8<-- [start:block]
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
        fast_attention: bool = False,
        mlp: bool = True,
    ) -> None:
        super().__init__()
        if norm not in ("pre", "post"):
            raise ValueError(f"norm must be 'pre' (GPT-2) or 'post' (original transformer), not {norm!r}")
        self.norm = norm
        self.ln_1 = LayerNorm(n_embd, bias=bias)
        self.attn = MultiHeadAttention(n_embd, n_head, bias=bias, dropout=dropout, causal=True, fast=fast_attention)
        # mlp=False leaves the feed-forward out: an attention-only block (chapter 10)
        self.ln_2 = LayerNorm(n_embd, bias=bias) if mlp else None
        self.mlp = FeedForward(n_embd, n_hidden or 4 * n_embd, activation, bias=bias, dropout=dropout) if mlp else None

    def extra_repr(self) -> str:
        return f"norm={self.norm!r}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        if self.norm == "pre":
            x = x + self.attn(self.ln_1(x))
            if self.mlp is not None:
                x = x + self.mlp(self.ln_2(x))
        else:
            x = self.ln_1(x + self.attn(x))
            if self.mlp is not None:
                x = self.ln_2(x + self.mlp(x))
        return x
# --8<-- [end:block]
