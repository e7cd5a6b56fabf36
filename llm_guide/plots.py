"""The guide's figures, drawn with matplotlib.

Every figure on the site is drawn by a function here, called from a block on the
page it appears in; the block saves it with ``fig.savefig("name.svg")`` and the
doc tests check that the committed copy in ``docs/figures/`` is still what the code
draws. Figures have a white background so they read well in dark mode too.
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")  # no screen needed; pages save figures to files

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

__all__ = ["STYLE", "new_figure"]

#: One look for every figure. ``svg.hashsalt`` makes SVG ids repeatable, so the
#: same code draws the same file byte for byte on the same machine (and, with every
#: point kept, the same drawing to within float noise on another).
STYLE: dict[str, Any] = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.bbox": "tight",
    "svg.hashsalt": "llm-guide",
    # Every point of a line is drawn: simplification drops points by a float comparison,
    # so a curve a hair away (another CPU) would otherwise come out with other points.
    "path.simplify": False,
    "svg.fonttype": "path",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


def new_figure(nrows: int = 1, ncols: int = 1, width: float = 6.0, height: float = 3.5, **kwargs: Any):
    """A figure and its axes in the guide's style (the style applies to this figure only)."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), **kwargs)
    # rc_context only lasts for the ``with``; keep save-time settings on the figure itself.
    fig.set_facecolor("white")
    plt.close(fig)  # the caller owns it; nothing accumulates in pyplot's registry
    return fig, axes


def save(fig: Figure, path: str) -> None:
    """Save with the guide's settings (tight box, repeatable SVG ids, no date stamp)."""
    # A line decides whether to simplify when its path is made (when it is plotted, outside
    # the style), so the style's "path.simplify" has to be applied to the lines here.
    for line in fig.findobj(Line2D):
        line.get_path().should_simplify = STYLE["path.simplify"]
    with plt.rc_context(STYLE):
        fig.savefig(path, metadata={"Date": None} if path.endswith(".svg") else None)


