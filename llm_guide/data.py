"""Chapter 3: from a stream of token ids to the (B, T) batches a model trains on.

A language model learns from one long list of token ids. Training needs that
list cut into examples: an input block ``x`` of ``T`` ids and a target block
``y``, the same ids shifted one place to the left, so that ``y[t]`` is the token
that follows ``x[: t + 1]``. One window of ``T + 1`` ids therefore holds ``T``
next-token examples at once.

Shapes use the usual letters: ``N`` windows, ``B`` batch size, ``T`` block size
(the context length).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from llm_guide.checks import check_block_size, check_enough_tokens, check_int

__all__ = ["as_ids", "windows", "xy_pairs", "train_val_split", "get_batch"]

# --8<-- [start:as_ids]
#: Anything that holds a 1-D run of token ids: a list, a NumPy array or a tensor.
TokenIds = Sequence[int] | np.ndarray | torch.Tensor


def as_ids(ids: TokenIds, name: str = "ids") -> torch.Tensor:
    """Token ids as a 1-D ``torch.long`` tensor, or a ValueError saying what is wrong."""
    data = ids if isinstance(ids, torch.Tensor) else torch.as_tensor(np.asarray(ids))
    if data.dim() != 1:
        raise ValueError(
            f"{name} must be a 1-D sequence of token ids, got shape {tuple(data.shape)}; "
            f"flatten it first (for example {name}.flatten() or {name}.view(-1))"
        )
    if data.numel() > 0 and (data.is_floating_point() or data.is_complex() or data.dtype == torch.bool):
        raise ValueError(
            f"{name} must hold integer token ids, got dtype {data.dtype}; "
            f"encode the text with a vocabulary or tokenizer first"
        )
    return data.long()


# --8<-- [end:as_ids]


# --8<-- [start:windows]
def windows(ids: TokenIds, block_size: int) -> torch.Tensor:
    """Every run of ``block_size + 1`` consecutive ids, one per row.

    Returns a long tensor of shape (N, T + 1) with ``N = len(ids) - block_size``:
    row ``i`` is ``ids[i : i + T + 1]``, so neighbouring rows overlap in all but one id.
    """
    data = as_ids(ids)
    check_block_size(block_size)
    check_enough_tokens(data, block_size)
    # unfold(dim, size, step) slides a window along the tensor; the result is a
    # view with a clever stride, so no id is copied until the caller asks for it.
    return data.unfold(0, block_size + 1, 1)


def xy_pairs(ids: TokenIds, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All sliding-window training pairs: inputs X and targets Y, both (N, T).

    ``Y`` is ``X`` shifted left by one: ``Y[i, t]`` is the token that comes after
    ``X[i, : t + 1]``, the thing the model must learn to predict.
    """
    w = windows(ids, block_size)  # (N, T + 1)
    return w[:, :-1], w[:, 1:]


# --8<-- [end:windows]


# --8<-- [start:split]
def train_val_split(ids: TokenIds, val_fraction: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a token stream into a training part and a validation part.

    The split is one cut, not a shuffle: the first ``1 - val_fraction`` of the
    ids train the model, the rest measure it. Shuffling windows would put
    overlapping copies of the same text on both sides, and validation would then
    only test memory.
    """
    data = as_ids(ids)
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(
            f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction!r}; "
            f"0.1 keeps 90% of the text for training"
        )
    n_train = int(len(data) * (1.0 - val_fraction))
    if n_train < 1 or n_train >= len(data):
        raise ValueError(
            f"cannot split {len(data)} tokens with val_fraction={val_fraction}: one side "
            f"would be empty; use a longer text or a val_fraction nearer 0.5"
        )
    return data[:n_train], data[n_train:]


# --8<-- [end:split]


# --8<-- [start:get_batch]
def get_batch(
    data: torch.Tensor,
    block_size: int,
    batch_size: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A random batch of windows: inputs x and targets y, both (B, T).

    Each row starts at a random offset into ``data``, so one step sees a
    different sample of the text every time. Passing a seeded
    ``torch.Generator`` makes the sequence of batches repeat exactly.
    """
    data = as_ids(data, name="data")
    check_block_size(block_size)
    check_int(batch_size, "batch_size")
    check_enough_tokens(data, block_size, name="data")
    # The last start that still leaves room for the target's final token is
    # len(data) - block_size - 1; randint's upper bound is exclusive.
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    x = torch.stack([data[i : i + block_size] for i in starts])  # (B, T)
    y = torch.stack([data[i + 1 : i + block_size + 1] for i in starts])  # (B, T)
    return x, y


# --8<-- [end:get_batch]
