"""Chapter 4: the embeddings page's figures, the table lookup, the embeddings before
and after training, and the activation functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from llm_guide.figures.style import LABEL, SMALL, TITLE, new_figure, visible

__all__ = ["plot_embedding_lookup", "plot_embedding_pca", "plot_activations"]


def plot_embedding_lookup(table: Any, labels: Sequence[str], ids: Sequence[int]) -> Figure:
    """An embedding table (V, C) as a heat map, one row per token, with the rows that
    ``ids`` look up outlined; to its right, the (T, C) result: those rows, in order,
    each joined to the row it was copied from. ``labels[i]`` names row ``i``."""
    W = np.asarray(table, dtype=float)
    if W.ndim != 2 or len(labels) != W.shape[0]:
        raise ValueError(f"need a (V, C) table and one label per row, got shape {W.shape} and {len(labels)} labels")
    if not ids or min(ids) < 0 or max(ids) >= W.shape[0]:
        raise ValueError(f"ids must be at least one row number in [0, {W.shape[0]}), got {list(ids)}")
    V, C = W.shape
    T = len(ids)
    gap = max(4.0, 0.6 * C)  # room for the arrows between the table and the result
    x_out = C + gap  # where the result starts
    limit = float(np.abs(W).max()) or 1.0
    style = dict(cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    fig, ax = new_figure(width=0.25 * (2 * C + gap) + 2.6, height=0.25 * V + 1.2)
    ax.grid(False)
    ax.set_axis_off()
    ax.imshow(W, extent=(0, C, V, 0), **style)
    ax.imshow(W[list(ids)], extent=(x_out, x_out + C, T, 0), **style)
    for i, label in enumerate(labels):
        ax.text(-0.3, i + 0.5, f"{i}  {visible(label)}", ha="right", va="center", fontsize=SMALL)
    for t, i in enumerate(ids):
        ax.add_patch(Rectangle((0, i), C, 1, fill=False, edgecolor="black", linewidth=1.6))
        ax.annotate(
            "",
            xy=(x_out - 0.2, t + 0.5),
            xytext=(C + 0.2, i + 0.5),
            arrowprops=dict(arrowstyle="-|>", color="0.3", linewidth=0.9, shrinkA=0, shrinkB=0),
        )
        ax.text(
            x_out + C + 0.3, t + 0.5, f"t={t}: {visible(labels[i])} (id {i})", ha="left", va="center", fontsize=SMALL
        )
    ax.text(C / 2, -0.4, f"the table: V = {V} rows, C = {C} columns", ha="center", va="bottom", fontsize=LABEL)
    ax.text(x_out + C / 2, -0.4, f"the lookup: T = {T} rows", ha="center", va="bottom", fontsize=LABEL)
    ax.set_xlim(-4.0, x_out + C + 7.0)
    ax.set_ylim(V + 0.2, -1.6)
    return fig


def plot_embedding_pca(
    before: Any,
    after: Any,
    labels: Sequence[str],
    explained: tuple[Sequence[float], Sequence[float]] | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
) -> Figure:
    """Token embeddings projected to 2-D, before (left) and after (right) training.

    ``before`` and ``after`` are (V, 2) coordinates, one row per label. ``explained``
    gives each panel's share of variance on its two axes; ``groups`` (name -> labels)
    colours tokens that belong together, so a reader can see whether they cluster."""
    panels = [np.asarray(before, dtype=float), np.asarray(after, dtype=float)]
    for xy in panels:
        if xy.shape != (len(labels), 2):
            raise ValueError(f"need ({len(labels)}, 2) coordinates, one row per label, got {xy.shape}")
    colour_of: dict[str, Any] = {}
    palette = plt.get_cmap("tab10")
    for k, members in enumerate((groups or {}).values()):
        for label in members:
            colour_of[label] = palette(k)
    fig, axes = new_figure(1, 2, width=9.0, height=4.2)
    names = []
    for p, (ax, xy, title) in enumerate(zip(axes, panels, ("before training (random)", "after training"))):
        for (x, y), label in zip(xy, labels):
            colour = colour_of.get(label, "0.45")
            ax.scatter([x], [y], s=18, color=colour, zorder=3)
            annotation = ax.annotate(
                visible(label),
                (x, y),
                xytext=(3, 3),
                textcoords="offset points",
                fontsize=SMALL,
                color=colour if label in colour_of else "0.25",
            )
            names.append((ax, annotation))
        ax.set_title(title, fontsize=TITLE)
        ax.margins(0.15)
        if explained is not None:
            e1, e2 = explained[p][:2]
            ax.set_xlabel(f"PC1 ({e1:.0%} of the variance)")
            ax.set_ylabel(f"PC2 ({e2:.0%})")
    if groups:
        handles = [
            plt.Line2D([], [], marker="o", linestyle="", color=palette(k), label=name) for k, name in enumerate(groups)
        ]
        fig.legend(handles=handles, fontsize=SMALL, loc="lower center", ncol=len(handles), frameon=False)
        fig.tight_layout(rect=(0, 0.07, 1, 1))
    else:
        fig.tight_layout()
    _keep_apart(fig, names)
    return fig


# Where a point's name may go, in points from the point: up right first, then the other corners.
_PLACES = [(3, 3, "left", "bottom"), (3, -3, "left", "top"), (-3, 3, "right", "bottom"), (-3, -3, "right", "top")]
_PLACES += [(0, 6, "center", "bottom"), (0, -6, "center", "top"), (7, 0, "left", "center"), (-7, 0, "right", "center")]


def _keep_apart(fig: Figure, names: Sequence[tuple[Any, Any]]) -> None:
    """Move each point's name (an annotation, in order) to the first of ``_PLACES`` where it
    overlaps no name already placed and no other point of its panel, and stays in its panel;
    if there is none, to the place where it overlaps least."""
    fig.draw_without_rendering()  # the panels' final limits, so points and names have their places
    renderer = RendererAgg(int(fig.bbox.width), int(fig.bbox.height), fig.dpi)  # to measure the names
    pad = 1.0 * fig.dpi / 72  # a point of space around a name
    placed: list[Any] = []
    for ax, annotation in names:
        box = ax.get_window_extent(renderer)
        points = [ax.transData.transform(other.xy) for panel, other in names if panel is ax and other is not annotation]
        radius = 3.0 * fig.dpi / 72
        best, best_cost = None, None
        for dx, dy, ha, va in _PLACES:
            annotation.set_position((dx, dy))
            annotation.set_ha(ha)
            annotation.set_va(va)
            extent = annotation.get_window_extent(renderer).padded(pad)
            cost = sum(_overlap(extent, other) for other in placed)
            cost += sum(_overlap(extent, (px - radius, py - radius, px + radius, py + radius)) for px, py in points)
            cost += (extent.width * extent.height) - _overlap(extent, box)  # the part outside the panel
            if best_cost is None or cost < best_cost - 1e-9:
                best, best_cost = (dx, dy, ha, va), cost
            if cost <= 1e-9:
                break
        dx, dy, ha, va = best
        annotation.set_position((dx, dy))
        annotation.set_ha(ha)
        annotation.set_va(va)
        placed.append(annotation.get_window_extent(renderer).padded(pad))


def _overlap(a: Any, b: Any) -> float:
    """The area two boxes share (a Bbox, or (x0, y0, x1, y1))."""
    ax0, ay0, ax1, ay1 = a.extents if hasattr(a, "extents") else a
    bx0, by0, bx1, by1 = b.extents if hasattr(b, "extents") else b
    return max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))


def plot_activations(
    x: Any,
    curves: Mapping[str, Any],
    scores: Sequence[float],
    probs: Sequence[float],
) -> Figure:
    """Left: activation functions, each ``curves[name]`` drawn against ``x``.
    Right: softmax as bars, the probability of each score in ``scores``."""
    xs = np.asarray(x, dtype=float)
    if len(scores) != len(probs) or not scores:
        raise ValueError(f"need one probability per score, got {len(scores)} scores and {len(probs)} probabilities")
    fig, (left, right) = new_figure(1, 2, width=9.0, height=3.4, gridspec_kw={"width_ratios": [1.3, 1]})
    for name, ys in curves.items():
        ys = np.asarray(ys, dtype=float)
        if ys.shape != xs.shape:
            raise ValueError(f"curve {name!r} has shape {ys.shape}, but x has shape {xs.shape}")
        left.plot(xs, ys, linewidth=1.8, label=name)
    left.axhline(0, color="0.3", linewidth=0.6)
    left.axvline(0, color="0.3", linewidth=0.6)
    left.set_xlabel("input z")
    left.set_ylabel("output")
    left.legend(fontsize=SMALL, frameon=False)
    left.set_title("activations: one number in, one out", fontsize=TITLE)
    positions = np.arange(len(scores))
    bars = right.bar(positions, probs, color="#3b5bdb", alpha=0.8)
    for bar, p in zip(bars, probs):
        right.text(
            bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{p:.2f}", ha="center", va="bottom", fontsize=SMALL
        )
    right.set_xticks(positions, [f"{s:g}" for s in scores])
    right.set_xlabel("score")
    right.set_ylabel("probability")
    right.set_ylim(0, max(probs) * 1.2)
    right.set_title("softmax: scores in, probabilities out", fontsize=TITLE)
    fig.tight_layout()
    return fig
