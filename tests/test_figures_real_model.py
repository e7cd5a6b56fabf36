"""The chapter 13 figure."""

from __future__ import annotations

import pytest

from llm_guide.figures.real_model import plot_top_tokens


def test_top_tokens_figure():
    fig = plot_top_tokens([" Paris", " the"], [0.75, 0.05], "The capital of France is")
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["\u2423Paris", "\u2423the"]
    widths = sorted(bar.get_width() for bar in ax.patches)
    assert widths == [0.05, 0.75]
    assert [t.get_text() for t in ax.texts] == ["0.750", "0.050"]
    assert ax.get_title() == "after 'The capital of France is'"
    with pytest.raises(ValueError, match="one probability per label"):
        plot_top_tokens([" a"], [0.5, 0.5], "x")
