"""Chapter 10: in-context learning, and the induction heads behind it.

Training changes a model's weights; using it does not. Whatever a model picks
up from a prompt, it picks up with fixed weights, by what its attention reads
from the context. This module has the pieces the chapter runs:

* ``weights_fingerprint``: a hash of every weight, to show that generating text
  leaves them exactly as they were;
* a few-shot task (two rules for turning one letter into another) and the
  batches a small GPT learns it from;
* the induction-head experiment of Olsson et al. (2022): random segments of
  distinct tokens, repeated, learned by attention-only transformers; plus the
  measurements that tell a model that copies from context from one that guesses.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn as nn

from llm_guide.attention import causal_mask
from llm_guide.checks import check_int
from llm_guide.model import GPT, GPTConfig
from llm_guide.tokenizers import CharTokenizer
from llm_guide.train import train_step

__all__ = [
    "weights_fingerprint",
    "train_on_batches",
    "RULES",
    "rule_tokenizer",
    "few_shot_prompt",
    "rule_batch",
    "RepeatBatch",
    "repeated_sequences",
    "attention_only_gpt",
    "copy_accuracy",
    "induction_scores",
    "previous_token_scores",
]


# --8<-- [start:fingerprint]
def weights_fingerprint(model: nn.Module) -> str:
    """A short SHA-256 of every tensor in the model's state dict, names included.

    Two models share a fingerprint only if every weight is bit for bit the same,
    so comparing fingerprints before and after an operation shows whether the
    operation changed a single number.
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


# --8<-- [end:fingerprint]


# --8<-- [start:train_on_batches]
def train_on_batches(
    model: nn.Module,
    make_batch: Callable[[torch.Generator], tuple[torch.Tensor, torch.Tensor]],
    steps: int,
    lr: float = 1e-3,
    seed: int = 0,
) -> list[float]:
    """Train with AdamW at a constant learning rate on batches from ``make_batch``.

    ``make_batch(generator)`` returns (x, y) of shape (B, T). The synthetic tasks
    of this chapter make fresh examples every step, so there is no text to cut
    windows from and nothing to hold out: every batch is new to the model.
    Each step is chapter 9's ``train_step``, without weight decay or clipping.
    Returns the loss of every step.
    """
    check_int(steps, "steps")
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    losses = [
        train_step(model, optimizer, *make_batch(generator), lr, grad_clip=None, step=step)[0] for step in range(steps)
    ]
    model.eval()
    return losses


# --8<-- [end:train_on_batches]


# --8<-- [start:rules]
# Two ways to turn a lower-case letter into another letter. A prompt's examples
# follow one of them; nothing else in the prompt says which.
RULES: dict[str, Callable[[str], str]] = {
    "upper case": str.upper,  # c -> C
    "next letter": lambda c: chr((ord(c) - ord("a") + 1) % 26 + ord("a")),  # c -> d, z -> a
}


def rule_tokenizer() -> CharTokenizer:
    """Characters of the few-shot task: a-z, A-Z and the space between examples."""
    return CharTokenizer.from_text(string.ascii_letters + " ")


def few_shot_prompt(rule: str, examples: str, query: str) -> str:
    """``few_shot_prompt("upper case", "am", "c") == "aA mM c"``: solved examples, then the question."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {list(RULES)}, got {rule!r}")
    for letter in examples + query:
        if letter not in string.ascii_lowercase:
            raise ValueError(f"examples and query must be lower-case letters a-z, got {letter!r}")
    return "".join(f"{a}{RULES[rule](a)} " for a in examples) + query


def rule_batch(
    tokenizer: CharTokenizer, batch_size: int, n_examples: int = 6, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Training sequences such as ``"kK bB xX ..."``: ``n_examples`` letters, all under one random rule.

    Returns (x, y) of shape (batch_size, 3 * n_examples - 1), y shifted by one.
    """
    rules = list(RULES)
    rule_ids = torch.randint(len(rules), (batch_size,), generator=generator).tolist()
    letters = torch.randint(26, (batch_size, n_examples), generator=generator).tolist()
    rows = [
        tokenizer.encode(few_shot_prompt(rules[r], "".join(string.ascii_lowercase[i] for i in row), ""))
        for r, row in zip(rule_ids, letters)
    ]
    ids = torch.tensor(rows)  # (B, 3 * n_examples): letter, answer, space, ...
    return ids[:, :-1], ids[:, 1:]


# --8<-- [end:rules]


# --8<-- [start:repeated_sequences]
class RepeatBatch(NamedTuple):
    """Inputs, targets and, for each row, the length of its repeated segment."""

    x: torch.Tensor  # (B, T) token ids
    y: torch.Tensor  # (B, T) the same, shifted left by one
    lengths: torch.Tensor  # (B,) segment length L of each row


