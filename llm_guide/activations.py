"""Chapter 4: the activation functions a network is built from, in PyTorch.

A neuron computes a weighted sum of its inputs plus a bias, then passes the sum
through an activation function. Without that last step, any stack of layers
collapses into one big weighted sum (a product of matrices is a matrix); the
bend in the activation is what lets a network draw curves.

ReLU and GELU are the bends inside networks (GPT-2's feed-forward layers use
GELU), the sigmoid squashes one number into (0, 1), and softmax turns a whole
vector of scores into probabilities. The numerically stable softmax lives in
``llm_guide.attention``; the naive one here shows why it is needed.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

__all__ = ["relu", "sigmoid", "gelu", "softmax_naive"]


# --8<-- [start:relu_sigmoid]
def relu(x: torch.Tensor) -> torch.Tensor:
    """max(0, x): negative inputs are switched off, positive ones pass unchanged."""
    return torch.where(x > 0, x, torch.zeros_like(x))


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """1 / (1 + e^(-x)): squashes any number into (0, 1); sigmoid(0) = 0.5."""
    return 1.0 / (1.0 + torch.exp(-x))


# --8<-- [end:relu_sigmoid]


# --8<-- [start:gelu]
def gelu(x: torch.Tensor, approximate: Literal["none", "tanh"] = "none") -> torch.Tensor:
    """GELU(x) = x * Phi(x), where Phi is the standard normal's cumulative distribution.

    Phi(x) is the chance that a standard normal number is below x, so GELU lets
    large positive x through almost whole, switches large negative x off, and
    bends smoothly in between (dipping slightly below 0 just left of 0).
    ``approximate="tanh"`` is the formula GPT-2 was trained with; it differs
    from the exact one by less than 0.001.
    """
    if approximate == "none":
        phi = 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))
    elif approximate == "tanh":
        # GPT-2's Phi is 0.5 * (1 + tanh(z)) with z = sqrt(2/pi) * (x + 0.044715 x^3),
        # and that is exactly sigmoid(2z): the same curve, in fewer passes over x
        phi = torch.sigmoid(2.0 * math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3))
    else:
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return x * phi


# --8<-- [end:gelu]


# --8<-- [start:softmax_naive]
def softmax_naive(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """exp(x_i) / sum_j exp(x_j), exactly as the formula is written.

    Correct on paper, fragile in a computer: exp overflows to inf for inputs
    above about 88 in float32, and inf / inf is nan. Use ``attention.softmax``.
    """
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)


# --8<-- [end:softmax_naive]
