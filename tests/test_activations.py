"""Chapter 4's activations agree with PyTorch's own, and fail where the docs say they do."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import llm_guide.block
from llm_guide.activations import gelu, relu, sigmoid, softmax_naive
from llm_guide.attention import softmax


@pytest.fixture
def x() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.cat([torch.linspace(-8, 8, 401), 3 * torch.randn(200)])


def test_relu_matches_torch(x):
    assert torch.equal(relu(x), F.relu(x))
    assert relu(torch.tensor([-2.0, 0.0, 3.0])).tolist() == [0.0, 0.0, 3.0]


def test_sigmoid_matches_torch_and_saturates_without_nan(x):
    torch.testing.assert_close(sigmoid(x), torch.sigmoid(x))
    assert sigmoid(torch.tensor(0.0)).item() == 0.5
    extreme = sigmoid(torch.tensor([-1000.0, 1000.0]))
    assert extreme.tolist() == [0.0, 1.0]


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch(x, approximate):
    torch.testing.assert_close(gelu(x, approximate), F.gelu(x, approximate=approximate))


def test_gelu_tanh_is_the_models_gelu_and_close_to_exact(x):
    assert llm_guide.block.gelu is gelu  # the feed-forward calls this very function, not a copy
    assert (gelu(x, "tanh") - gelu(x)).abs().max() < 1e-3  # the docstring's promise
    assert gelu(torch.tensor(-0.5)).item() < 0  # dips below zero just left of 0


def test_gelu_rejects_unknown_approximation(x):
    with pytest.raises(ValueError, match="'none' or 'tanh'"):
        gelu(x, "erf")


def test_softmax_naive_agrees_on_small_inputs_and_breaks_on_large():
    torch.manual_seed(0)
    scores = torch.randn(4, 7)
    torch.testing.assert_close(softmax_naive(scores), torch.softmax(scores, dim=-1))
    torch.testing.assert_close(softmax_naive(scores, dim=0), torch.softmax(scores, dim=0))
    large = torch.tensor([1000.0, 1001.0, 1002.0])
    assert torch.isnan(softmax_naive(large)).all()
    torch.testing.assert_close(softmax(large), torch.softmax(large, dim=-1))
    # float32 exp overflows just above 88, as the docstring says
    assert torch.isfinite(torch.exp(torch.tensor(88.0)))
    assert torch.isinf(torch.exp(torch.tensor(89.0)))
