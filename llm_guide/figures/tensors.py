"""Chapter 3: the tensors page's figures, a tensor's memory layout and the
training windows cut from a token stream."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from llm_guide.figures.style import LABEL, SMALL, TITLE, new_figure

__all__ = ["plot_tensor_memory", "plot_sliding_windows"]


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Row-major strides, in elements: the last index moves by 1, each earlier one by
    the product of the sizes after it (what ``torch.empty(shape).stride()`` gives)."""
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))


def plot_tensor_memory(
    shape: tuple[int, int, int] = (2, 3, 4), highlight: tuple[int, int, int] | None = None
) -> Figure:
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
                (x, y),
                1,
                1,
                facecolor=colours[block],
                alpha=0.9 if strong else 0.3,
                edgecolor="black",
                linewidth=2.0 if strong else 0.6,
                clip_on=False,
            )
        )
        ax.text(
            x + 0.5,
            y + 0.5,
            str(offset),
            ha="center",
            va="center",
            fontsize=SMALL,
            color="white" if strong else "black",
        )

    # Top: the logical view, one d1 x d2 grid per index of the first dimension.
    x0_top = (width - top_width) / 2
    y_top = 0.225 * strides[0] + 2.2
    for i in range(d0):
        bx = x0_top + i * (d2 + gap)
        ax.text(bx + d2 / 2, y_top + d1 + 0.35, f"t[{i}]", ha="center", va="bottom", fontsize=LABEL)
        for j in range(d1):
            for k in range(d2):
                offset = i * strides[0] + j * strides[1] + k * strides[2]
                cell(bx + k, y_top + d1 - 1 - j, offset, i)

    # Bottom: the flat buffer, in memory order.
    x0 = (width - numel) / 2
    for offset in range(numel):
        cell(x0 + offset, 0.0, offset, offset // strides[0])
    ax.text(x0 - 0.3, 0.5, "memory", ha="right", va="center", fontsize=LABEL)
    ax.text(x0_top - 0.3, y_top + d1 / 2, f"shape\n{tuple(shape)}", ha="right", va="center", fontsize=LABEL)

    # The strides, as jumps from offset 0: one step along each dimension.
    for dim, stride in enumerate(strides):
        if stride >= numel or shape[dim] == 1:
            continue
        ax.annotate(
            "",
            xy=(x0 + stride + 0.5, 1.0),
            xytext=(x0 + 0.5, 1.0),
            arrowprops=dict(
                arrowstyle="-|>", connectionstyle="arc3,rad=-0.45", color="black", linewidth=0.9, shrinkA=0, shrinkB=0
            ),
        )
        ax.text(
            x0 + stride / 2 + 0.5, 1.0 + 0.225 * stride + 0.35, f"+{stride}", ha="center", va="bottom", fontsize=SMALL
        )
    # Below the buffer: which runs of memory are rows t[i, j] and blocks t[i].
    for level, (run, name) in enumerate(((strides[1], "t[{i},{j}]"), (strides[0], "t[{i}]"))):
        y = -0.35 - 0.7 * level
        for start in range(0, numel, run):
            ax.plot([x0 + start + 0.1, x0 + start + run - 0.1], [y, y], color="0.3", linewidth=1.0, clip_on=False)
            i, j = start // strides[0], (start % strides[0]) // strides[1]
            ax.text(x0 + start + run / 2, y - 0.08, name.format(i=i, j=j), ha="center", va="top", fontsize=SMALL)

    ax.set_xlim(min(x0, x0_top) - 4.0, width + 1.0)
    ax.set_ylim(-1.9, y_top + d1 + 1.3)
    title = f"strides {strides}: offset = i*{strides[0]} + j*{strides[1]} + k*{strides[2]}"
    if highlight is not None:
        title += f";  t{list(highlight)} is at offset {target}"
    ax.set_title(title, fontsize=TITLE)
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
            ax.add_patch(
                Rectangle(
                    (start + k, y),
                    1,
                    0.9,
                    facecolor=colour,
                    alpha=alpha,
                    edgecolor="black",
                    linewidth=0.6,
                    clip_on=False,
                )
            )
            ax.text(start + k + 0.5, y + 0.45, _show(symbol), ha="center", va="center", fontsize=LABEL)

    top = 2.3 * n + 0.7
    row(stream, 0, top, "0.85", 1.0)
    ax.text(-0.3, top + 0.45, "tokens", ha="right", va="center", fontsize=LABEL)
    for pos in range(len(stream)):
        ax.text(pos + 0.5, top + 1.1, str(pos), ha="center", va="center", fontsize=SMALL, color="0.4")
    for i, (x, y) in enumerate(zip(x_rows, y_rows)):
        base = 2.3 * (n - 1 - i)
        row(x, i, base + 1.0, blue, 0.35)
        row(y, i + 1, base, orange, 0.35)
        ax.text(-0.3, base + 1.45, f"X[{i}]", ha="right", va="center", fontsize=LABEL)
        ax.text(-0.3, base + 0.45, f"Y[{i}]", ha="right", va="center", fontsize=LABEL)
    ax.set_xlim(-2.0, len(stream) + 0.2)
    ax.set_ylim(-0.3, top + 1.6)
    ax.set_title(f"{n} windows of block size {block}: Y is X shifted one token to the right", fontsize=TITLE)
    return fig
