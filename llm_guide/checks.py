"""The rules for a configuration's numbers and choices, written once.

Every size, count and switch in the guide is checked where it is set, with an
error that names the setting, the value it got and what would work, instead of
a shape error from deep inside PyTorch later on.
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_int",
    "check_choice",
    "check_sampling",
    "check_str",
    "check_ids",
    "check_special_tokens",
    "check_num_merges",
]


def check_int(value: Any, name: str, *, minimum: int = 1, hint: str = "") -> int:
    """Return ``value`` as an int if it is a whole number >= ``minimum``; raise ValueError otherwise.

    A bool is refused although Python counts True as 1 (``n_head=True`` is a
    slip, not a request for one head). NumPy integers are accepted, since sizes
    often come out of arrays. ``hint`` is appended to the message: say what the
    number means or what to pass instead.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"a whole number >= {minimum}"
        raise ValueError(f"{name} must be {what}, got {value!r}" + (f" ({hint})" if hint else ""))
    return int(value)


def check_choice(value: Any, name: str, choices: Collection[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``; raise a ValueError listing them otherwise."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_sampling(temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Raise a ValueError naming the setting if ``temperature``, ``top_k`` or ``top_p`` cannot be sampled with."""
    if not temperature > 0:
        raise ValueError(
            f"temperature must be > 0, got {temperature!r}; use greedy=True for deterministic argmax decoding"
        )
    if top_k is not None:
        check_int(top_k, "top_k", hint="or None for no limit")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1] (or None for no limit), got {top_p!r}")


def check_block_size(block_size: Any) -> None:
    """Raise a ValueError unless ``block_size``, the number of tokens a model sees at once, is a positive integer."""
    check_int(block_size, "block_size", hint="the number of tokens the model sees at once")


def check_enough_tokens(data: Collection[Any], block_size: int, name: str = "ids") -> None:
    """Raise a ValueError unless ``data`` holds at least one training window: ``block_size + 1`` tokens.

    ``name`` is what the message calls ``data`` (the argument's name at the caller).
    """
    if len(data) < block_size + 1:
        raise ValueError(
            f"{name} has {len(data)} tokens, but one training window needs "
            f"block_size + 1 = {block_size + 1} (the block plus the token that follows it); "
            f"use a longer text or a block_size of at most {max(len(data) - 1, 0)}"
        )


def check_descent(lr: float, steps: int) -> None:
    """Raise a ValueError unless gradient descent can walk: ``lr > 0`` and ``steps >= 0``."""
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r} (a negative rate would climb the loss: gradient ascent)")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps!r}")


__all__ += ["check_block_size", "check_enough_tokens", "check_descent"]


def check_str(value: Any, name: str) -> str:
    """Return ``value`` if it is a ``str``; raise a TypeError naming ``name`` otherwise.

    Tokenizers take text, not bytes: the message says how to decode bytes first.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}; decode bytes first with .decode('utf-8')")
    return value


def check_ids(ids: Iterable[int], caller: str = "decode") -> list[int]:
    """Return ``ids`` as a list of ints; raise a TypeError (naming ``caller``) if they are not integer ids.

    Accepts ints, NumPy integers and 0-d integer tensors (anything ``operator.index``
    takes); refuses floats, and a ``str`` or ``bytes`` passed where ids belong.
    """
    if isinstance(ids, (str, bytes)):
        raise TypeError(f"{caller} expects a sequence of integer ids, got {type(ids).__name__}")
    try:
        return [operator.index(i) for i in ids]
    except TypeError:
        raise TypeError(f"{caller} expects an iterable of integer ids, got {ids!r:.60}") from None


def check_special_tokens(special_tokens: Sequence[str]) -> list[str]:
    """Return the special-token names as a list, repeats dropped, order kept; raise a
    TypeError unless they are a sequence of non-empty strings (a bare string is refused)."""
    if isinstance(special_tokens, str) or not all(isinstance(s, str) and s for s in special_tokens):
        raise TypeError(
            f"special_tokens must be a sequence of non-empty strings, e.g. ('<|endoftext|>',), got {special_tokens!r}"
        )
    return list(dict.fromkeys(special_tokens))


def check_num_merges(vocab_size: int | None, num_merges: int | None, n_special: int) -> int:
    """Return how many merges BPE training makes, from exactly one of ``vocab_size``
    (256 byte tokens + the merges + ``n_special`` special tokens) or ``num_merges``.

    Raises a TypeError for neither or both, or a non-int, and a ValueError for a
    ``vocab_size`` too small to hold the bytes and special tokens or a negative ``num_merges``.
    """
    if (vocab_size is None) == (num_merges is None):
        raise TypeError("pass exactly one of vocab_size or num_merges")
    if vocab_size is not None:
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
            raise TypeError(f"vocab_size must be an int, got {type(vocab_size).__name__}")
        if vocab_size < 256 + n_special:
            raise ValueError(
                f"vocab_size must be at least {256 + n_special} (256 byte tokens + "
                f"{n_special} special tokens), got {vocab_size}"
            )
        return vocab_size - 256 - n_special
    if isinstance(num_merges, bool) or not isinstance(num_merges, int):
        raise TypeError(f"num_merges must be an int, got {type(num_merges).__name__}")
    if num_merges < 0:
        raise ValueError(f"num_merges must be 0 or more, got {num_merges}")
    return num_merges
