"""Chapter 6: the attention page's figures, the effect of the 1/sqrt(d) scaling and
attention weights as heat maps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from llm_guide.figures.style import SMALL, TITLE, new_figure, visible

__all__ = ["plot_attention_scaling", "plot_attention_maps"]


def plot_attention_scaling(panels: Mapping[str, Sequence[float]], xlabel: str = "key") -> Figure:
    """One query's attention weights over the keys, one bar chart per panel (for example
    the same scores with and without the 1/sqrt(d) scaling)."""
    if not panels or any(len(w) == 0 for w in panels.values()):
        raise ValueError("plot_attention_scaling needs at least one panel, and every panel at least one weight")
    n = len(panels)
    fig, axes = new_figure(1, n, width=3.6 * n, height=3.0, squeeze=False, sharey=True)
    for ax, (name, weights) in zip(axes[0], panels.items()):
        w = np.asarray(weights, dtype=float)
        positions = np.arange(len(w))
        ax.bar(positions, w, color="#3b5bdb", alpha=0.85)
        ax.set_xticks(positions, [str(i) for i in positions], fontsize=SMALL)
        ax.set_xlabel(xlabel)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{name}\nlargest weight {w.max():.2f}", fontsize=TITLE)
    axes[0][0].set_ylabel("attention weight")
    fig.tight_layout()
    return fig


def plot_attention_maps(maps: Mapping[str, Any], tokens: Sequence[str], annotate: bool = True) -> Figure:
    """Attention weights as heat maps, one per entry of ``maps`` (a (T, T) array each,
    usually one per head). Row i is the query at token i, column j the key at token j;
    ``tokens`` label both axes. ``annotate`` writes each weight in its cell."""
    if not maps:
        raise ValueError("plot_attention_maps needs at least one map")
    T = len(tokens)
    arrays = {name: np.asarray(m, dtype=float) for name, m in maps.items()}
    for name, m in arrays.items():
        if m.shape != (T, T):
            raise ValueError(f"map {name!r} has shape {m.shape}, but there are {T} tokens: need ({T}, {T})")
    n = len(arrays)
    side = 0.42 * T + 1.2
    fig, axes = new_figure(1, n, width=side * n + 0.8, height=side + 0.4, squeeze=False)
    labels = [visible(t) for t in tokens]
    for ax, (name, m) in zip(axes[0], arrays.items()):
        ax.grid(False)
        im = ax.imshow(m, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks(range(T), labels, rotation=90, fontsize=SMALL)
        ax.set_yticks(range(T), labels, fontsize=SMALL)
        ax.set_xlabel("key: the token looked at")
        ax.set_ylabel("query: the token looking")
        ax.set_title(name, fontsize=TITLE)
        if annotate:
            for i in range(T):
                for j in range(T):
                    if m[i, j] >= 0.005:
                        ax.text(
                            j,
                            i,
                            f"{m[i, j]:.1f}".lstrip("0"),
                            ha="center",
                            va="center",
                            fontsize=SMALL,
                            color="white" if m[i, j] > 0.6 else "black",
                        )
    fig.colorbar(im, ax=list(axes[0]), fraction=0.025, pad=0.02)
    return fig
