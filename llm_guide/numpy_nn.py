"""Chapter 9 (and 4): neurons, loss and backpropagation in plain NumPy.

Before PyTorch computes gradients for us, we compute them by hand once: a
single neuron, the mean squared error, the chain rule through a network with
2 inputs, 2 hidden neurons and 1 output, and gradient descent with a learning
rate that is too small, about right, or too large.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from llm_guide.checks import check_descent

__all__ = [
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "identity",
    "identity_grad",
    "ACTIVATIONS",
    "neuron",
    "mse",
    "mse_grad",
    "TwoLayerNet",
    "DescentPath",
    "descend_1d",
    "descend_2d",
    "bowl",
    "bowl_grad",
    "valley",
    "valley_grad",
]

# --8<-- [start:activations]
Array = np.ndarray  # every input, weight and output here is a NumPy array


def relu(z: Array) -> Array:
    """max(0, z): negative inputs are switched off, positive ones pass unchanged."""
    return np.maximum(0.0, z)


def relu_grad(z: Array) -> Array:
    """d relu / dz: 1 where z > 0, else 0 (at exactly 0 we pick 0, as PyTorch does)."""
    return (np.asarray(z) > 0).astype(float)


def sigmoid(z: Array) -> Array:
    """1 / (1 + e^-z): squashes any number into (0, 1)."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_grad(z: Array) -> Array:
    """d sigmoid / dz = sigmoid(z) * (1 - sigmoid(z)): at most 0.25, at z = 0."""
    s = sigmoid(z)
    return s * (1.0 - s)


def identity(z: Array) -> Array:
    """No activation at all: the neuron stays a weighted sum."""
    return np.asarray(z, dtype=float)


def identity_grad(z: Array) -> Array:
    return np.ones_like(np.asarray(z, dtype=float))


#: name -> (function, its derivative)
ACTIVATIONS: dict[str, tuple[Callable[[Array], Array], Callable[[Array], Array]]] = {
    "relu": (relu, relu_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "identity": (identity, identity_grad),
}


def _activation(name: str) -> tuple[Callable[[Array], Array], Callable[[Array], Array]]:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


# --8<-- [end:activations]


# --8<-- [start:neuron]
def neuron(x: Array, w: Array, b: float, activation: str = "relu") -> float | Array:
    """One neuron: activation(w . x + b).

    ``x`` and ``w`` have one entry per input; a batch of inputs ``x`` (N, n_in)
    gives N outputs. The bias is not an input: it is the neuron's own offset.
    """
    f, _ = _activation(activation)
    z = np.asarray(x, dtype=float) @ np.asarray(w, dtype=float) + b  # weighted sum
    return f(z)


# --8<-- [end:neuron]


# --8<-- [start:mse]
def mse(pred: Array, target: Array) -> float:
    """Mean squared error: the average of (pred - target)^2. Zero only for a perfect prediction."""
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    return float(np.mean((pred - target) ** 2))


def mse_grad(pred: Array, target: Array) -> Array:
    """d mse / d pred = 2 (pred - target) / n: which way, and how hard, each prediction should move."""
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    return 2.0 * (pred - target) / pred.size


# --8<-- [end:mse]


# --8<-- [start:two_layer_net]
class TwoLayerNet:
    """A 2-2-1 network by default: inputs -> hidden layer -> one output.

    Parameters follow ``nn.Linear``'s layout: ``W1`` (hidden, in), ``b1`` (hidden,),
    ``W2`` (out, hidden), ``b2`` (out,). Inputs come as rows: x (N, in).
    """

    def __init__(
        self,
        W1: Array,
        b1: Array,
        W2: Array,
        b2: Array,
        hidden: str = "relu",
        output: str = "identity",
    ) -> None:
        self.params: dict[str, Array] = {
            "W1": np.array(W1, dtype=float),
            "b1": np.array(b1, dtype=float),
            "W2": np.array(W2, dtype=float),
            "b2": np.array(b2, dtype=float),
        }
        self.hidden, self.output = hidden, output
        _activation(hidden)  # fail now, not at the first forward, on a misspelt name
        _activation(output)

    @classmethod
    def random(
        cls, n_in: int = 2, n_hidden: int = 2, n_out: int = 1, seed: int = 0, **activations: str
    ) -> "TwoLayerNet":
        """Small random weights (seeded), zero biases."""
        rng = np.random.default_rng(seed)
        return cls(
            rng.normal(0.0, 0.5, (n_hidden, n_in)),
            np.zeros(n_hidden),
            rng.normal(0.0, 0.5, (n_out, n_hidden)),
            np.zeros(n_out),
            **activations,
        )

    def forward(self, x: Array) -> tuple[Array, dict[str, Array]]:
        """x (N, in) -> prediction (N, out), plus the intermediate values backward needs."""
        p = self.params
        f1, _ = _activation(self.hidden)
        f2, _ = _activation(self.output)
        x = np.atleast_2d(np.asarray(x, dtype=float))
        z1 = x @ p["W1"].T + p["b1"]  # (N, hidden) weighted sums
        h = f1(z1)  # (N, hidden) hidden activations
        z2 = h @ p["W2"].T + p["b2"]  # (N, out)
        y = f2(z2)  # (N, out) the prediction
        return y, {"x": x, "z1": z1, "h": h, "z2": z2, "y": y}

    def backward(self, cache: dict[str, Array], target: Array) -> dict[str, Array]:
        """Gradients of the MSE loss for every parameter, by the chain rule, output to input.

        Each line multiplies the gradient arriving from above by one local
        derivative: dL/dz2 = dL/dy * dy/dz2, and so on back to the input layer.
        """
        p = self.params
        _, df1 = _activation(self.hidden)
        _, df2 = _activation(self.output)
        x, z1, h, z2, y = cache["x"], cache["z1"], cache["h"], cache["z2"], cache["y"]
        target = np.asarray(target, dtype=float).reshape(y.shape)

        dy = mse_grad(y, target)  # dL/dy          (N, out)
        dz2 = dy * df2(z2)  # dL/dz2 = dL/dy * f2'(z2)
        dW2 = dz2.T @ h  # z2 = h @ W2.T + b2, so dz2/dW2 brings in h   (out, hidden)
        db2 = dz2.sum(axis=0)  # every example's error pushes on the same bias
        dh = dz2 @ p["W2"]  # how the loss depends on each hidden neuron   (N, hidden)
        dz1 = dh * df1(z1)  # through the hidden activation (0 where ReLU was off)
        dW1 = dz1.T @ x  # (hidden, in)
        db1 = dz1.sum(axis=0)
        return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}

    def loss_and_grads(self, x: Array, target: Array) -> tuple[float, dict[str, Array]]:
        """Forward, MSE, backward: one call."""
        y, cache = self.forward(x)
        return mse(y, np.asarray(target, dtype=float).reshape(y.shape)), self.backward(cache, target)

    def step(self, grads: dict[str, Array], lr: float) -> None:
        """Gradient descent: move every parameter a little against its gradient (downhill)."""
        for name, grad in grads.items():
            self.params[name] -= lr * grad


