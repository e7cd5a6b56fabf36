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

__all__ = ["STYLE", "new_figure"]

#: One look for every figure. ``svg.hashsalt`` makes SVG ids repeatable, so the
#: same code draws the same file byte for byte on the same machine.
STYLE: dict[str, Any] = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.bbox": "tight",
    "svg.hashsalt": "llm-guide",
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
