"""Chapter 11: the putting it together page's figure, train and validation loss of
whole training runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from llm_guide.figures.style import SMALL, new_figure

__all__ = ["plot_capstone_losses"]


def plot_capstone_losses(runs: Mapping[str, Sequence[Sequence[float]]], reference: float | None = None) -> Figure:
    """Train and validation loss against the step, one colour per run.

    ``runs`` maps a label to evaluation points ``(step, train_loss, val_loss)``;
    train is drawn solid, validation dashed. ``reference`` draws a horizontal line
    (for example a published result)."""
    if not runs or any(len(points) == 0 for points in runs.values()):
        raise ValueError("plot_capstone_losses needs at least one run with at least one evaluation")
    fig, ax = new_figure(width=6.5, height=3.4)
    colours = plt.get_cmap("tab10")
    for k, (label, points) in enumerate(runs.items()):
        steps, train, val = (np.asarray(column, dtype=float) for column in zip(*points))
        ax.plot(steps, train, color=colours(k), marker="o", markersize=3, label=f"{label}: train")
        ax.plot(steps, val, color=colours(k), marker="o", markersize=3, linestyle="--", label=f"{label}: validation")
    if reference is not None:
        ax.axhline(reference, color="0.5", linewidth=0.8, linestyle=":")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss (nats per character)")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=SMALL)
    fig.tight_layout()
    return fig
