"""Chapter 7: generation, one token at a time.

A GPT only ever answers one question: given these tokens, how likely is each
possible next token? Generating text is asking it repeatedly: pick a token from
the last position's distribution, append it, ask again. How the token is picked
is the decoding strategy:

- greedy: always the most likely token (deterministic; tends to repeat itself);
- temperature: divide the logits by T before softmax; T < 1 sharpens the
  distribution towards greedy, T > 1 flattens it towards uniform;
- top-k: sample only among the k most likely tokens;
- top-p (nucleus): sample only among the smallest set of most likely tokens
  whose probabilities add up to at least p.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from llm_guide.checks import check_int, check_sampling
from llm_guide.embeddings import check_token_ids
from llm_guide.kv_cache import KVCache

__all__ = ["next_token_distribution", "generate"]


# --8<-- [start:next_token_distribution]
def next_token_distribution(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> torch.Tensor:
    """Turn one position's logits (V,) into the probabilities (V,) sampling draws from.

    Works on any (..., V) too, row by row. Applied in the order temperature,
    top-k, top-p (as Hugging Face does); tokens that are cut get probability 0
    and the rest are renormalised to sum to 1.
    """
    check_sampling(temperature, top_k, top_p)
    logits = logits / temperature
    if top_k is not None and top_k < logits.size(-1):
        kth_largest = torch.topk(logits, top_k, dim=-1).values[..., -1:]  # (..., 1)
        # ties with the k-th value survive too: there is no fair way to choose among them
        logits = logits.masked_fill(logits < kth_largest, float("-inf"))
    if top_p is not None and top_p < 1.0:  # p = 1 keeps everything; skip the rounding risk
        probs = torch.softmax(logits, dim=-1)
        sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
        # a token is cut if the tokens ranked above it already reach top_p,
        # so the most likely token always stays
        mass_before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
        cut_sorted = mass_before >= top_p
        cut = cut_sorted.scatter(-1, order, cut_sorted)  # back to vocabulary order
        logits = logits.masked_fill(cut, float("-inf"))
    return torch.softmax(logits, dim=-1)


# --8<-- [end:next_token_distribution]


# --8<-- [start:generate]
@torch.no_grad()
def generate(
    model: nn.Module,
    idx: torch.Tensor,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    greedy: bool = False,
    generator: torch.Generator | None = None,
    kv_cache: bool = False,
) -> torch.Tensor:
    """Extend each sequence in idx (B, T) by max_new_tokens; returns (B, T + max_new_tokens).

    ``model`` is a GPT (or chapter 12's Llama). It has only block_size positions, so
    it reads at most the last block_size tokens: a longer prompt, or one that grows
    past the context while generating, is cropped from the left and the oldest
    tokens are simply forgotten. greedy=True takes the argmax and ignores the
    sampling settings; otherwise pass a seeded ``torch.Generator`` for reproducible
    samples. kv_cache=True (chapter 12) keeps every layer's keys and values, so each
    step runs the model on the newest token only: the same tokens, less work.
    The model runs in eval mode (no dropout) and gets its old mode back afterwards.
    """
    if not greedy:
        check_sampling(temperature, top_k, top_p)
    check_int(max_new_tokens, "max_new_tokens", minimum=0)
    if not isinstance(idx, torch.Tensor) or idx.ndim != 2:
        shape = tuple(idx.shape) if isinstance(idx, torch.Tensor) else type(idx).__name__
        raise ValueError(f"idx must be a (B, T) tensor of token ids, got {shape}; for one prompt use idx.unsqueeze(0)")
    # checked here too, not only by the model: with max_new_tokens=0 the model never runs
    check_token_ids(idx, model.config.vocab_size, "idx")
    block_size = model.config.block_size
    cache = None
    was_training = model.training
    model.eval()
    try:
        for _ in range(max_new_tokens):
            if not kv_cache:
                logits, _ = model(idx[:, -block_size:])  # the whole context, every step
            elif cache is not None and cache.length < block_size:
                # the keys and values of every earlier token are cached: run only the newest
                logits, _ = model(idx[:, -1:], cache=cache)
            else:
                # the first step, or the context is full (cropping shifts every position by
                # one, so nothing cached still holds): read the context into a new cache
                cache = KVCache(model.config.n_layer, block_size)
                logits, _ = model(idx[:, -block_size:], cache=cache)
            last = logits[:, -1, :]  # (B, V): only the last position predicts a new token
            if greedy:
                next_id = last.argmax(dim=-1, keepdim=True)  # (B, 1)
            else:
                probs = next_token_distribution(last, temperature, top_k, top_p)
                next_id = torch.multinomial(probs, num_samples=1, generator=generator)  # (B, 1)
            idx = torch.cat([idx, next_id.to(idx.dtype)], dim=1)
    finally:
        model.train(was_training)
    return idx


# --8<-- [end:generate]
