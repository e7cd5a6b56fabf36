"""Chapter 10: the in-context learning page's figures, the phase change in training
and the attention of an induction head."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from llm_guide.figures.style import LABEL, SMALL, TITLE, new_figure

__all__ = ["plot_icl_phase_change", "plot_icl_attention"]


def _moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """Mean of each run of ``window`` values (shorter at the start, so the curve starts at step 0)."""
    v = np.asarray(values, dtype=float)
    csum = np.cumsum(np.insert(v, 0, 0.0))
    starts = np.maximum(np.arange(1, len(v) + 1) - window, 0)
    return (csum[1:] - csum[starts]) / (np.arange(1, len(v) + 1) - starts)


def plot_icl_phase_change(
    losses: Mapping[str, Sequence[float]],
    accuracy: Mapping[str, Mapping[str, float]],
    window: int = 20,
) -> Figure:
    """Left: each model's training loss per step (a moving average over ``window`` steps).
    Right: each model's next-token accuracy on each part of the sequence, as grouped bars.

    ``losses`` maps a model's label to its per-step losses; ``accuracy`` maps the same
    labels to ``{part: accuracy}`` (for example ``{"first copy": 0.01, "second copy": 0.99}``)."""
    if not losses or set(losses) != set(accuracy):
        raise ValueError(f"losses and accuracy need the same models, got {sorted(losses)} and {sorted(accuracy)}")
    fig, (left, right) = new_figure(1, 2, width=9.0, height=3.4, gridspec_kw={"width_ratios": [1.5, 1]})
    colours = plt.get_cmap("tab10")
    for k, (label, values) in enumerate(losses.items()):
        left.plot(np.arange(len(values)), _moving_average(values, window), color=colours(k), label=label, linewidth=1.5)
    left.set_xlabel("training step")
    left.set_ylabel(f"loss (mean of {window} steps)")
    left.set_ylim(bottom=0)
    left.legend(frameon=False, fontsize=SMALL)
    left.set_title("Training loss", fontsize=TITLE)

    parts = list(next(iter(accuracy.values())))
    width = 0.8 / len(accuracy)
    for k, (label, by_part) in enumerate(accuracy.items()):
        xs = np.arange(len(parts)) + (k - (len(accuracy) - 1) / 2) * width
        values = [100 * by_part[p] for p in parts]
        bars = right.bar(xs, values, width=width * 0.95, color=colours(k), label=label)
        for bar, value in zip(bars, values):
            right.text(
                bar.get_x() + bar.get_width() / 2,
                value + 1.5,
                f"{value:.0f}%",
                ha="center",
                va="bottom",
                fontsize=SMALL,
            )
    right.set_xticks(np.arange(len(parts)), parts)
    right.legend(frameon=False, fontsize=SMALL, loc="upper left")
    right.set_ylim(0, 112)
    right.set_ylabel("next-token accuracy (%)")
    right.set_title("After training", fontsize=TITLE)
    right.grid(axis="x", visible=False)
    fig.tight_layout()
    return fig


def plot_icl_attention(
    maps: Mapping[str, Any],
    tokens: Sequence[str],
    targets: Mapping[str, Any] | None = None,
) -> Figure:
    """One heatmap per head: row = the query (the current token), column = the key it reads.

    ``maps`` maps a panel title to a (T, T) array of attention weights; ``tokens``
    labels both axes. ``targets`` (same titles, (T, T) booleans) outlines the cells a
    head should attend to if it does the job its title names."""
    if not maps:
        raise ValueError("plot_icl_attention needs at least one attention map")
    T = len(tokens)
    for title, weights in maps.items():
        if np.shape(weights) != (T, T):
            raise ValueError(f"map {title!r} has shape {np.shape(weights)}, expected ({T}, {T}) for {T} tokens")
    n = len(maps)
    size = 0.19 * T + 1.2
    fig, axes = new_figure(1, n, width=size * n + 0.8, height=size + 0.3, squeeze=False)
    for ax, (title, weights) in zip(axes[0], maps.items()):
        image = ax.imshow(np.asarray(weights, dtype=float), cmap="Blues", vmin=0.0, vmax=1.0)
        ax.set_xticks(range(T), tokens, fontsize=SMALL, family="DejaVu Sans Mono")
        ax.set_yticks(range(T), tokens, fontsize=SMALL, family="DejaVu Sans Mono")
        ax.tick_params(length=0)
        ax.grid(False)
        ax.set_xlabel("key: the token it reads", fontsize=LABEL)
        ax.set_ylabel("query: the current token", fontsize=LABEL)
        ax.set_title(title, fontsize=TITLE)
        if targets is not None and title in targets:
            rows, cols = np.nonzero(np.asarray(targets[title]))
            for r, c in zip(rows, cols):
                ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="#e8590c", linewidth=1.0))
    fig.colorbar(image, ax=list(axes[0]), shrink=0.8, label="attention weight")
    return fig