# --- Chapter 3: tensors -----------------------------------------------------------
from matplotlib.patches import Rectangle  # noqa: E402


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Row-major strides, in elements: the last index moves by 1, each earlier one by
    the product of the sizes after it (what ``torch.empty(shape).stride()`` gives)."""
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))


def plot_tensor_memory(shape: tuple[int, int, int] = (2, 3, 4), highlight: tuple[int, int, int] | None = None) -> Figure:
    """A contiguous 3-D tensor twice: as the grids we picture (top) and as the flat
    buffer it really is (bottom), each cell labelled with its offset in the buffer.
    Arrows show the strides: how far one step along each dimension moves in memory.
    ``highlight`` marks one element in both views."""
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"plot_tensor_memory draws a 3-D tensor with sizes >= 1, got shape {tuple(shape)}")
    d0, d1, d2 = shape
    strides = _contiguous_strides(tuple(shape))
    numel = d0 * d1 * d2
    colours = [plt.get_cmap("tab10")(k % 10) for k in range(d0)]
    target = None
    if highlight is not None:
        target = sum(i * s for i, s in zip(highlight, strides))

    gap = 1.0  # space between the blocks of the top view
    top_width = d0 * d2 + (d0 - 1) * gap
    width = max(numel, top_width)
    fig, ax = new_figure(width=max(6.0, 0.34 * width + 1.0), height=0.34 * (0.225 * strides[0] + d1 + 5.5) + 0.6)
    ax.set_axis_off()
    ax.set_aspect("equal")

    def cell(x: float, y: float, offset: int, block: int) -> None:
        strong = offset == target
        ax.add_patch(
            Rectangle(
                (x, y), 1, 1, facecolor=colours[block], alpha=0.9 if strong else 0.3,
                edgecolor="black", linewidth=2.0 if strong else 0.6, clip_on=False,
            )
        )
        ax.text(x + 0.5, y + 0.5, str(offset), ha="center", va="center", fontsize=7,
                color="white" if strong else "black")

    # Top: the logical view, one d1 x d2 grid per index of the first dimension.
    x0_top = (width - top_width) / 2
    y_top = 0.225 * strides[0] + 2.2
    for i in range(d0):
        bx = x0_top + i * (d2 + gap)
        ax.text(bx + d2 / 2, y_top + d1 + 0.35, f"t[{i}]", ha="center", va="bottom", fontsize=9)
        for j in range(d1):
            for k in range(d2):
                offset = i * strides[0] + j * strides[1] + k * strides[2]
                cell(bx + k, y_top + d1 - 1 - j, offset, i)

    # Bottom: the flat buffer, in memory order.
    x0 = (width - numel) / 2
    for offset in range(numel):
        cell(x0 + offset, 0.0, offset, offset // strides[0])
    ax.text(x0 - 0.3, 0.5, "memory", ha="right", va="center", fontsize=9)
    ax.text(x0_top - 0.3, y_top + d1 / 2, f"shape\n{tuple(shape)}", ha="right", va="center", fontsize=9)

    # The strides, as jumps from offset 0: one step along each dimension.
    for dim, stride in enumerate(strides):
        if stride >= numel or shape[dim] == 1:
            continue
        ax.annotate(
            "", xy=(x0 + stride + 0.5, 1.0), xytext=(x0 + 0.5, 1.0),
            arrowprops=dict(arrowstyle="-|>", connectionstyle="arc3,rad=-0.45", color="black",
                            linewidth=0.9, shrinkA=0, shrinkB=0),
        )
        ax.text(x0 + stride / 2 + 0.5, 1.0 + 0.225 * stride + 0.35, f"+{stride}", ha="center",
                va="bottom", fontsize=8)
    # Below the buffer: which runs of memory are rows t[i, j] and blocks t[i].
    for level, (run, name) in enumerate(((strides[1], "t[{i},{j}]"), (strides[0], "t[{i}]"))):
        y = -0.35 - 0.7 * level
        for start in range(0, numel, run):
            ax.plot([x0 + start + 0.1, x0 + start + run - 0.1], [y, y], color="0.3", linewidth=1.0, clip_on=False)
            i, j = start // strides[0], (start % strides[0]) // strides[1]
            ax.text(x0 + start + run / 2, y - 0.08, name.format(i=i, j=j), ha="center", va="top", fontsize=7)

    ax.set_xlim(min(x0, x0_top) - 4.0, width + 1.0)
    ax.set_ylim(-1.9, y_top + d1 + 1.3)
    title = f"strides {strides}: offset = i*{strides[0]} + j*{strides[1]} + k*{strides[2]}"
    if highlight is not None:
        title += f";  t{list(highlight)} is at offset {target}"
    ax.set_title(title, fontsize=10)
    return fig


def _show(symbol: str) -> str:
    """Make whitespace visible in a figure."""
    return {" ": "\u2423", "\n": "\u21b5"}.get(symbol, symbol)


def plot_sliding_windows(x_rows: list[str], y_rows: list[str]) -> Figure:
    """Training windows drawn over the token stream they come from.

    ``x_rows[i]`` and ``y_rows[i]`` are the input and target blocks of window ``i``
    (one symbol per token), as ``xy_pairs`` makes them: window ``i`` starts at token
    ``i`` and the target is the input shifted one place right.
    """
    if not x_rows or len(x_rows) != len(y_rows):
        raise ValueError(f"need as many target rows as input rows (at least one), got {len(x_rows)} and {len(y_rows)}")
    block = len(x_rows[0])
    stream = list(x_rows[0]) + [y[-1] for y in y_rows]
    n = len(x_rows)
    fig, ax = new_figure(width=0.42 * len(stream) + 2.2, height=0.42 * (2.3 * n + 2.5) + 0.6)
    ax.set_axis_off()
    ax.set_aspect("equal")
    blue, orange = plt.get_cmap("tab10")(0), plt.get_cmap("tab10")(1)

    def row(symbols, start: int, y: float, colour, alpha: float) -> None:
        for k, symbol in enumerate(symbols):
            ax.add_patch(Rectangle((start + k, y), 1, 0.9, facecolor=colour, alpha=alpha,
                                                      edgecolor="black", linewidth=0.6, clip_on=False))
            ax.text(start + k + 0.5, y + 0.45, _show(symbol), ha="center", va="center", fontsize=9)

    top = 2.3 * n + 0.7
    row(stream, 0, top, "0.85", 1.0)
    ax.text(-0.3, top + 0.45, "tokens", ha="right", va="center", fontsize=9)
    for pos in range(len(stream)):
        ax.text(pos + 0.5, top + 1.1, str(pos), ha="center", va="center", fontsize=7, color="0.4")
    for i, (x, y) in enumerate(zip(x_rows, y_rows)):
        base = 2.3 * (n - 1 - i)
        row(x, i, base + 1.0, blue, 0.35)
        row(y, i + 1, base, orange, 0.35)
        ax.text(-0.3, base + 1.45, f"X[{i}]", ha="right", va="center", fontsize=8)
        ax.text(-0.3, base + 0.45, f"Y[{i}]", ha="right", va="center", fontsize=8)
    ax.set_xlim(-2.0, len(stream) + 0.2)
    ax.set_ylim(-0.3, top + 1.6)
    ax.set_title(f"{n} windows of block size {block}: Y is X shifted one token to the right", fontsize=10)
    return fig


# --- Chapter 2: tokens ------------------------------------------------------------
from collections.abc import Mapping, Sequence  # noqa: E402


def _visible(piece: str) -> str:
    """A token's text as the figures show it: spaces as ␣, newlines as ↵, tabs as →."""
    return piece.replace(" ", "\u2423").replace("\n", "\u21b5").replace("\t", "\u2192")