# --8<-- [end:two_layer_net]


# --8<-- [start:descend]
class DescentPath(NamedTuple):
    """Where gradient descent went: the points visited (start included) and the loss at each."""

    points: Array  # (steps + 1,) in 1-D, (steps + 1, 2) in 2-D
    losses: Array  # (steps + 1,)


def descend_1d(
    f: Callable[[float], float],
    grad: Callable[[float], float],
    x0: float,
    lr: float,
    steps: int,
) -> DescentPath:
    """Gradient descent on a function of one number: x <- x - lr * f'(x), ``steps`` times.

    Too small a learning rate crawls, a good one settles at the minimum, too
    large a one overshoots further each step. If x or the loss runs off to
    infinity, the path stops before that point.
    """
    check_descent(lr, steps)
    # NumPy floats overflow to inf (Python floats raise): divergence is a result to plot here.
    xs, losses = [np.float64(x0)], [float(f(np.float64(x0)))]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            x = xs[-1] - lr * grad(xs[-1])  # step against the slope
            loss = float(f(x))
            if not (np.isfinite(x) and np.isfinite(loss)):
                break
            xs.append(x)
            losses.append(loss)
    return DescentPath(np.array(xs), np.array(losses))


def descend_2d(
    f: Callable[[Array], float],
    grad: Callable[[Array], Array],
    xy0: Array,
    lr: float,
    steps: int,
) -> DescentPath:
    """The same on a surface: the point is (x, y) and the gradient is a 2-vector."""
    check_descent(lr, steps)
    start = np.asarray(xy0, dtype=float)
    if start.shape != (2,):
        raise ValueError(f"xy0 must be a point (x, y), got shape {start.shape}")
    points, losses = [start], [float(f(start))]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            p = points[-1] - lr * np.asarray(grad(points[-1]), dtype=float)
            loss = float(f(p))
            if not (np.all(np.isfinite(p)) and np.isfinite(loss)):
                break
            points.append(p)
            losses.append(loss)
    return DescentPath(np.stack(points), np.array(losses))


# --8<-- [end:descend]


# --8<-- [start:bowls]
def bowl(w: float) -> float:
    """L(w) = (w - 3)^2: one weight, lowest at w = 3."""
    return (w - 3.0) ** 2


def bowl_grad(w: float) -> float:
    return 2.0 * (w - 3.0)


def valley(p: Array) -> float:
    """L(x, y) = x^2 + 10 y^2: a long narrow valley, steep across and gentle along."""
    x, y = p
    return float(x**2 + 10.0 * y**2)


def valley_grad(p: Array) -> Array:
    x, y = p
    return np.array([2.0 * x, 20.0 * y])


# --8<-- [end:bowls]
