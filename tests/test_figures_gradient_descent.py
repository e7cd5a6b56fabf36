"""The chapter 9 figures."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.figure import Figure

from llm_guide.figures.gradient_descent import plot_descent_1d, plot_descent_2d, plot_loss_curves, plot_lr_schedule
from llm_guide.figures.style import save
from llm_guide.numpy_nn import bowl, bowl_grad, descend_1d, descend_2d, valley, valley_grad
from llm_guide.train import EvalPoint, TrainConfig, TrainResult, lr_at


def _small_enough(fig: Figure, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    save(fig, str(path))
    assert 0 < path.stat().st_size < 200_000


def test_descent_1d_one_panel_per_learning_rate(tmp_path):
    paths = {f"lr {lr}": descend_1d(bowl, bowl_grad, 0.0, lr, 10) for lr in (0.05, 0.3, 1.05)}
    fig = plot_descent_1d(bowl, paths, -1.0, 7.0)
    assert len(fig.axes) == 3
    assert fig.axes[0].get_title().startswith("lr 0.05\n10 steps")
    # the diverging path is wider than the window, and its panel grows to hold it
    assert fig.axes[2].get_xlim()[0] < -1.0
    _small_enough(fig, tmp_path, "descent1d.svg")
    with pytest.raises(ValueError, match="at least one path"):
        plot_descent_1d(bowl, {}, 0, 1)


def test_descent_2d_draws_paths_and_their_losses(tmp_path):
    paths = {f"lr {lr}": descend_2d(valley, valley_grad, [-8.0, 1.5], lr, 30) for lr in (0.01, 0.09)}
    fig = plot_descent_2d(valley, paths, (-9, 2), (-2, 2), title="valley")
    left, right = fig.axes
    assert left.get_title() == "valley" and right.get_yscale() == "log"
    assert [line.get_label() for line in right.lines] == ["lr 0.01", "lr 0.09"]
    _small_enough(fig, tmp_path, "descent2d.svg")


def test_lr_schedule_figure(tmp_path):
    config = TrainConfig(steps=50, lr=1e-2, warmup_steps=5)
    lrs = [lr_at(s, config) for s in range(config.steps)]
    fig = plot_lr_schedule(lrs, warmup_steps=5)
    ax = fig.axes[0]
    assert max(ax.lines[0].get_ydata()) == pytest.approx(1e-2)
    assert "warm-up" in [t.get_text() for t in ax.get_legend().get_texts()]
    _small_enough(fig, tmp_path, "schedule.svg")
    with pytest.raises(ValueError, match="at least two"):
        plot_lr_schedule([1e-3])


def test_loss_curves_with_and_without_validation(tmp_path):
    with_val = TrainResult(losses=[3.0, 2.0, 1.5], evals=[EvalPoint(0, 3.0, 3.1), EvalPoint(3, 1.4, 1.9)])
    without = TrainResult(losses=[2.0, 1.0], evals=[EvalPoint(0, 2.0, None), EvalPoint(2, 0.9, None)])
    fig = plot_loss_curves({"a": with_val, "b": without})
    labels = [[line.get_label() for line in ax.lines] for ax in fig.axes]
    assert labels == [["batch loss", "train (mean)", "validation (mean)"], ["batch loss", "train (mean)"]]
    _small_enough(fig, tmp_path, "loss.svg")
    with pytest.raises(ValueError, match="at least one"):
        plot_loss_curves({})
