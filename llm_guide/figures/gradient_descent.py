"""Chapter 9: the gradient descent page's figures, descent paths on a curve and on
a surface, the learning-rate schedule and training loss curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from llm_guide.figures.style import SMALL, TITLE, as_array, new_figure

__all__ = ["plot_descent_1d", "plot_descent_2d", "plot_lr_schedule", "plot_loss_curves"]


def plot_descent_1d(f: Any, paths: Mapping[str, Any], lo: float, hi: float, xlabel: str = "weight w") -> Figure:
    """One panel per path (``label -> DescentPath``): the loss curve ``f`` over
    [lo, hi], widened to hold the whole path, and the points gradient descent
    visited, joined in order (the first marked as the start)."""
    if not paths:
        raise ValueError("plot_descent_1d needs at least one path")
    fig, axes = new_figure(1, len(paths), width=3.0 * len(paths), height=3.0, squeeze=False, sharey=False)
    colours = ["#4c6ef5", "#37b24d", "#f03e3e", "#f76707"]
    for k, (ax, (label, path)) in enumerate(zip(axes[0], paths.items())):
        points, losses = as_array(path.points), as_array(path.losses)
        a, b = min(lo, points.min()), max(hi, points.max())
        pad = 0.05 * (b - a)
        xs = np.linspace(a - pad, b + pad, 300)
        ax.plot(xs, [f(x) for x in xs], color="0.55", linewidth=1.2)
        colour = colours[k % len(colours)]
        ax.plot(points, losses, "-o", color=colour, markersize=3.5, linewidth=0.9, alpha=0.9)
        ax.plot(points[:1], losses[:1], "s", color="black", markersize=5, label="start")
        ax.set_title(f"{label}\n{len(points) - 1} steps, loss {losses[0]:.3g} → {losses[-1]:.3g}", fontsize=TITLE)
        ax.set_xlabel(xlabel)
        ax.legend(fontsize=SMALL, frameon=False, loc="upper center")
    axes[0][0].set_ylabel("loss")
    fig.tight_layout()
    return fig


def plot_descent_2d(
    f: Any,
    paths: Mapping[str, Any],
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    title: str = "",
) -> Figure:
    """Left: contour lines of the surface ``f`` with each path (``label -> DescentPath``)
    drawn on it. Right: each path's loss against the step, on a log scale. A path
    that leaves the window (diverges) is cut at its edge."""
    if not paths:
        raise ValueError("plot_descent_2d needs at least one path")
    fig, (left, right) = new_figure(1, 2, width=9.0, height=3.6, gridspec_kw={"width_ratios": [1.5, 1]})
    xs, ys = np.linspace(*xlim, 121), np.linspace(*ylim, 121)
    grid = np.array([[f(np.array([x, y])) for x in xs] for y in ys])
    low = max(grid.min(), 1e-3)
    levels = np.geomspace(low * 2, grid.max(), 10)
    left.contour(xs, ys, grid, levels=levels, colors="0.7", linewidths=0.7)
    left.plot([0], [0], "*", color="black", markersize=9, label="minimum")
    colours = ["#4c6ef5", "#37b24d", "#f03e3e", "#f76707", "#ae3ec9"]
    for k, (label, path) in enumerate(paths.items()):
        points, losses = as_array(path.points), as_array(path.losses)
        colour = colours[k % len(colours)]
        left.plot(points[:, 0], points[:, 1], "-o", color=colour, markersize=2.5, linewidth=1.0, label=label)
        right.plot(range(len(losses)), losses, color=colour, linewidth=1.4, label=label)
    left.set_xlim(*xlim)
    left.set_ylim(*ylim)
    left.set_xlabel("x")
    left.set_ylabel("y")
    left.grid(False)
    left.set_title(title or "paths on the loss surface", fontsize=TITLE)
    right.set_yscale("log")
    right.set_xlabel("step")
    right.set_ylabel("loss (log scale)")
    right.set_title("loss at each step", fontsize=TITLE)
    # One legend under both panels: inside the surface it would sit on the paths.
    handles, names = left.get_legend_handles_labels()
    fig.legend(handles, names, fontsize=SMALL, frameon=False, loc="lower center", ncol=len(handles))
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def plot_lr_schedule(lrs: Sequence[float], warmup_steps: int = 0, title: str = "") -> Figure:
    """The learning rate at every step, with the warm-up steps shaded."""
    if len(lrs) < 2:
        raise ValueError(f"need the learning rate of at least two steps, got {len(lrs)}")
    fig, ax = new_figure(width=6.5, height=3.0)
    if warmup_steps:
        ax.axvspan(0, warmup_steps - 1, color="#ffe8cc", label="warm-up")
    ax.plot(range(len(lrs)), lrs, color="#4c6ef5", linewidth=1.8, label="learning rate")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.set_ylim(0, max(lrs) * 1.1)
    ax.legend(fontsize=SMALL, frameon=False)
    ax.set_title(title or "linear warm-up, then cosine decay", fontsize=TITLE)
    fig.tight_layout()
    return fig


def plot_loss_curves(results: Mapping[str, Any], title: str = "") -> Figure:
    """One panel per training run (``label -> TrainResult``): the loss of every
    batch (faint), and the evaluated mean loss on the training and validation
    text (markers), against the step."""
    if not results:
        raise ValueError("plot_loss_curves needs at least one training result")
    fig, axes = new_figure(1, len(results), width=4.6 * len(results), height=3.3, squeeze=False)
    for ax, (label, result) in zip(axes[0], results.items()):
        ax.plot(
            range(len(result.losses)), result.losses, color="#4c6ef5", alpha=0.25, linewidth=0.8, label="batch loss"
        )
        steps = [e.step for e in result.evals]
        ax.plot(
            steps, [e.train_loss for e in result.evals], "-o", color="#4c6ef5", markersize=3.5, label="train (mean)"
        )
        if any(e.val_loss is not None for e in result.evals):
            points = [(e.step, e.val_loss) for e in result.evals if e.val_loss is not None]
            ax.plot(*zip(*points), "-s", color="#f76707", markersize=3.5, label="validation (mean)")
        ax.set_xlabel("step")
        ax.set_ylabel("cross-entropy loss")
        ax.set_ylim(bottom=0)
        ax.set_title(label, fontsize=TITLE)
        ax.legend(fontsize=SMALL, frameon=False)
    if title:
        fig.suptitle(title, fontsize=TITLE)
    fig.tight_layout()
    return fig
