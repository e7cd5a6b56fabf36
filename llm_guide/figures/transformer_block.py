"""Chapter 7: the transformer block page's figure, next-token distributions under
each decoding setting."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from llm_guide.figures.style import SMALL, TITLE, new_figure, visible

__all__ = ["plot_next_token_panels"]


def plot_next_token_panels(
    panels: Mapping[str, Sequence[float]],
    labels: Sequence[str],
    captions: Mapping[str, str] | None = None,
    ncols: int = 3,
) -> Figure:
    """Next-token distributions as bar charts, one panel per decoding setting.
    ``panels[name][i]`` is the probability of the token ``labels[i]``; a token a setting
    cuts (probability 0) is drawn as an empty outline. ``captions[name]``, if given, is
    printed under the panel as its x label (the text that setting generated)."""
    if not panels:
        raise ValueError("plot_next_token_panels needs at least one panel")
    for name, probs in panels.items():
        if len(probs) != len(labels):
            raise ValueError(f"panel {name!r} has {len(probs)} probabilities for {len(labels)} labels")
    n = len(panels)
    ncols = min(ncols, n)
    nrows = (n + ncols - 1) // ncols
    fig, axes = new_figure(nrows, ncols, width=3.0 * ncols, height=3.3 * nrows, squeeze=False, sharey=True)
    positions = np.arange(len(labels))
    names = [visible(s) for s in labels]
    for k, (name, probs) in enumerate(panels.items()):
        ax = axes[k // ncols][k % ncols]
        p = np.asarray(probs, dtype=float)
        kept = p > 0
        ax.bar(positions[kept], p[kept], color="#3b5bdb", alpha=0.85)
        ax.bar(
            positions[~kept], np.full((~kept).sum(), 0.02), color="none", edgecolor="0.6", linewidth=0.6, linestyle=":"
        )
        # every panel uses the same order: name the tokens only where no panel sits below
        ax.set_xticks(positions, names if k + ncols >= n else [], rotation=90, fontsize=SMALL)
        ax.grid(False, axis="x")  # one vertical line per token would only add clutter
        ax.set_ylim(0, 1.05)
        ax.set_title(name, fontsize=TITLE)
        if captions and name in captions:  # as the x label, so it sits under the tick labels whatever their length
            ax.set_xlabel(
                "\n".join(textwrap.wrap(captions[name], 40)),
                fontsize=SMALL,
                style="italic",
                color="#333333",
                labelpad=6,
            )
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    for row in axes:
        row[0].set_ylabel("probability")
    fig.tight_layout(h_pad=1.5)
    return fig
