"""The chapter 2 figures: they draw what they claim and refuse input they can't draw."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from llm_guide.figures.style import save, visible
from llm_guide.figures.tokenization import plot_token_pieces, plot_tokens_tradeoff


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_visible_whitespace():
    assert visible(" the\n\tx") == "\u2423the\u21b5\u2192x"
    assert visible("cat") == "cat"


def test_token_pieces_draws_one_box_per_token():
    rows = {"bytes (256)": list("a cat"), "BPE": ["a", " cat"]}
    fig = plot_token_pieces(rows, title="a cat")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(boxes) == 5 + 2
    # Each box is as wide as the text it holds, spaces included.
    assert sorted(b.get_width() for b in boxes) == [1, 1, 1, 1, 1, 1, 4]
    texts = _texts(ax)
    assert {"bytes (256)", "BPE", "5 tokens", "2 tokens", "\u2423cat", "\u2423"} <= set(texts)
    assert ax.get_title() == "a cat"
    # Neighbours never share a colour.
    row = sorted((b for b in boxes if b.get_y() == boxes[-1].get_y()), key=lambda b: b.get_x())
    assert row[0].get_facecolor() != row[1].get_facecolor()


def test_token_pieces_rejects_empty_rows():
    with pytest.raises(ValueError, match="at least one row"):
        plot_token_pieces({})
    with pytest.raises(ValueError, match="every row at least one token"):
        plot_token_pieces({"empty": []})


def test_tokens_tradeoff_plots_curve_and_points(tmp_path):
    sizes, per_100 = [256, 300, 350], [100.0, 70.0, 55.0]
    points = {"characters": (103, 100.0), "BPE": (350, 55.0), "cl100k_base": (100277, 22.0)}
    fig = plot_tokens_tradeoff(sizes, per_100, points, "a test text")
    left, right = fig.axes
    assert list(left.lines[0].get_xdata()) == sizes
    assert list(left.lines[0].get_ydata()) == per_100
    assert right.get_xscale() == "log"
    assert {"characters", "BPE", "cl100k_base"} <= set(_texts(right))
    assert len(right.collections) == len(points)
    assert "a test text" in fig._suptitle.get_text()
    save(fig, str(tmp_path / "tokens-test.svg"))
    svg = (tmp_path / "tokens-test.svg").read_text(encoding="utf-8")
    assert "<svg" in svg and len(svg) < 200_000


def test_tokens_tradeoff_rejects_mismatched_curve():
    with pytest.raises(ValueError, match="at least two steps"):
        plot_tokens_tradeoff([256], [100.0], {"bytes": (256, 100.0)}, "x")
    with pytest.raises(ValueError, match="got 2 and 3"):
        plot_tokens_tradeoff([256, 300], [1.0, 2.0, 3.0], {"bytes": (256, 100.0)}, "x")
