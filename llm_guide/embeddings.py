"""Chapters 4 and 5: token embeddings and positional encodings.

Attention on its own treats its input as a set: shuffle the tokens and every
token gets the same output, just shuffled. "dog bites man" and "man bites dog"
would look alike. So before the first block, each token's vector gets a vector
for its position added to it. GPT learns one vector per position (an
``nn.Embedding`` of size block_size x C); the original transformer used fixed
sine and cosine waves, built here together with the property that made them
attractive: moving k positions along is the same linear map wherever you start.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn as nn

from llm_guide.checks import check_choice

__all__ = ["sinusoidal_positions", "offset_matrix", "check_token_ids", "TokenAndPositionEmbedding"]


# --8<-- [start:sinusoidal_positions]
def _frequencies(C: int, base: float) -> torch.Tensor:
    """The C/2 angular frequencies w_i = base^(-2i/C), from 1 down to nearly 1/base (float64)."""
    if C <= 0 or C % 2 != 0:
        raise ValueError(f"C={C} must be a positive even number: sines and cosines come in pairs")
    return base ** (-torch.arange(0, C, 2, dtype=torch.float64) / C)


def sinusoidal_positions(T: int, C: int, base: float = 10000.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The (T, C) sinusoidal encoding of Vaswani et al. (2017), one row per position.

        PE[p, 2i]     = sin(p * w_i)
        PE[p, 2i + 1] = cos(p * w_i),    w_i = base^(-2i / C)

    Each pair of columns is a clock hand turning at its own speed: the first
    pairs change every position, the last ones barely move over thousands, so
    together they give every position a distinct, smoothly varying code.
    """
    w = _frequencies(C, base)  # (C/2,)
    angles = torch.arange(T, dtype=torch.float64)[:, None] * w[None, :]  # (T, C/2)
    pe = torch.empty(T, C, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe.to(dtype)  # computed in float64 so large positions stay accurate


# --8<-- [end:sinusoidal_positions]


# --8<-- [start:offset_matrix]
def offset_matrix(k: int, C: int, base: float = 10000.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The (C, C) matrix M_k with PE[p + k] = M_k @ PE[p] for every position p.

    By the angle-addition formulas, each (sin, cos) pair at position p + k is the
    pair at p rotated by the angle k * w_i:
        sin((p+k)w) =  cos(kw) sin(pw) + sin(kw) cos(pw)
        cos((p+k)w) = -sin(kw) sin(pw) + cos(kw) cos(pw)
    so M_k is block diagonal with one 2x2 rotation per frequency, and it does not
    depend on p. A layer can therefore learn "look k tokens back" once, for all
    positions. For a whole table, ``pe[k:] == pe[:-k] @ M_k.T``.
    """
    w = _frequencies(C, base)
    cos, sin = torch.cos(k * w), torch.sin(k * w)
    M = torch.zeros(C, C, dtype=torch.float64)
    M[0::2, 0::2] = torch.diag(cos)
    M[0::2, 1::2] = torch.diag(sin)
    M[1::2, 0::2] = torch.diag(-sin)
    M[1::2, 1::2] = torch.diag(cos)
    return M.to(dtype)


# --8<-- [end:offset_matrix]


# --8<-- [start:token_and_position_embedding]
def check_token_ids(ids: Any, vocab_size: int, name: str = "idx") -> None:
    """Fail early, with the fix, instead of with an index error deep inside the lookup."""
    if not isinstance(ids, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of token ids, got {type(ids).__name__}; use torch.tensor(...)")
    if ids.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"{name} must hold integer token ids (torch.long), got dtype {ids.dtype}; use {name}.long()")
    if ids.numel() == 0:
        raise ValueError(f"{name} has shape {tuple(ids.shape)}: give at least one token per sequence")
    if ids.device.type != "meta":  # a meta tensor has a shape but no values to check
        lo, hi = int(ids.min()), int(ids.max())
        if lo < 0 or hi >= vocab_size:
            raise ValueError(
                f"{name} contains token id {lo if lo < 0 else hi}, outside [0, {vocab_size}) for "
                f"vocab_size={vocab_size}; encode with the tokenizer the model was built for"
            )


class TokenAndPositionEmbedding(nn.Module):
    """Token ids (B, T) -> vectors (B, T, C): a token's embedding plus its position's.

    positions="learned" (GPT): ``wpe`` is a trainable table with one row per
    position, so a model can never read past block_size positions.
    positions="sinusoidal" (the original transformer): a fixed table, stored as
    a buffer, not a parameter, so it is saved with the model but never trained.
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int,
        n_embd: int,
        positions: Literal["learned", "sinusoidal"] = "learned",
    ) -> None:
        super().__init__()
        check_choice(positions, "positions", ("learned", "sinusoidal"))
        self.block_size = block_size
        self.wte = nn.Embedding(vocab_size, n_embd)  # token embedding: one row per token id
        if positions == "learned":
            self.wpe = nn.Embedding(block_size, n_embd)
        else:
            self.register_buffer("pe", sinusoidal_positions(block_size, n_embd))

    def position_table(self) -> torch.Tensor:
        """The (block_size, C) table of position vectors, learned or fixed."""
        return self.wpe.weight if hasattr(self, "wpe") else self.pe

    def forward(self, idx: torch.Tensor, start: int = 0) -> torch.Tensor:
        """idx: (B, T) integer ids at positions start, ..., start + T - 1 -> (B, T, C).

        start > 0 is for chapter 12's key-value cache: idx holds only the newest
        tokens, and the start earlier ones are already in the cache.
        """
        check_token_ids(idx, self.wte.num_embeddings)
        T = idx.size(-1)
        if start + T > self.block_size:
            bs = self.block_size
            raise ValueError(
                f"sequence of length {start + T} is longer than the context length block_size={bs}: there are only "
                f"{bs} position vectors; crop to the last {bs} tokens (idx[..., -{bs}:])"
            )
        # (B, T, C) + (T, C): the same position vectors are added to every sequence in the batch
        return self.wte(idx) + self.position_table()[start : start + T]


# --8<-- [end:token_and_position_embedding]
