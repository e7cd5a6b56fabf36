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