def plot_token_pieces(rows: Mapping[str, Sequence[str]], title: str = "") -> Figure:
    """One row per tokenizer: the same text cut into its tokens, each token a coloured
    box (neighbours alternate colours), spaces shown as ␣. ``rows`` maps a label to
    the token pieces as strings; the label is drawn at the left, the count at the right."""
    from matplotlib.patches import Rectangle

    if not rows or any(len(pieces) == 0 for pieces in rows.values()):
        raise ValueError("plot_token_pieces needs at least one row, and every row at least one token")
    colours = ["#c6dbef", "#fdd0a2", "#c7e9c0", "#dadaeb"]
    gap = 0.25  # between neighbouring boxes, in character widths
    widths = [sum(len(_visible(p)) for p in pieces) + gap * (len(pieces) - 1) for pieces in rows.values()]
    width = max(widths)
    fig, ax = new_figure(width=0.105 * width + 0.6, height=0.42 * len(rows) + 0.5)
    ax.set_axis_off()
    ax.set_xlim(0, width)
    ax.set_ylim(-0.2, 1.4 * len(rows))
    for r, (label, pieces) in enumerate(rows.items()):
        y = 1.4 * (len(rows) - 1 - r)
        x = 0.0
        for k, piece in enumerate(pieces):
            shown = _visible(piece)
            ax.add_patch(Rectangle((x, y), len(shown), 1.0, facecolor=colours[k % len(colours)],
                                   edgecolor="#555555", linewidth=0.5))
            ax.text(x + len(shown) / 2, y + 0.5, shown, ha="center", va="center",
                    family="DejaVu Sans Mono", fontsize=8.5)
            x += len(shown) + gap
        ax.text(-0.6, y + 0.5, label, ha="right", va="center", fontsize=9)
        ax.text(x + 0.4, y + 0.5, f"{len(pieces)} tokens", ha="left", va="center", fontsize=8, color="#444444")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_tokens_tradeoff(
    vocab_sizes: Sequence[int],
    tokens_per_100: Sequence[float],
    points: Mapping[str, tuple[int, float]],
    text_name: str,
) -> Figure:
    """Sequence length against vocabulary size, measured on one text.

    Left: BPE as it trains (``vocab_sizes`` = 256 + merges so far, against
    ``tokens_per_100``, tokens per 100 characters). Right: every tokenizer in
    ``points`` (label -> (vocabulary size, tokens per 100 characters)), on a log scale."""
    if len(vocab_sizes) != len(tokens_per_100) or len(vocab_sizes) < 2:
        raise ValueError(
            f"need matching vocab_sizes and tokens_per_100 with at least two steps, "
            f"got {len(vocab_sizes)} and {len(tokens_per_100)}"
        )
    fig, (left, right) = new_figure(1, 2, width=9.0, height=3.4)
    left.plot(vocab_sizes, tokens_per_100, marker="o", markersize=3, color="#3b5bdb")
    left.set_xlabel("vocabulary size (256 bytes + merges)")
    left.set_ylabel("tokens per 100 characters")
    left.set_title("As BPE trains: each merge shortens the text", fontsize=10)
    left.set_ylim(0, max(tokens_per_100) * 1.1)

    right.plot(vocab_sizes, tokens_per_100, color="#3b5bdb", linewidth=1.2, label="BPE as it trains")
    # Labels alternate above and below, in order of size, so close neighbours don't collide.
    for k, (label, (size, per_100)) in enumerate(sorted(points.items(), key=lambda item: item[1][0])):
        right.scatter([size], [per_100], s=30, color="#e8590c", zorder=3)
        right.annotate(label, (size, per_100), textcoords="offset points", fontsize=8.5,
                       xytext=(6, 5) if k % 2 == 0 else (6, -13))
    right.legend(loc="upper right", fontsize=8, frameon=False)
    right.set_xscale("log")
    sizes = [size for size, _ in points.values()]
    right.set_xlim(min(sizes) / 2, max(sizes) * 8)
    right.set_ylim(0, max(per for _, per in points.values()) * 1.15)
    right.set_xlabel("vocabulary size (log scale)")
    right.set_title("Across tokenizers: a bigger vocabulary, a shorter text", fontsize=10)
    fig.suptitle(f"Measured on {text_name}", fontsize=9, y=0.02, va="bottom", color="#444444")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


