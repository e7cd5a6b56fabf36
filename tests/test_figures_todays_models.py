"""The chapter 12 figures."""

from __future__ import annotations

import numpy as np
import pytest

from llm_guide.figures.todays_models import plot_cache_work, plot_position_scores


def test_position_scores_figure():
    scores = np.arange(16.0).reshape(4, 4)
    fig = plot_position_scores({"a": scores, "b": -scores})
    assert [ax.get_title() for ax in fig.axes[:2]] == ["a", "b"]
    assert len(fig.axes) == 4  # each heat map has a colour bar
    assert fig.axes[0].images[0].get_array().shape == (4, 4)
    with pytest.raises(ValueError, match="square"):
        plot_position_scores({"a": np.zeros((2, 3))})
    with pytest.raises(ValueError, match="at least one"):
        plot_position_scores({})


def test_cache_work_figure():
    calls = {"without": [(3, 3), (4, 4), (4, 4)], "with the cache": [(3, 3), (1, 4), (4, 4)]}
    fig = plot_cache_work(calls, full_at=2)
    left, right = fig.axes
    assert [line.get_label() for line in left.lines[:2]] == ["without", "with the cache"]
    assert list(left.lines[1].get_ydata()) == [3, 1, 4]
    assert list(right.lines[0].get_ydata()) == [9, 16, 16]  # T * S scores
    assert len(left.lines) == 3  # two ways and the "context full" marker
    with pytest.raises(ValueError, match="at least one step"):
        plot_cache_work({"without": []})
