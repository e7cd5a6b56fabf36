"""The rules for a configuration's numbers and choices, written once.

Every size, count and switch in the guide is checked where it is set, with an
error that names the setting, the value it got and what would work, instead of
a shape error from deep inside PyTorch later on.
"""

from __future__ import annotations

from typing import Any, Collection

import numpy as np

__all__ = ["check_int", "check_choice"]


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
