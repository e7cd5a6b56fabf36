"""The look every figure shares: ``new_figure`` to start one, ``save`` to write it.

Every figure on the site is drawn by a function in ``llm_guide.figures.<page>``, called
from a block on the page it appears in; the block saves it with ``save(fig, "name.svg")``
and the doc tests check that the committed copy in ``docs/figures/`` is still what the
code draws. Figures have a white background so they read well in dark mode too.
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")  # no screen needed; pages save figures to files

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

__all__ = ["STYLE", "new_figure", "save", "visible", "as_array"]

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


def visible(piece: str) -> str:
    """A token's text as the figures show it: spaces as ␣, newlines as ↵, tabs as →."""
    return piece.replace(" ", "\u2423").replace("\n", "\u21b5").replace("\t", "\u2192")


def as_array(values: Any):
    """A tensor (detached, on the CPU), an array or a list, as a float NumPy array."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().float().numpy()
    return np.asarray(values, dtype=float)
