"""Chapter 13: the real model's next-token probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from llm_guide.figures.style import LABEL, TITLE, new_figure, visible

__all__ = ["plot_top_tokens"]


def plot_top_tokens(labels: Sequence[str], probs: Sequence[float], context: str) -> Figure:
    """The most likely next tokens after ``context`` as horizontal bars, most likely on top,
    each labelled with its probability. ``labels[i]`` has probability ``probs[i]``."""
    if not labels or len(labels) != len(probs):
        raise ValueError(f"need one probability per label, got {len(labels)} labels and {len(probs)} probabilities")
    p = np.asarray(probs, dtype=float)
    fig, ax = new_figure(width=6.0, height=0.5 * len(labels) + 1.0)
    rows = np.arange(len(labels))[::-1]  # the first label at the top
    ax.barh(rows, p, color="#3b5bdb", alpha=0.85)
    ax.set_yticks(rows, [visible(label) for label in labels], fontsize=TITLE)
    for row, value in zip(rows, p):
        ax.text(value + 0.01, row, f"{value:.3f}", va="center", fontsize=LABEL)
    ax.set_xlim(0, 1.0)
    ax.set_xlabel("probability of the next token")
    ax.grid(False, axis="y")
    ax.set_title(f"after {context!r}", fontsize=TITLE)
    fig.tight_layout()
    return fig
