"""The look every figure shares: ``new_figure`` to start one, ``save`` to write it.

Every figure on the site is drawn by a function in ``llm_guide.figures.<page>``, called
from a block on the page it appears in; the block saves it with ``save(fig, "name.svg")``
and the doc tests check that the committed copy in ``docs/figures/`` is still what the
code draws. Figures have a white background so they read well in dark mode too.

Text sizes: every text of every figure is one of three named sizes, ``TITLE``, ``LABEL`` and
``SMALL`` (in points), never a number of its own, so text looks alike from figure to figure.
The rule they keep, checked on every committed figure by ``tests/test_figure_text.py``:
each text is at least ``MIN_DESKTOP_PX`` (9 px) on the desktop page, where a figure wider
than the reading column (``COLUMN_PX``) is scaled down to fit it (``desktop_px`` gives the
size), and at least ``MIN_NATURAL_PT`` (7.5 pt, so 10 px) at its natural size, as a reader
who enlarges a figure sees it. With ``SMALL`` = 9 pt, a figure may be at most
``max_width_pt()`` = 688 pt (9.6 inches) wide once saved; keep wide figures well below it.
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")  # no screen needed; pages save figures to files

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

__all__ = [
    "STYLE",
    "TITLE",
    "LABEL",
    "SMALL",
    "TEXT_SIZES",
    "COLUMN_PX",
    "MIN_DESKTOP_PX",
    "MIN_NATURAL_PT",
    "desktop_px",
    "max_width_pt",
    "new_figure",
    "save",
    "visible",
    "as_array",
]

#: A panel's or a figure's title (points), and the few labels a figure is about when they
#: should stand out (chapter 13's candidate tokens).
TITLE = 11.0
#: Axis labels, tick labels, colour-bar labels, row and column labels, values written beside
#: bars (points): the default text of a figure.
LABEL = 10.0
#: The smallest text (points): legends, values written in heat-map cells and on bars, the token
#: labels of heat maps and bar charts, notes and captions.
SMALL = 9.0
#: Every size a figure's text may have, smallest first.
TEXT_SIZES: tuple[float, ...] = (SMALL, LABEL, TITLE)

#: The width of the site's reading column, in CSS pixels, on a 1,280-px desktop window
#: (Material for MkDocs' content column beside the navigation and the table of contents).
#: An SVG saved by matplotlib is ``width="Wpt"``, shown at W * 4/3 px, and scaled down to
#: this width if it is wider, its text with it.
COLUMN_PX = 688
#: The smallest a figure's text may be on that desktop page, in CSS pixels.
MIN_DESKTOP_PX = 9.0
#: The smallest a figure's text may be at its natural size, in points (10 px: what a reader
#: sees when they open a figure on its own, on a phone for instance).
MIN_NATURAL_PT = 7.5


def desktop_px(fontsize_pt: float, width_pt: float) -> float:
    """The size in CSS pixels of ``fontsize_pt`` text in a figure ``width_pt`` wide (as saved)
    on the 1,280-px desktop page: 4/3 px per point, times the scale that fits the figure in
    the ``COLUMN_PX`` column (1 if it fits already)."""
    natural_px = width_pt * 4 / 3
    return fontsize_pt * 4 / 3 * min(1.0, COLUMN_PX / natural_px)


def max_width_pt(fontsize_pt: float = SMALL) -> float:
    """The widest a saved figure may be (points) for ``fontsize_pt`` text to stay at
    ``MIN_DESKTOP_PX`` or more on the desktop page (688 pt for ``SMALL``)."""
    return fontsize_pt * COLUMN_PX / MIN_DESKTOP_PX


#: One look for every figure. ``svg.hashsalt`` makes SVG ids repeatable, so the
#: same code draws the same file byte for byte on the same machine (and, with every
#: point kept, the same drawing to within float noise on another). Its ``font.size`` is
#: ``LABEL``, matplotlib's default too, so text drawn without a size (axis labels) is
#: ``LABEL`` whether or not the style is active.
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
    "font.size": LABEL,
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
    for ax in fig.axes:  # tick labels made later (set_xticks) keep this size too
        ax.tick_params(labelsize=LABEL)
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