# --- Chapter 4: embeddings --------------------------------------------------------
import numpy as np  # noqa: E402


def plot_embedding_lookup(table: Any, labels: Sequence[str], ids: Sequence[int]) -> Figure:
    """An embedding table (V, C) as a heat map, one row per token, with the rows that
    ``ids`` look up outlined; to its right, the (T, C) result: those rows, in order,
    each joined to the row it was copied from. ``labels[i]`` names row ``i``."""
    from matplotlib.patches import Rectangle

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
        ax.text(-0.3, i + 0.5, f"{i}  {_visible(label)}", ha="right", va="center", fontsize=8)
    for t, i in enumerate(ids):
        ax.add_patch(Rectangle((0, i), C, 1, fill=False, edgecolor="black", linewidth=1.6))
        ax.annotate("", xy=(x_out - 0.2, t + 0.5), xytext=(C + 0.2, i + 0.5),
                    arrowprops=dict(arrowstyle="-|>", color="0.3", linewidth=0.9, shrinkA=0, shrinkB=0))
        ax.text(x_out + C + 0.3, t + 0.5, f"t={t}: {_visible(labels[i])} (id {i})", ha="left", va="center", fontsize=8)
    ax.text(C / 2, -0.4, f"the table: V = {V} rows, C = {C} columns", ha="center", va="bottom", fontsize=9)
    ax.text(x_out + C / 2, -0.4, f"the lookup: T = {T} rows", ha="center", va="bottom", fontsize=9)
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
    for k, (name, members) in enumerate((groups or {}).items()):
        for label in members:
            colour_of[label] = palette(k)
    fig, axes = new_figure(1, 2, width=9.0, height=4.2)
    for p, (ax, xy, title) in enumerate(zip(axes, panels, ("before training (random)", "after training"))):
        for (x, y), label in zip(xy, labels):
            colour = colour_of.get(label, "0.45")
            ax.scatter([x], [y], s=18, color=colour, zorder=3)
            ax.annotate(_visible(label), (x, y), xytext=(3, 3), textcoords="offset points", fontsize=8,
                        color=colour if label in colour_of else "0.25")
        ax.set_title(title, fontsize=10)
        ax.margins(0.15)
        if explained is not None:
            e1, e2 = explained[p][:2]
            ax.set_xlabel(f"PC1 ({e1:.0%} of the variance)")
            ax.set_ylabel(f"PC2 ({e2:.0%})")
    if groups:
        handles = [plt.Line2D([], [], marker="o", linestyle="", color=palette(k), label=name)
                   for k, name in enumerate(groups)]
        fig.legend(handles=handles, fontsize=8, loc="lower center", ncol=len(handles), frameon=False)
        fig.tight_layout(rect=(0, 0.07, 1, 1))
    else:
        fig.tight_layout()
    return fig


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
    left.legend(fontsize=8, frameon=False)
    left.set_title("activations: one number in, one out", fontsize=10)
    positions = np.arange(len(scores))
    bars = right.bar(positions, probs, color="#3b5bdb", alpha=0.8)
    for bar, p in zip(bars, probs):
        right.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{p:.2f}", ha="center", va="bottom", fontsize=8)
    right.set_xticks(positions, [f"{s:g}" for s in scores])
    right.set_xlabel("score")
    right.set_ylabel("probability")
    right.set_ylim(0, max(probs) * 1.2)
    right.set_title("softmax: scores in, probabilities out", fontsize=10)
    fig.tight_layout()
    return fig


