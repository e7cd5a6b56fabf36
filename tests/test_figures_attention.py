"""The chapter 6 figures: they draw what they claim and refuse input they can't draw."""

from __future__ import annotations

import numpy as np
import pytest

from llm_guide.figures.attention import plot_attention_maps, plot_attention_scaling


def test_attention_scaling_draws_one_bar_per_key():
    fig = plot_attention_scaling({"raw": [0.0, 1.0, 0.0], "scaled": [0.2, 0.5, 0.3]})
    raw, scaled = fig.axes
    assert [round(p.get_height(), 2) for p in scaled.patches] == [0.2, 0.5, 0.3]
    assert "largest weight 1.00" in raw.get_title()
    with pytest.raises(ValueError, match="every panel at least one weight"):
        plot_attention_scaling({"empty": []})


def test_attention_maps_labels_both_axes_with_the_tokens(saved_svg):
    w = np.tril(np.ones((3, 3)))
    w /= w.sum(axis=1, keepdims=True)
    fig = plot_attention_maps({"head 0": w, "head 1": np.eye(3)}, ["The", "cat", "sat"])
    maps = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in maps] == ["head 0", "head 1"]
    assert [t.get_text() for t in maps[0].get_xticklabels()] == ["The", "cat", "sat"]
    assert [t.get_text() for t in maps[0].get_yticklabels()] == ["The", "cat", "sat"]
    # Weights are written in their cells; masked (zero) cells stay empty.
    assert sorted(t.get_text() for t in maps[0].texts) == [".3", ".3", ".3", ".5", ".5", "1.0"]
    saved_svg(fig)


def test_attention_maps_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="at least one map"):
        plot_attention_maps({}, ["a"])
    with pytest.raises(ValueError, match=r"there are 2 tokens: need \(2, 2\)"):
        plot_attention_maps({"h": np.eye(3)}, ["a", "b"])
