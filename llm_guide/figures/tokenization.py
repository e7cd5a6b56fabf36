"""Chapter 2: the tokenization page's figures, one text cut into tokens and the
trade-off between vocabulary size and sequence length."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from llm_guide.figures.style import LABEL, SMALL, TITLE, new_figure, visible

__all__ = ["plot_token_pieces", "plot_tokens_tradeoff"]


def plot_token_pieces(rows: Mapping[str, Sequence[str]], title: str = "") -> Figure:
    """One row per tokenizer: the same text cut into its tokens, each token a coloured
    box (neighbours alternate colours), spaces shown as ␣. ``rows`` maps a label to
    the token pieces as strings; the label is drawn at the left, the count at the right."""
    if not rows or any(len(pieces) == 0 for pieces in rows.values()):
        raise ValueError("plot_token_pieces needs at least one row, and every row at least one token")
    colours = ["#c6dbef", "#fdd0a2", "#c7e9c0", "#dadaeb"]
    gap = 0.25  # between neighbouring boxes, in character widths
    widths = [sum(len(visible(p)) for p in pieces) + gap * (len(pieces) - 1) for pieces in rows.values()]
    width = max(widths)
    fig, ax = new_figure(width=0.105 * width + 0.6, height=0.42 * len(rows) + 0.5)
    ax.set_axis_off()
    ax.set_xlim(0, width)
    ax.set_ylim(-0.2, 1.4 * len(rows))
    for r, (label, pieces) in enumerate(rows.items()):
        y = 1.4 * (len(rows) - 1 - r)
        x = 0.0
        for k, piece in enumerate(pieces):
            shown = visible(piece)
            ax.add_patch(
                Rectangle(
                    (x, y), len(shown), 1.0, facecolor=colours[k % len(colours)], edgecolor="#555555", linewidth=0.5
                )
            )
            ax.text(
                x + len(shown) / 2, y + 0.5, shown, ha="center", va="center", family="DejaVu Sans Mono", fontsize=SMALL
            )
            x += len(shown) + gap
        ax.text(-0.6, y + 0.5, label, ha="right", va="center", fontsize=LABEL)
        ax.text(x + 0.4, y + 0.5, f"{len(pieces)} tokens", ha="left", va="center", fontsize=SMALL, color="#444444")
    if title:
        ax.set_title(title, fontsize=TITLE)
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
    left.set_title("As BPE trains: each merge shortens the text", fontsize=TITLE)
    left.set_ylim(0, max(tokens_per_100) * 1.1)

    right.plot(vocab_sizes, tokens_per_100, color="#3b5bdb", linewidth=1.2, label="BPE as it trains")
    # Labels alternate above and below, in order of size, so close neighbours don't collide.
    for k, (label, (size, per_100)) in enumerate(sorted(points.items(), key=lambda item: item[1][0])):
        right.scatter([size], [per_100], s=30, color="#e8590c", zorder=3)
        right.annotate(
            label,
            (size, per_100),
            textcoords="offset points",
            fontsize=SMALL,
            xytext=(6, 5) if k % 2 == 0 else (6, -13),
        )
    right.legend(loc="upper right", fontsize=SMALL, frameon=False)
    right.set_xscale("log")
    sizes = [size for size, _ in points.values()]
    right.set_xlim(min(sizes) / 2, max(sizes) * 8)
    right.set_ylim(0, max(per for _, per in points.values()) * 1.15)
    right.set_xlabel("vocabulary size (log scale)")
    right.set_title("Across tokenizers: a bigger vocabulary, a shorter text", fontsize=TITLE)
    fig.suptitle(f"Measured on {text_name}", fontsize=SMALL, y=0.02, va="bottom", color="#444444")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig
