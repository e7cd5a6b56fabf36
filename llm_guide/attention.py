"""Chapter 6: attention, the one place where tokens look at each other.

Every token makes three vectors from its embedding: a query ("what am I looking
for?"), a key ("what do I contain?") and a value ("what do I hand over if you
pick me?"). A token's output is an average of all the values, weighted by how
well its query matches each key. In a GPT the average only runs over earlier
tokens (the causal mask), so the model can be trained to predict the next token
without seeing it.

The module builds this up in the order the chapter does: softmax, the causal
mask, attention written out in NumPy, the same in PyTorch, and finally
multi-head attention laid out exactly like GPT-2's.

Shapes follow nanoGPT: B batch size, T sequence length (time), C embedding
width (channels), nh number of heads, hs head size (C // nh).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from llm_guide.checks import check_int
from llm_guide.kv_cache import LayerKV

__all__ = [
    "softmax",
    "softmax_numpy",
    "causal_mask",
    "attention_numpy",
    "scaled_dot_product_attention",
    "head_size",
    "MultiHeadAttention",
    "attention_maps",
]


# --8<-- [start:softmax]
def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Turn scores into probabilities along ``dim``: exp(x_i) / sum_j exp(x_j).

    Subtracting the maximum first changes nothing mathematically (it cancels
    between numerator and denominator) but keeps exp() from overflowing: the
    largest exponent becomes exp(0) = 1. It also makes -inf entries (masked
    positions) come out as exactly 0.
    """
    # softmax(x - c) == softmax(x) for any constant c, so the shift needs no
    # gradient: detach() keeps backpropagation from differentiating the max
    x = x - x.amax(dim=dim, keepdim=True).detach()
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)


# --8<-- [end:softmax]


