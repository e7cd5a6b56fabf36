"""Chapter 5: the positional encoding page's figures, a table's columns as waves
and position tables with the similarity of their positions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from llm_guide.figures.style import LABEL, SMALL, TITLE, new_figure

__all__ = ["plot_position_waves", "plot_position_tables"]


def _cosine_matrix(table: np.ndarray) -> np.ndarray:
    """Cosine similarity of every pair of rows of ``table`` (rows of zeros count as 0)."""
    norms = np.linalg.norm(table, axis=1, keepdims=True)
    unit = table / np.where(norms == 0, 1.0, norms)
    return unit @ unit.T


def plot_position_waves(pe: Any, channels: Sequence[int], title: str = "") -> Figure:
    """Columns of a position table drawn as curves over the positions: for a sinusoidal
    table, each column is a wave, faster for low column numbers, slower for high ones."""
    table = np.asarray(pe, dtype=float)
    if table.ndim != 2:
        raise ValueError(f"need a (T, C) table, got shape {table.shape}")
    if not channels or min(channels) < 0 or max(channels) >= table.shape[1]:
        raise ValueError(f"channels must be at least one column number in [0, {table.shape[1]}), got {list(channels)}")
    fig, ax = new_figure(width=7.5, height=3.0)
    positions = np.arange(table.shape[0])
    for c in channels:
        kind = "sin" if c % 2 == 0 else "cos"
        ax.plot(positions, table[:, c], marker="o", markersize=2.5, linewidth=1.3, label=f"column {c} ({kind})")
    ax.set_xlabel("position p")
    ax.set_ylabel("PE[p, column]")
    ax.set_ylim(-1.15, 1.15)
    ax.legend(fontsize=SMALL, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title:
        ax.set_title(title, fontsize=TITLE)
    fig.tight_layout()
    return fig


def plot_position_tables(tables: Mapping[str, Any]) -> Figure:
    """Position tables side by side. Top row: each (T, C) table as a heat map, one row
    per position. Bottom row: the cosine similarity of every pair of positions, (T, T)."""
    if not tables:
        raise ValueError("plot_position_tables needs at least one table")
    arrays = {name: np.asarray(t, dtype=float) for name, t in tables.items()}
    for name, t in arrays.items():
        if t.ndim != 2:
            raise ValueError(f"table {name!r} must be (T, C), got shape {t.shape}")
    n = len(arrays)
    fig, axes = new_figure(2, n, width=3.0 * n + 0.4, height=6.4, squeeze=False, gridspec_kw={"height_ratios": [1, 1]})
    for k, (name, t) in enumerate(arrays.items()):
        top, bottom = axes[0][k], axes[1][k]
        for ax in (top, bottom):
            ax.grid(False)
        limit = float(np.abs(t).max()) or 1.0
        im = top.imshow(t, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
        top.set_title(name, fontsize=TITLE)
        top.set_xlabel(f"column (C = {t.shape[1]})")
        top.set_ylabel("position")
        fig.colorbar(im, ax=top, fraction=0.046, pad=0.03)
        sim = bottom.imshow(_cosine_matrix(t), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        bottom.set_xlabel("position")
        bottom.set_ylabel("position")
        bottom.set_title("cosine similarity of positions", fontsize=LABEL)
        fig.colorbar(sim, ax=bottom, fraction=0.046, pad=0.03)
        top.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))  # room for two-digit columns
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
        for ax in (top, bottom):
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig
