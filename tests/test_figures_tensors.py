"""The chapter 3 figures: they draw what they claim and refuse input they can't draw."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from llm_guide.figures.style import save
from llm_guide.figures.tensors import _contiguous_strides, plot_sliding_windows, plot_tensor_memory


def _cells(fig: Figure) -> list[Rectangle]:
    return [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def test_contiguous_strides_match_torch():
    torch = pytest.importorskip("torch")
    for shape in [(2, 3, 4), (4, 5, 6), (1, 7), (5,)]:
        assert _contiguous_strides(shape) == torch.empty(shape).stride()


def test_tensor_memory_draws_every_element_twice():
    fig = plot_tensor_memory((2, 3, 4), highlight=(1, 2, 3))
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    assert len(_cells(fig)) == 2 * 24  # the grids above, the flat buffer below
    texts = _texts(fig)
    assert texts.count("23") == 2  # each offset is written in both views
    assert {"+1", "+4", "+12", "t[0]", "t[1]", "t[1,2]"} <= set(texts)
    assert "offset 23" in fig.axes[0].get_title()
    # The highlighted element is the only one drawn with a thick edge, in both views.
    assert sum(p.get_linewidth() > 1 for p in _cells(fig)) == 2


def test_tensor_memory_rejects_other_ranks():
    with pytest.raises(ValueError, match="3-D"):
        plot_tensor_memory((2, 3))


def test_sliding_windows_draws_stream_and_blocks(tmp_path):
    x = ["hell", "ello", "llo "]
    y = ["ello", "llo ", "lo h"]
    fig = plot_sliding_windows(x, y)
    assert isinstance(fig, Figure)
    stream = 4 + 3  # the first block, then one new token per window
    assert len(_cells(fig)) == stream + 2 * 3 * 4
    texts = _texts(fig)
    assert {"tokens", "X[0]", "Y[2]"} <= set(texts)
    assert "\u2423" in texts  # the space is drawn visibly
    assert "3 windows of block size 4" in fig.axes[0].get_title()
    path = tmp_path / "windows.svg"
    save(fig, str(path))
    assert 0 < path.stat().st_size < 200_000


def test_sliding_windows_needs_matching_rows():
    with pytest.raises(ValueError, match="as many target rows"):
        plot_sliding_windows(["ab"], [])
