"""Chapter 12: the today's models page's figures, attention scores under two kinds of
positions and the work a generation step does with and without the key-value cache."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from llm_guide.figures.style import SMALL, TITLE, as_array, new_figure

__all__ = ["plot_position_scores", "plot_cache_work"]


def plot_position_scores(scores: Mapping[str, Any]) -> Figure:
    """(T, T) score matrices side by side as heat maps: entry [m, n] is the score of the
    query at position m against the key at position n. A matrix whose every diagonal is
    one colour depends on the distance n - m only."""
    if not scores:
        raise ValueError("plot_position_scores needs at least one score matrix")
    arrays = {name: as_array(s) for name, s in scores.items()}
    for name, s in arrays.items():
        if s.ndim != 2 or s.shape[0] != s.shape[1]:
            raise ValueError(f"scores {name!r} must be a square (T, T) matrix, got shape {s.shape}")
    n = len(arrays)
    fig, axes = new_figure(1, n, width=3.4 * n + 0.4, height=3.4, squeeze=False)
    for ax, (name, s) in zip(axes[0], arrays.items()):
        ax.grid(False)
        limit = float(np.abs(s).max()) or 1.0
        im = ax.imshow(s, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(name, fontsize=TITLE)
        ax.set_xlabel("key position n")
        ax.set_ylabel("query position m")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    fig.tight_layout()
    return fig


def plot_cache_work(calls: Mapping[str, Sequence[tuple[int, int]]], full_at: int | None = None) -> Figure:
    """The work of every generation step, one line per way of generating.

    ``calls`` maps a label to one ``(T, S)`` pair per generated token: the model read T
    new tokens and each of them scored S keys in every attention head. Left: T, the
    tokens run through every layer. Right: T * S, the query-key scores of one head.
    ``full_at`` marks the generated token at which the text fills the context."""
    if not calls or any(len(steps) == 0 for steps in calls.values()):
        raise ValueError("plot_cache_work needs at least one way of generating with at least one step")
    fig, (left, right) = new_figure(1, 2, width=8.0, height=3.2)
    styles = ({"color": "tab:red", "linestyle": "-"}, {"color": "tab:blue", "linestyle": "--"})
    for k, (label, steps) in enumerate(calls.items()):
        T, S = (np.asarray(column, dtype=float) for column in zip(*steps))
        step = np.arange(1, len(T) + 1)
        style = styles[k % len(styles)]
        left.plot(step, T, label=label, linewidth=1.5, **style)
        right.plot(step, T * S, label=label, linewidth=1.5, **style)
    for ax, ylabel in ((left, "tokens the model reads"), (right, "query-key scores per head")):
        ax.set_xlabel("generated token")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if full_at is not None:
            ax.axvline(full_at, color="0.5", linewidth=0.8, linestyle=":")
    left.legend(frameon=False, fontsize=SMALL)
    if full_at is not None:
        right.annotate(
            "context full",
            xy=(full_at, 0.12),  # low, left of the line: clear of both curves
            xycoords=("data", "axes fraction"),
            xytext=(-4, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            fontsize=SMALL,
            color="0.4",
        )
    fig.tight_layout()
    return fig