# --- Chapters 5 to 7: positions, attention, the transformer block --------------------
from matplotlib.ticker import MaxNLocator  # noqa: E402


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
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title:
        ax.set_title(title, fontsize=10)
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
    fig, axes = new_figure(2, n, width=3.3 * n + 0.6, height=6.6, squeeze=False,
                           gridspec_kw={"height_ratios": [1, 1]})
    for k, (name, t) in enumerate(arrays.items()):
        top, bottom = axes[0][k], axes[1][k]
        for ax in (top, bottom):
            ax.grid(False)
        limit = float(np.abs(t).max()) or 1.0
        im = top.imshow(t, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
        top.set_title(name, fontsize=10)
        top.set_xlabel(f"column (C = {t.shape[1]})")
        top.set_ylabel("position")
        fig.colorbar(im, ax=top, fraction=0.046, pad=0.03)
        sim = bottom.imshow(_cosine_matrix(t), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        bottom.set_xlabel("position")
        bottom.set_ylabel("position")
        bottom.set_title("cosine similarity of positions", fontsize=9)
        fig.colorbar(sim, ax=bottom, fraction=0.046, pad=0.03)
        for ax in (top, bottom):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


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
        ax.set_xticks(positions, [str(i) for i in positions], fontsize=8)
        ax.set_xlabel(xlabel)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{name}\nlargest weight {w.max():.2f}", fontsize=9)
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
    labels = [_visible(t) for t in tokens]
    for ax, (name, m) in zip(axes[0], arrays.items()):
        ax.grid(False)
        im = ax.imshow(m, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks(range(T), labels, rotation=90, fontsize=8)
        ax.set_yticks(range(T), labels, fontsize=8)
        ax.set_xlabel("key: the token looked at")
        ax.set_ylabel("query: the token looking")
        ax.set_title(name, fontsize=10)
        if annotate:
            for i in range(T):
                for j in range(T):
                    if m[i, j] >= 0.005:
                        ax.text(j, i, f"{m[i, j]:.2f}".lstrip("0"), ha="center", va="center", fontsize=6.5,
                                color="white" if m[i, j] > 0.6 else "black")
    fig.colorbar(im, ax=list(axes[0]), fraction=0.025, pad=0.02)
    return fig


def plot_next_token_panels(
    panels: Mapping[str, Sequence[float]],
    labels: Sequence[str],
    captions: Mapping[str, str] | None = None,
    ncols: int = 3,
) -> Figure:
    """Next-token distributions as bar charts, one panel per decoding setting.
    ``panels[name][i]`` is the probability of the token ``labels[i]``; a token a setting
    cuts (probability 0) is drawn as an empty outline. ``captions[name]``, if given, is
    printed under the panel (the text that setting generated)."""
    if not panels:
        raise ValueError("plot_next_token_panels needs at least one panel")
    for name, probs in panels.items():
        if len(probs) != len(labels):
            raise ValueError(f"panel {name!r} has {len(probs)} probabilities for {len(labels)} labels")
    import textwrap

    n = len(panels)
    ncols = min(ncols, n)
    nrows = (n + ncols - 1) // ncols
    fig, axes = new_figure(nrows, ncols, width=3.6 * ncols, height=3.3 * nrows, squeeze=False, sharey=True)
    positions = np.arange(len(labels))
    names = [_visible(s) for s in labels]
    for k, (name, probs) in enumerate(panels.items()):
        ax = axes[k // ncols][k % ncols]
        p = np.asarray(probs, dtype=float)
        kept = p > 0
        ax.bar(positions[kept], p[kept], color="#3b5bdb", alpha=0.85)
        ax.bar(positions[~kept], np.full((~kept).sum(), 0.02), color="none", edgecolor="0.6",
               linewidth=0.6, linestyle=":")
        # every panel uses the same order: name the tokens only where no panel sits below
        ax.set_xticks(positions, names if k + ncols >= n else [], rotation=90, fontsize=7.5)
        ax.grid(False, axis="x")  # one vertical line per token would only add clutter
        ax.set_ylim(0, 1.05)
        ax.set_title(name, fontsize=9.5)
        if captions and name in captions:
            ax.text(0.5, -0.42, "\n".join(textwrap.wrap(captions[name], 44)), transform=ax.transAxes,
                    ha="center", va="top", fontsize=7.5, style="italic", color="#333333")
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    for row in axes:
        row[0].set_ylabel("probability")
    fig.tight_layout(h_pad=4.0 if captions else 1.0)
    return fig


# --- Chapters 8 and 9: weights and gradient descent -------------------------------
def _as_array(values: Any):
    """A tensor (detached, on the CPU), an array or a list, as a float NumPy array."""
    import numpy as np

    if hasattr(values, "detach"):
        values = values.detach().cpu().float().numpy()
    return np.asarray(values, dtype=float)


def plot_parameter_groups(models: Mapping[str, Mapping[str, int]], title: str = "") -> Figure:
    """One horizontal bar per model, split into its parameter groups by share of the
    total (``models[label]`` maps a group to a count, as ``weights.parameter_groups``
    gives). Shares of 4% or more are written on the bar, the total at its end."""
    if not models:
        raise ValueError("plot_parameter_groups needs at least one model")
    groups = list(dict.fromkeys(g for counts in models.values() for g in counts))
    colours = ["#4c6ef5", "#f76707", "#37b24d", "#ae3ec9", "#868e96", "#1098ad"]
    fig, ax = new_figure(width=8.0, height=0.75 * len(models) + 1.3)
    labels = list(models)
    for row, label in enumerate(labels):
        counts = models[label]
        total = sum(counts.values())
        if total <= 0:
            raise ValueError(f"model {label!r} has no parameters to draw")
        left = 0.0
        for k, group in enumerate(groups):
            share = 100.0 * counts.get(group, 0) / total
            ax.barh(row, share, left=left, color=colours[k % len(colours)], height=0.6,
                    label=group if row == 0 else None)
            if share >= 4:
                ax.text(left + share / 2, row, f"{share:.0f}%", ha="center", va="center", fontsize=8, color="white")
            left += share
        ax.text(101, row, f"{total:,}", ha="left", va="center", fontsize=8)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the model's parameters (%)")
    ax.grid(False)
    ax.legend(ncols=len(groups), fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.35))
    ax.set_title(title or "Where the parameters are (total at the right)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_weight_matrices(tensors: Mapping[str, Any], ncols: int = 3, title: str = "") -> Figure:
    """Each tensor as a heat map, one panel per name: red positive, blue negative,
    white zero (each panel scaled to its own largest magnitude). A vector is drawn
    as a one-row matrix. Titles give the name and the shape."""
    if not tensors:
        raise ValueError("plot_weight_matrices needs at least one tensor")
    items = list(tensors.items())
    nrows = -(-len(items) // ncols)
    fig, axes = new_figure(nrows, ncols, width=3.0 * ncols, height=2.5 * nrows, squeeze=False)
    for ax, (name, tensor) in zip(axes.flat, items):
        values = _as_array(tensor)
        if values.ndim not in (1, 2):
            raise ValueError(f"{name!r} has {values.ndim} dimensions; draw matrices and vectors only")
        shape = " × ".join(str(n) for n in values.shape)
        if values.ndim == 1:
            values = values[None, :]
        limit = float(abs(values).max()) or 1.0
        ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
        ax.set_title(f"{name}\n{shape}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    for ax in list(axes.flat)[len(items):]:
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def gpt_mermaid(model: Any) -> str:
    """A GPT's data flow as a Mermaid flowchart, built from the model's own modules.

    Every rectangle is a module that stores weights, named as in the state dict
    (``transformer.h.0.attn.c_attn``) with the shapes of its tensors read from
    the model; rounded boxes are operations with no weights of their own; dotted
    arrows are residual connections, placed as the model's ``norm`` setting says.
    """
    lines = ["flowchart TD"]

    def node_id(name: str) -> str:
        return name.replace(".", "_")

    def box(name: str, note: str = "") -> str:
        module = model.get_submodule(name)  # raises if the name is not a module of the model
        shapes = ", ".join(
            f"{param} {' × '.join(str(n) for n in tensor.shape)}"
            for param, tensor in module.named_parameters(recurse=False)
        )
        return f'{node_id(name)}["{name}<br/>{shapes}{note}"]'

    def op(key: str, text: str) -> str:
        return f'{key}(["{text}"])'

    lines += [
        "    " + op("ids", "token ids"),
        "    " + op("pos", "positions 0 … T-1"),
        "    " + box("transformer.wte"),
        "    " + box("transformer.wpe"),
        '    embed(("+"))',
        "    ids --> transformer_wte --> embed",
        "    pos --> transformer_wpe --> embed",
    ]
    stream = "embed"
    for i, block in enumerate(model.transformer.h):
        p = f"transformer.h.{i}"
        act = {"gelu": "GELU", "relu": "ReLU"}.get(block.mlp.activation, block.mlp.activation)
        lines.append(f'    subgraph {node_id(p)} ["{p}"]')
        for name in ("ln_1", "attn.c_attn", "attn.c_proj", "ln_2", "mlp.c_fc", "mlp.c_proj"):
            lines.append("        " + box(f"{p}.{name}"))
        lines += [
            "        " + op(f"attend{i}", "softmax(QKᵀ/√hs) V"),
            "        " + op(f"act{i}", act),
            f'        add_attn{i}(("+"))',
            f'        add_mlp{i}(("+"))',
            "    end",
        ]
        q = node_id(p)
        attn_path = f"{q}_attn_c_attn --> attend{i} --> {q}_attn_c_proj --> add_attn{i}"
        mlp_path = f"{q}_mlp_c_fc --> act{i} --> {q}_mlp_c_proj --> add_mlp{i}"
        if block.norm == "pre":  # x + attn(ln_1(x)), then x + mlp(ln_2(x))
            lines += [
                f"    {stream} --> {q}_ln_1 --> {attn_path}",
                f"    {stream} -. residual .-> add_attn{i}",
                f"    add_attn{i} --> {q}_ln_2 --> {mlp_path}",
                f"    add_attn{i} -. residual .-> add_mlp{i}",
            ]
            stream = f"add_mlp{i}"
        else:  # ln_1(x + attn(x)), then ln_2(x + mlp(x))
            lines += [
                f"    {stream} --> {attn_path}",
                f"    {stream} -. residual .-> add_attn{i}",
                f"    add_attn{i} --> {q}_ln_1 --> {mlp_path}",
                f"    {q}_ln_1 -. residual .-> add_mlp{i}",
                f"    add_mlp{i} --> {q}_ln_2",
            ]
            stream = f"{q}_ln_2"
    if "ln_f" in model.transformer:
        lines += ["    " + box("transformer.ln_f"), f"    {stream} --> transformer_ln_f"]
        stream = "transformer_ln_f"
    tied = model.lm_head.weight is model.transformer.wte.weight
    lines += [
        "    " + box("lm_head", "<br/>(the same matrix as transformer.wte)" if tied else ""),
        "    " + op("logits", "logits: a score per token"),
        f"    {stream} --> lm_head --> logits",
    ]
    return "\n".join(lines)


def plot_descent_1d(
    f: Any, paths: Mapping[str, Any], lo: float, hi: float, xlabel: str = "weight w"
) -> Figure:
    """One panel per path (``label -> DescentPath``): the loss curve ``f`` over
    [lo, hi], widened to hold the whole path, and the points gradient descent
    visited, joined in order (the first marked as the start)."""
    import numpy as np

    if not paths:
        raise ValueError("plot_descent_1d needs at least one path")
    fig, axes = new_figure(1, len(paths), width=3.2 * len(paths), height=3.0, squeeze=False, sharey=False)
    colours = ["#4c6ef5", "#37b24d", "#f03e3e", "#f76707"]
    for k, (ax, (label, path)) in enumerate(zip(axes[0], paths.items())):
        points, losses = _as_array(path.points), _as_array(path.losses)
        a, b = min(lo, points.min()), max(hi, points.max())
        pad = 0.05 * (b - a)
        xs = np.linspace(a - pad, b + pad, 300)
        ax.plot(xs, [f(x) for x in xs], color="0.55", linewidth=1.2)
        colour = colours[k % len(colours)]
        ax.plot(points, losses, "-o", color=colour, markersize=3.5, linewidth=0.9, alpha=0.9)
        ax.plot(points[:1], losses[:1], "s", color="black", markersize=5, label="start")
        ax.set_title(f"{label}\n{len(points) - 1} steps, loss {losses[0]:.3g} → {losses[-1]:.3g}", fontsize=9)
        ax.set_xlabel(xlabel)
        ax.legend(fontsize=7, frameon=False, loc="upper center")
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
    import numpy as np

    if not paths:
        raise ValueError("plot_descent_2d needs at least one path")
    fig, (left, right) = new_figure(1, 2, width=9.5, height=3.6, gridspec_kw={"width_ratios": [1.5, 1]})
    xs, ys = np.linspace(*xlim, 121), np.linspace(*ylim, 121)
    grid = np.array([[f(np.array([x, y])) for x in xs] for y in ys])
    low = max(grid.min(), 1e-3)
    levels = np.geomspace(low * 2, grid.max(), 10)
    left.contour(xs, ys, grid, levels=levels, colors="0.7", linewidths=0.7)
    left.plot([0], [0], "*", color="black", markersize=9, label="minimum")
    colours = ["#4c6ef5", "#37b24d", "#f03e3e", "#f76707", "#ae3ec9"]
    for k, (label, path) in enumerate(paths.items()):
        points, losses = _as_array(path.points), _as_array(path.losses)
        colour = colours[k % len(colours)]
        left.plot(points[:, 0], points[:, 1], "-o", color=colour, markersize=2.5, linewidth=1.0, label=label)
        right.plot(range(len(losses)), losses, color=colour, linewidth=1.4, label=label)
    left.set_xlim(*xlim)
    left.set_ylim(*ylim)
    left.set_xlabel("x")
    left.set_ylabel("y")
    left.grid(False)
    left.legend(fontsize=7, frameon=False, loc="lower right")
    left.set_title(title or "paths on the loss surface", fontsize=10)
    right.set_yscale("log")
    right.set_xlabel("step")
    right.set_ylabel("loss (log scale)")
    right.set_title("loss at each step", fontsize=10)
    fig.tight_layout()
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
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(title or "linear warm-up, then cosine decay", fontsize=10)
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
        ax.plot(range(len(result.losses)), result.losses, color="#4c6ef5", alpha=0.25, linewidth=0.8,
                label="batch loss")
        steps = [e.step for e in result.evals]
        ax.plot(steps, [e.train_loss for e in result.evals], "-o", color="#4c6ef5", markersize=3.5,
                label="train (mean)")
        if any(e.val_loss is not None for e in result.evals):
            points = [(e.step, e.val_loss) for e in result.evals if e.val_loss is not None]
            ax.plot(*zip(*points), "-s", color="#f76707", markersize=3.5, label="validation (mean)")
        ax.set_xlabel("step")
        ax.set_ylabel("cross-entropy loss")
        ax.set_ylim(bottom=0)
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# --- Chapters 10 and 11: in-context learning, putting it together -----------------
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
    fig, (left, right) = new_figure(1, 2, width=9.5, height=3.4, gridspec_kw={"width_ratios": [1.5, 1]})
    colours = plt.get_cmap("tab10")
    for k, (label, values) in enumerate(losses.items()):
        left.plot(np.arange(len(values)), _moving_average(values, window), color=colours(k), label=label, linewidth=1.5)
    left.set_xlabel("training step")
    left.set_ylabel(f"loss (mean of {window} steps)")
    left.set_ylim(bottom=0)
    left.legend(frameon=False, fontsize=8)
    left.set_title("Training loss", fontsize=10)

    parts = list(next(iter(accuracy.values())))
    width = 0.8 / len(accuracy)
    for k, (label, by_part) in enumerate(accuracy.items()):
        xs = np.arange(len(parts)) + (k - (len(accuracy) - 1) / 2) * width
        values = [100 * by_part[p] for p in parts]
        bars = right.bar(xs, values, width=width * 0.95, color=colours(k), label=label)
        for bar, value in zip(bars, values):
            right.text(bar.get_x() + bar.get_width() / 2, value + 1.5, f"{value:.0f}%", ha="center", va="bottom", fontsize=8)
    right.set_xticks(np.arange(len(parts)), parts)
    right.legend(frameon=False, fontsize=8, loc="upper left")
    right.set_ylim(0, 112)
    right.set_ylabel("next-token accuracy (%)")
    right.set_title("After training", fontsize=10)
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
        ax.set_xticks(range(T), tokens, fontsize=7, family="DejaVu Sans Mono")
        ax.set_yticks(range(T), tokens, fontsize=7, family="DejaVu Sans Mono")
        ax.tick_params(length=0)
        ax.grid(False)
        ax.set_xlabel("key: the token it reads", fontsize=9)
        ax.set_ylabel("query: the current token", fontsize=9)
        ax.set_title(title, fontsize=10)
        if targets is not None and title in targets:
            rows, cols = np.nonzero(np.asarray(targets[title]))
            for r, c in zip(rows, cols):
                ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="#e8590c", linewidth=1.0))
    fig.colorbar(image, ax=list(axes[0]), shrink=0.8, label="attention weight")
    return fig


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
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
