"""Chapter 9: the neuron, MSE, hand-written backprop and gradient descent in NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from llm_guide.numpy_nn import (
    ACTIVATIONS,
    TwoLayerNet,
    bowl,
    bowl_grad,
    descend_1d,
    descend_2d,
    identity,
    mse,
    mse_grad,
    neuron,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    valley,
    valley_grad,
)


def test_the_seeds_movie_neuron():
    # 0.6 * 0.8 + (-0.4) * 0.2 + 0.1 = 0.5, and ReLU keeps it
    assert neuron([0.8, 0.2], [0.6, -0.4], 0.1) == pytest.approx(0.5)
    # a negative weighted sum is switched off by ReLU but not by the identity
    assert neuron([1.0, 1.0], [-1.0, -1.0], 0.5) == 0.0
    assert neuron([1.0, 1.0], [-1.0, -1.0], 0.5, activation="identity") == pytest.approx(-1.5)
    assert neuron([0.0, 0.0], [1.0, 1.0], 0.0, activation="sigmoid") == pytest.approx(0.5)


def test_neuron_takes_a_batch_of_inputs():
    x = np.array([[0.8, 0.2], [0.0, 1.0]])
    np.testing.assert_allclose(neuron(x, [0.6, -0.4], 0.1), [0.5, 0.0])


def test_unknown_activation_is_an_error():
    with pytest.raises(ValueError, match=r"unknown activation 'tanh'; choose one of \['identity', 'relu', 'sigmoid'\]"):
        neuron([1.0], [1.0], 0.0, activation="tanh")
    with pytest.raises(ValueError, match="unknown activation 'softmax'"):
        TwoLayerNet.random(hidden="softmax")


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivatives_match_torch(name):
    z = np.array([-3.0, -0.5, 0.0, 0.7, 4.0])
    f, df = ACTIVATIONS[name]
    zt = torch.tensor(z, requires_grad=True)
    torch_f = {"relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda t: t * 1.0}[name]
    out = torch_f(zt)
    out.sum().backward()
    np.testing.assert_allclose(f(z), out.detach().numpy())
    np.testing.assert_allclose(df(z), zt.grad.numpy())


def test_activation_values():
    np.testing.assert_array_equal(relu(np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(relu_grad(np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 1.0])
    assert sigmoid(0.0) == 0.5 and sigmoid_grad(0.0) == 0.25
    assert sigmoid(50.0) == pytest.approx(1.0) and sigmoid(-50.0) == pytest.approx(0.0)
    np.testing.assert_array_equal(identity([1, -2]), [1.0, -2.0])


def test_mse_and_its_derivative():
    # the seed's example: wanted 1.0, got 0.6, squared error 0.16
    assert mse(0.6, 1.0) == pytest.approx(0.16)
    assert mse_grad(0.6, 1.0) == pytest.approx(-0.8)  # -2 (y - y_hat)
    pred, target = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 5.0])
    assert mse(pred, target) == pytest.approx((0 + 4 + 4) / 3)
    pt = torch.tensor(pred, requires_grad=True)
    torch.nn.functional.mse_loss(pt, torch.tensor(target)).backward()
    np.testing.assert_allclose(mse_grad(pred, target), pt.grad.numpy())


def seed_network(output: str = "relu") -> TwoLayerNet:
    """The 2-2-1 network of the seed notebook, with its weights."""
    return TwoLayerNet([[0.5, 0.3], [-0.2, 0.8]], [0.1, -0.1], [[0.7, 0.4]], [0.05], output=output)


def test_forward_reproduces_the_seeds_numbers():
    y, cache = seed_network().forward([0.8, 0.2])
    np.testing.assert_allclose(cache["z1"], [[0.56, -0.1]])
    np.testing.assert_allclose(cache["h"], [[0.56, 0.0]])  # ReLU switched h2 off
    assert y.shape == (1, 1)
    assert y[0, 0] == pytest.approx(0.442)


def test_backward_on_the_seed_network_by_the_chain_rule():
    net = seed_network()
    y, cache = net.forward([0.8, 0.2])
    grads = net.backward(cache, [[1.0]])
    dy = 2 * (0.442 - 1.0)  # dL/dy
    assert grads["W2"][0, 0] == pytest.approx(dy * 0.56)  # dL/dy * relu' (1) * h1
    assert grads["W2"][0, 1] == 0.0  # h2 was 0
    assert grads["b2"][0] == pytest.approx(dy)
    # h2's ReLU was off, so nothing flows back to its weights
    np.testing.assert_array_equal(grads["W1"][1], [0.0, 0.0])
    np.testing.assert_allclose(grads["W1"][0], [dy * 0.7 * 0.8, dy * 0.7 * 0.2])


@pytest.mark.parametrize("hidden,output", [("relu", "identity"), ("sigmoid", "sigmoid"), ("relu", "relu")])
def test_hand_backprop_equals_torch_autograd(hidden, output):
    net = TwoLayerNet.random(n_in=3, n_hidden=4, n_out=2, seed=1, hidden=hidden, output=output)
    rng = np.random.default_rng(2)
    x, target = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    loss, grads = net.loss_and_grads(x, target)

    t = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    act = {"relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda z: z}
    h = act[hidden](torch.tensor(x) @ t["W1"].T + t["b1"])
    y = act[output](h @ t["W2"].T + t["b2"])
    torch_loss = torch.nn.functional.mse_loss(y, torch.tensor(target))
    torch_loss.backward()

    assert loss == pytest.approx(torch_loss.item(), rel=1e-12)
    for name in ("W1", "b1", "W2", "b2"):
        assert grads[name].shape == net.params[name].shape
        np.testing.assert_allclose(grads[name], t[name].grad.numpy(), rtol=1e-10, atol=1e-12)


def test_hand_backprop_passes_a_finite_difference_check():
    net = TwoLayerNet.random(seed=3, hidden="sigmoid")
    x, target = np.array([[0.8, 0.2], [0.1, -0.5]]), np.array([[1.0], [0.0]])
    _, grads = net.loss_and_grads(x, target)
    eps = 1e-6
    for name, value in net.params.items():
        for i in np.ndindex(value.shape):
            old = value[i]
            value[i] = old + eps
            up = net.loss_and_grads(x, target)[0]
            value[i] = old - eps
            down = net.loss_and_grads(x, target)[0]
            value[i] = old
            assert grads[name][i] == pytest.approx((up - down) / (2 * eps), abs=1e-8)


def test_gradient_descent_steps_lower_the_loss():
    net = TwoLayerNet.random(seed=0, hidden="sigmoid")
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    target = np.array([[0.0], [1.0], [1.0], [2.0]])  # x1 + x2
    first, _ = net.loss_and_grads(x, target)
    for _ in range(500):
        loss, grads = net.loss_and_grads(x, target)
        net.step(grads, lr=0.5)
    assert loss < first / 20


def test_step_moves_against_the_gradient():
    net = seed_network()
    before = {k: v.copy() for k, v in net.params.items()}
    grads = {k: np.ones_like(v) for k, v in before.items()}
    net.step(grads, lr=0.1)
    for k in before:
        np.testing.assert_allclose(net.params[k], before[k] - 0.1)


def test_descend_1d_reproduces_the_seeds_table():
    path = descend_1d(bowl, bowl_grad, x0=0.0, lr=0.1, steps=8)
    assert path.points.shape == path.losses.shape == (9,)
    np.testing.assert_allclose(path.points[:4], [0.0, 0.6, 1.08, 1.464])
    assert path.points[-1] == pytest.approx(2.4967, abs=1e-4)
    assert path.losses[-1] == pytest.approx(0.2533, abs=1e-4)


def test_learning_rates_too_small_right_and_too_large():
    small = descend_1d(bowl, bowl_grad, 0.0, lr=0.01, steps=20)
    right = descend_1d(bowl, bowl_grad, 0.0, lr=0.3, steps=20)
    large = descend_1d(bowl, bowl_grad, 0.0, lr=1.1, steps=20)
    assert small.losses[-1] > 3  # barely moved from 9
    assert right.losses[-1] < 1e-6  # settled at the minimum
    assert large.losses[-1] > large.losses[0]  # overshoots more every step
    assert np.all(np.diff(small.losses) < 0) and np.all(np.diff(right.losses) <= 0)
    # too large: the point jumps from side to side of the minimum at 3
    assert np.all(np.sign(large.points[1:] - 3) != np.sign(large.points[:-1] - 3))


def test_descent_that_runs_off_to_infinity_stops():
    path = descend_1d(bowl, bowl_grad, 0.0, lr=50.0, steps=1000)
    assert len(path.points) < 1001 and np.all(np.isfinite(path.points))


def test_descend_2d_in_a_narrow_valley():
    path = descend_2d(valley, valley_grad, [4.0, 1.0], lr=0.05, steps=100)
    assert path.points.shape == (101, 2) and path.losses.shape == (101,)
    assert path.losses[0] == valley([4.0, 1.0]) == 26.0
    assert path.losses[-1] < 1e-3
    # the steep direction (y) converges long before the gentle one (x)
    assert abs(path.points[10, 1]) < 1e-6 < abs(path.points[10, 0])
    # past lr = 0.1 the steep direction diverges even though x would be fine
    assert descend_2d(valley, valley_grad, [4.0, 1.0], lr=0.11, steps=50).losses[-1] > 26.0


def test_descent_argument_errors():
    with pytest.raises(ValueError, match=r"lr must be > 0, got -0.1 \(a negative rate would climb"):
        descend_1d(bowl, bowl_grad, 0.0, lr=-0.1, steps=5)
    with pytest.raises(ValueError, match="steps must be >= 0, got -1"):
        descend_1d(bowl, bowl_grad, 0.0, lr=0.1, steps=-1)
    with pytest.raises(ValueError, match=r"xy0 must be a point \(x, y\), got shape \(3,\)"):
        descend_2d(valley, valley_grad, [1.0, 2.0, 3.0], lr=0.1, steps=5)
