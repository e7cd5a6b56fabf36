"""Chapter 12: the key-value cache, or why generation need not reread the whole text.

Chapter 7's generation loop runs the model on the whole context for every new
token, so step t recomputes the keys and values of all t earlier tokens. They
never change: in a causal model an earlier token never sees a later one, so its
key and value at every layer are the same whatever follows it. A KV cache keeps
them, one pair of tensors per attention layer; every step after the first then
runs the model on the one new token only, whose query attends to all the cached
keys. The tokens that come out are the same; the work per token stops growing
with the length of the text, apart from the attention over the cached keys.

The attention layers (``MultiHeadAttention``, ``GroupedQueryAttention``) take a
``LayerKV``; the models (``GPT``, ``Llama``) take a ``KVCache`` holding one per layer.
"""

from __future__ import annotations

import torch

from llm_guide.checks import check_int

__all__ = ["LayerKV", "KVCache", "kv_cache_numbers"]


# --8<-- [start:kv_cache]
class LayerKV:
    """One attention layer's keys and values for every token it has read so far.

    ``k`` and ``v`` are (B, n_kv, S, hs) after S tokens (n_kv key/value heads of
    hs channels each), None before the first token.
    """

    def __init__(self) -> None:
        self.k: torch.Tensor | None = None
        self.v: torch.Tensor | None = None

    @property
    def length(self) -> int:
        """S, the number of tokens whose keys and values are held."""
        return 0 if self.k is None else self.k.size(-2)

    def update(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append the T new tokens' k, v (B, n_kv, T, hs); return all S + T of them."""
        if self.k is None:
            self.k, self.v = k, v
        else:
            # along the time axis: the new tokens come after the ones already held
            self.k = torch.cat([self.k, k], dim=-2)
            self.v = torch.cat([self.v, v], dim=-2)
        return self.k, self.v


class KVCache:
    """Everything a model has computed that the next token needs: one ``LayerKV`` per layer.

    A model has a position for at most ``block_size`` tokens, and so does its
    cache: ``next_position`` refuses tokens that would not fit.
    """

    def __init__(self, n_layer: int, block_size: int) -> None:
        check_int(n_layer, "n_layer")
        check_int(block_size, "block_size")
        self.block_size = block_size
        self.layers = [LayerKV() for _ in range(n_layer)]

    @property
    def length(self) -> int:
        """How many tokens are cached (every layer holds the same number)."""
        return self.layers[0].length

    def next_position(self, T: int) -> int:
        """The position of the first of T new tokens (the number cached), once all T are known to fit."""
        if self.length + T > self.block_size:
            raise ValueError(
                f"the cache holds {self.length} tokens and {T} more would make {self.length + T}, beyond the "
                f"context length block_size={self.block_size}; start a new cache from the last "
                f"{self.block_size} tokens (generate(..., kv_cache=True) does)"
            )
        return self.length


# --8<-- [end:kv_cache]


# --8<-- [start:kv_cache_numbers]
def kv_cache_numbers(n_layer: int, n_kv_head: int, head_size: int, tokens: int = 1) -> int:
    """How many numbers a KV cache holds for ``tokens`` tokens of one sequence.

    Every layer keeps a key and a value, hs numbers each, for each of its n_kv_head
    key/value heads: 2 * n_layer * n_kv_head * hs per token. Multiply by the bytes of
    one number (2 in bfloat16) for the memory.
    """
    return 2 * n_layer * n_kv_head * head_size * tokens


# --8<-- [end:kv_cache_numbers]
