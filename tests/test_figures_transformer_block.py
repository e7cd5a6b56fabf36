"""The chapter 7 figure: it draws what it claims and refuses input it can't draw."""

from __future__ import annotations

import pytest

from llm_guide.figures.transformer_block import plot_next_token_panels


def test_next_token_panels_draw_kept_and_cut_tokens_and_captions(saved_svg):
    labels = ["park", "mat", "cat"]
    panels = {"softmax": [0.5, 0.3, 0.2], "top-k, k = 2": [0.625, 0.375, 0.0], "greedy": [1.0, 0.0, 0.0]}
    fig = plot_next_token_panels(panels, labels, {"greedy": "the park ."}, ncols=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == list(panels)
    assert not fig.axes[3].get_visible()  # 3 panels on a 2 x 2 grid
    top_k = visible[1]
    filled = [p for p in top_k.patches if p.get_facecolor()[3] > 0]
    assert [round(p.get_height(), 3) for p in filled] == [0.625, 0.375]
    assert len(top_k.patches) == 3  # the cut token is drawn as an empty outline
    assert [t.get_text() for t in top_k.get_xticklabels()] == labels  # nothing below it
    assert [t.get_text() for t in visible[0].get_xticklabels()] == ["", "", ""]  # "greedy" sits below
    assert visible[2].get_xlabel() == "the park ."  # the caption, under the panel
    assert visible[0].get_xlabel() == ""
    saved_svg(fig)


def test_next_token_panels_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="at least one panel"):
        plot_next_token_panels({}, ["a"])
    with pytest.raises(ValueError, match="panel 'p' has 2 probabilities for 3 labels"):
        plot_next_token_panels({"p": [0.5, 0.5]}, ["a", "b", "c"])
