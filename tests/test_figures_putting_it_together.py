"""The chapter 11 figure."""

from __future__ import annotations

import pytest

from llm_guide.figures.putting_it_together import plot_capstone_losses


def test_capstone_losses_figure():
    fig = plot_capstone_losses({"run": [(0, 4.6, 4.6), (100, 2.5, 2.6)]}, reference=1.88)
    ax = fig.axes[0]
    assert len(ax.lines) == 3  # train, validation, reference
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["run: train", "run: validation"]
    with pytest.raises(ValueError, match="at least one"):
        plot_capstone_losses({"run": []})