# --8<-- [start:softmax_numpy]
def softmax_numpy(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """The same numerically stable softmax, in NumPy."""
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


# --8<-- [end:softmax_numpy]


# --8<-- [start:causal_mask]
def causal_mask(T: int, device: torch.device | str | None = None, past: int = 0) -> torch.Tensor:
    """A (T, T) boolean matrix: entry [i, j] is True when position i may attend to j.

    Lower triangular: token i sees itself and every earlier token, never a later
    one. During training all T positions are predicted at once, so without this
    mask position i could simply read the answer (token i + 1) off its neighbour.
    With past > 0 (chapter 12's key-value cache) the T tokens follow ``past`` earlier
    ones, which every one of them may see: the mask is (T, past + T), the last T
    rows of causal_mask(past + T).
    """
    return torch.tril(torch.ones(T, past + T, dtype=torch.bool, device=device), diagonal=past)


# --8<-- [end:causal_mask]


# --8<-- [start:attention_numpy]
def attention_numpy(q: np.ndarray, k: np.ndarray, v: np.ndarray, causal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Scaled dot-product attention, one step per line, in NumPy.

    q, k: (..., T, d); v: (..., T, d_v). Returns (out (..., T, d_v), weights (..., T, T)).
    """
    d = q.shape[-1]
    # 1. how well each query matches each key: one dot product per (i, j) pair
    scores = q @ np.swapaxes(k, -1, -2)  # (..., T, T)
    # 2. dot products of d-dimensional vectors grow like sqrt(d); dividing keeps the
    #    softmax out of its flat, saturated region however wide the head is
    scores = scores / np.sqrt(d)
    # 3. forbid looking ahead: -inf becomes a weight of exactly 0 after softmax
    if causal:
        T = scores.shape[-1]
        allowed = np.tril(np.ones((T, T), dtype=bool))  # causal_mask below, in NumPy
        scores = np.where(allowed, scores, -np.inf)
    # 4. each row becomes a probability distribution over the positions it may see
    weights = softmax_numpy(scores, axis=-1)
    # 5. each output is the weighted average of the value vectors
    out = weights @ v  # (..., T, d_v)
    return out, weights


# --8<-- [end:attention_numpy]


# --8<-- [start:scaled_dot_product_attention]
def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool = False,
    mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q @ k^T / sqrt(d) + mask) @ v, written out.

    q: (..., T, d), k: (..., S, d), v: (..., S, d_v); usually S == T (self-attention).
    mask: optional boolean tensor broadcastable to (..., T, S), True = may attend
    (the same convention as ``torch.nn.functional.scaled_dot_product_attention``).
    causal=True adds the causal mask on top. dropout_p drops attention weights
    (training only; the caller decides, as with PyTorch's function).
    Returns (out (..., T, d_v), weights (..., T, S)); the weights are taken
    before dropout, so they are what you plot.
    """
    if mask is not None and mask.dtype != torch.bool:
        raise ValueError(f"mask must be a boolean tensor (True = may attend), got dtype {mask.dtype}")
    d = q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (..., T, S)
    if causal:
        T, S = scores.shape[-2:]
        if S != T:
            raise ValueError(
                f"causal=True needs as many keys as queries (self-attention), got {T} queries and {S} keys; "
                "pass a boolean mask= of shape (T, S) instead"
            )
        scores = scores.masked_fill(~causal_mask(T, device=q.device), float("-inf"))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = softmax(scores, dim=-1)  # (..., T, S): each row sums to 1
    dropped = F.dropout(weights, p=dropout_p) if dropout_p > 0 else weights
    return dropped @ v, weights


# --8<-- [end:scaled_dot_product_attention]


# --8<-- [start:multi_head_attention]
def head_size(n_embd: int, n_head: int) -> int:
    """hs = n_embd // n_head, the width of one head; raises ValueError unless n_head divides n_embd."""
    check_int(n_embd, "n_embd")
    check_int(n_head, "n_head")
    if n_embd % n_head != 0:
        divisors = [h for h in range(1, min(n_embd, 64) + 1) if n_embd % h == 0]
        raise ValueError(
            f"n_embd={n_embd} must be divisible by n_head={n_head}, since each head gets an equal "
            f"n_embd // n_head slice of the channels; n_head could be one of {divisors}"
        )
    return n_embd // n_head


# --8<-- [start:multi_head_attention_class]
class MultiHeadAttention(nn.Module):
    """Multi-head self-attention with GPT-2's layout and parameter names.

    One fused linear layer ``c_attn`` makes queries, keys and values for all
    heads at once (C -> 3C); each of the nh heads attends in its own hs = C/nh
    dimensional slice; the heads' outputs are concatenated back to C and mixed
    by ``c_proj`` (C -> C). Several small heads can each follow a different
    relation (the previous token, the same letter, ...) for the cost of one big one.

    causal=True (the GPT setting) lets each position see only itself and the
    past. The default runs the written-out attention above; fast=True calls
    PyTorch's fused ``F.scaled_dot_product_attention`` instead (the same numbers,
    the same weights, in one kernel that never stores the (T, T) matrix).

    To look at the attention pattern, set ``store_attn = True``: each forward
    then keeps its weights, (B, nh, T, T), in ``last_attn`` (and uses the
    written-out path, since the fused kernel never materialises them).
    """

    # --8<-- [end:multi_head_attention_class]

    def __init__(
        self,
        n_embd: int,
        n_head: int,
        bias: bool = True,
        dropout: float = 0.0,
        causal: bool = True,
        fast: bool = False,
    ) -> None:
        super().__init__()
        head_size(n_embd, n_head)  # fail here, with the fix, not in a view() below
        self.n_embd = n_embd
        self.n_head = n_head
        self.causal = causal
        self.fast = fast
        self.dropout = dropout
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)  # q, k, v for all heads
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)  # mixes the heads' outputs
        self.resid_dropout = nn.Dropout(dropout)
        self.store_attn = False
        self.last_attn: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, cache: LayerKV | None = None) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C). ``cache``: chapter 12's keys and values of earlier tokens."""
        B, T, C = x.shape
        nh, hs = self.n_head, C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)  # 3 x (B, T, C)
        # split the channels into heads and move the head axis next to the batch axis,
        # so every head is an independent attention problem: (B, nh, T, hs)
        q = q.view(B, T, nh, hs).transpose(1, 2)
        k = k.view(B, T, nh, hs).transpose(1, 2)
        v = v.view(B, T, nh, hs).transpose(1, 2)
        causal, mask = self.causal, None
        if cache is not None:
            # generating (chapter 12): keys and values of the S - T earlier tokens come from
            # the cache, so k, v: (B, nh, S, hs); the T new tokens may see all of those
            k, v = cache.update(k, v)
            if self.causal and k.size(2) > T:
                causal, mask = False, causal_mask(T, device=x.device, past=k.size(2) - T)
        dropout_p = self.dropout if self.training else 0.0
        if self.fast and not self.store_attn:
            # same maths in one fused kernel that never stores the (T, T) weights
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=causal)
        else:
            y, weights = scaled_dot_product_attention(q, k, v, causal=causal, mask=mask, dropout_p=dropout_p)
            if self.store_attn:
                self.last_attn = weights.detach()
        # merge the heads: (B, nh, T, hs) -> (B, T, nh, hs) -> (B, T, C)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))

    # --8<-- [end:multi_head_attention]

    # --8<-- [start:multi_head_attention_torch]
    @classmethod
    def from_torch(cls, mha: nn.MultiheadAttention, causal: bool = False) -> "MultiHeadAttention":
        """A MultiHeadAttention with the same weights as a ``torch.nn.MultiheadAttention``.

        PyTorch stacks W_q, W_k, W_v into one (3C, C) ``in_proj_weight`` in the
        same order as ``c_attn.weight``, and splits heads the same way, so the
        copy is direct. Feed the PyTorch module batch-first input to compare.
        """
        if not mha._qkv_same_embed_dim or mha.bias_k is not None or mha.add_zero_attn:
            raise ValueError(
                "only plain self-attention can be copied: kdim == vdim == embed_dim, "
                "add_bias_kv=False, add_zero_attn=False"
            )
        bias = mha.in_proj_bias is not None
        new = cls(mha.embed_dim, mha.num_heads, bias=bias, dropout=mha.dropout, causal=causal)
        with torch.no_grad():
            new.c_attn.weight.copy_(mha.in_proj_weight)
            new.c_proj.weight.copy_(mha.out_proj.weight)
            if bias:
                new.c_attn.bias.copy_(mha.in_proj_bias)
                new.c_proj.bias.copy_(mha.out_proj.bias)
        return new.to(mha.in_proj_weight)  # same device and dtype

    def to_torch(self) -> nn.MultiheadAttention:
        """A batch-first ``torch.nn.MultiheadAttention`` with this module's weights.

        PyTorch's module has no built-in causal flag: pass
        ``attn_mask=~causal_mask(T)`` (its boolean masks mean True = blocked).
        """
        bias = self.c_attn.bias is not None
        mha = nn.MultiheadAttention(
            self.n_embd,
            self.n_head,
            dropout=self.dropout,
            bias=bias,
            batch_first=True,
            device=self.c_attn.weight.device,
        )
        with torch.no_grad():
            mha.in_proj_weight.copy_(self.c_attn.weight)
            mha.out_proj.weight.copy_(self.c_proj.weight)
            if bias:
                mha.in_proj_bias.copy_(self.c_attn.bias)
                mha.out_proj.bias.copy_(self.c_proj.bias)
        return mha

    # --8<-- [end:multi_head_attention_torch]


# --8<-- [start:attention_maps]
@torch.no_grad()
def attention_maps(model: nn.Module, idx: torch.Tensor) -> list[torch.Tensor]:
    """Run ``model(idx)`` once and return every attention layer's weights, in order.

    Each entry is (B, nh, T, T): row i of head h says how much position i drew
    on each earlier position. The model's mode and flags are left as they were.
    """
    layers = [m for m in model.modules() if isinstance(m, MultiHeadAttention)]
    was_training = model.training
    model.eval()  # dropout off: plot the pattern the model actually uses
    try:
        for m in layers:
            m.store_attn = True
        model(idx)
        return [m.last_attn for m in layers]
    finally:
        for m in layers:
            m.store_attn = False
            m.last_attn = None
        model.train(was_training)


# --8<-- [end:attention_maps]