def repeated_sequences(
    batch_size: int,
    block_size: int = 32,
    vocab_size: int = 26,
    min_len: int = 4,
    max_len: int = 16,
    generator: torch.Generator | None = None,
) -> RepeatBatch:
    """Random segments repeated to fill the window: ``k q f z | k q f z | k q ...``.

    Each row draws its own segment length L from min_len..max_len, so no fixed
    distance back is the right place to look. The L tokens of a segment are
    distinct (the start of a random permutation), so every token in a repeat has
    exactly one earlier occurrence and one right continuation.
    """
    if not 1 <= min_len <= max_len <= vocab_size:
        raise ValueError(
            f"need 1 <= min_len <= max_len <= vocab_size, got min_len={min_len}, max_len={max_len}, "
            f"vocab_size={vocab_size}: a segment's tokens are distinct, so it can't be longer than the vocabulary"
        )
    if block_size < 2 * max_len:
        raise ValueError(f"block_size={block_size} must be >= 2 * max_len = {2 * max_len} so two copies fit")
    lengths = torch.randint(min_len, max_len + 1, (batch_size,), generator=generator)  # (B,)
    segments = torch.rand(batch_size, vocab_size, generator=generator).argsort(dim=1)  # (B, V) permutations
    position = torch.arange(block_size + 1)  # (T + 1,)
    # position t holds the segment's token number t mod L: the segment, again and again
    seq = segments.gather(1, position[None, :] % lengths[:, None])  # (B, T + 1)
    return RepeatBatch(seq[:, :-1], seq[:, 1:], lengths)


# --8<-- [end:repeated_sequences]


# --8<-- [start:attention_only_gpt]
def attention_only_gpt(
    n_layer: int, vocab_size: int = 26, block_size: int = 32, n_head: int = 4, n_embd: int = 64
) -> GPT:
    """The guide's GPT without feed-forward networks: attention layers only.

    With no MLPs, whatever the model computes about the context, attention has
    to compute. The head is untied from the embedding, so what a token looks
    like and what the model writes can be learned separately. It trains with
    PyTorch's fused kernels (``fast=True``: the same maths, faster);
    ``attention_maps`` still reads the weights through the written-out attention.
    """
    config = GPTConfig(
        vocab_size=vocab_size,
        block_size=block_size,
        n_layer=n_layer,
        n_head=n_head,
        n_embd=n_embd,
        mlp=False,
        tie_weights=False,
        fast=True,
    )
    return GPT(config)


# --8<-- [end:attention_only_gpt]


# --8<-- [start:copy_accuracy]
def _copy_masks(lengths: torch.Tensor, T: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Which predictions fall in the first copy and which in the second, (B, T) each.

    Position t predicts the token at t + 1. In the first copy (t + 1 < L) that
    token has not appeared yet. In the second copy (L <= t and t + 1 < 2L) the
    current token appeared once before, and the answer is the token after it.
    (Position L - 1, which predicts the first token of the second copy, is in
    neither: the current token is new, yet the answer is not.)
    """
    t = torch.arange(T)[None, :]  # (1, T)
    L = lengths[:, None]  # (B, 1)
    return t + 1 < L, (t >= L) & (t + 1 < 2 * L)


@torch.no_grad()
def copy_accuracy(model: nn.Module, batch: RepeatBatch) -> dict[str, float]:
    """How often the most likely next token is right, on the first copy and on the second."""
    model.eval()
    logits, _ = model(batch.x)  # (B, T, V)
    correct = logits.argmax(dim=-1) == batch.y  # (B, T)
    first, second = _copy_masks(batch.lengths, batch.x.size(1))
    return {
        "first copy": correct[first].float().mean().item(),
        "second copy": correct[second].float().mean().item(),
    }


# --8<-- [end:copy_accuracy]


# --8<-- [start:head_scores]
def induction_targets(x: torch.Tensor) -> torch.Tensor:
    """(B, T, T) mask: key s is "the token after an earlier occurrence of the current token".

    For query t that is every s <= t with x[s - 1] == x[t]: where an induction
    head should look to find what came next last time.
    """
    T = x.size(1)
    same = x[:, :, None] == x[:, None, :]  # (B, T, T): x[t] == x[j]
    target = torch.zeros_like(same)
    target[:, :, 1:] = same[:, :, :-1]  # key s = j + 1
    return target & causal_mask(T, device=x.device)  # s <= t


def induction_scores(attn: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """(n_layer, n_head): each head's mean attention on its induction targets.

    ``attn`` is what ``attention_maps`` returns, one (B, nh, T, T) tensor per
    layer. Only queries that have an induction target count.
    """
    target = induction_targets(x)[:, None]  # (B, 1, T, T)
    has_target = target.any(dim=-1)  # (B, 1, T)
    scores = []
    for weights in attn:
        on_target = (weights * target).sum(dim=-1)  # (B, nh, T)
        on_target = on_target * has_target
        scores.append(on_target.sum(dim=(0, 2)) / has_target.sum())  # (nh,)
    return torch.stack(scores)


def previous_token_scores(attn: list[torch.Tensor]) -> torch.Tensor:
    """(n_layer, n_head): each head's mean attention on the token just before the query."""
    return torch.stack([w.diagonal(offset=-1, dim1=-2, dim2=-1).mean(dim=(0, 2)) for w in attn])


# --8<-- [end:head_scores]
