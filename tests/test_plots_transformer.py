"""The chapter 5 to 7 figures: they draw what they claim and refuse input they can't draw."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from llm_guide.plots import (
    _cosine_matrix,
    plot_attention_maps,
    plot_attention_scaling,
    plot_next_token_panels,
    plot_position_tables,
    plot_position_waves,
    save,
)


def _saved_svg(fig: Figure, tmp_path) -> str:
    path = tmp_path / "figure.svg"
    save(fig, str(path))
    assert path.stat().st_size < 200_000
    return path.read_text(encoding="utf-8")


def test_cosine_matrix_is_one_on_the_diagonal_and_handles_zero_rows():
    table = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0], [-3.0, 0.0]])
    sim = _cosine_matrix(table)
    assert sim.shape == (4, 4)
    assert np.allclose(np.diag(sim)[[0, 1, 3]], 1.0)
    assert sim[0, 1] == 0.0 and sim[0, 3] == -1.0
    assert np.all(sim[2] == 0.0)  # a zero row is similar to nothing, and no NaN


def test_position_waves_draws_one_curve_per_column(tmp_path):
    pe = np.sin(np.arange(20)[:, None] * np.array([1.0, 0.5, 0.1, 0.05]))
    fig = plot_position_waves(pe, [0, 2, 3], title="waves")
    ax = fig.axes[0]
    assert len(ax.lines) == 3
    assert np.allclose(ax.lines[1].get_ydata(), pe[:, 2])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["column 0 (sin)", "column 2 (sin)", "column 3 (cos)"]
    assert ax.get_title() == "waves"
    assert 'fill: #ffffff' in _saved_svg(fig, tmp_path)


def test_position_waves_rejects_bad_input():
    with pytest.raises(ValueError, match=r"need a \(T, C\) table"):
        plot_position_waves(np.zeros(5), [0])
    with pytest.raises(ValueError, match=r"column number in \[0, 4\)"):
        plot_position_waves(np.zeros((5, 4)), [4])
    with pytest.raises(ValueError, match="at least one column"):
        plot_position_waves(np.zeros((5, 4)), [])


def test_position_tables_draws_table_and_similarity_per_table(tmp_path):
    rng = np.random.default_rng(0)
    tables = {"a": rng.normal(size=(6, 4)), "b": rng.normal(size=(6, 4))}
    fig = plot_position_tables(tables)
    heatmaps = [ax for ax in fig.axes if ax.images]
    assert len(heatmaps) == 4  # two tables, each with its similarity matrix (plus colour bars)
    titles = [ax.get_title() for ax in heatmaps]
    assert titles.count("a") == 1 and titles.count("cosine similarity of positions") == 2
    sim = next(ax for ax in heatmaps if ax.get_title().startswith("cosine")).images[0].get_array()
    assert sim.shape == (6, 6) and np.allclose(np.diag(sim), 1.0)
    _saved_svg(fig, tmp_path)


def test_position_tables_rejects_bad_input():
    with pytest.raises(ValueError, match="at least one table"):
        plot_position_tables({})
    with pytest.raises(ValueError, match=r"table 'x' must be \(T, C\)"):
        plot_position_tables({"x": np.zeros(3)})


def test_attention_scaling_draws_one_bar_per_key():
    fig = plot_attention_scaling({"raw": [0.0, 1.0, 0.0], "scaled": [0.2, 0.5, 0.3]})
    raw, scaled = fig.axes
    assert [round(p.get_height(), 2) for p in scaled.patches] == [0.2, 0.5, 0.3]
    assert "largest weight 1.00" in raw.get_title()
    with pytest.raises(ValueError, match="every panel at least one weight"):
        plot_attention_scaling({"empty": []})


def test_attention_maps_labels_both_axes_with_the_tokens(tmp_path):
    w = np.tril(np.ones((3, 3)))
    w /= w.sum(axis=1, keepdims=True)
    fig = plot_attention_maps({"head 0": w, "head 1": np.eye(3)}, ["The", "cat", "sat"])
    maps = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in maps] == ["head 0", "head 1"]
    assert [t.get_text() for t in maps[0].get_xticklabels()] == ["The", "cat", "sat"]
    assert [t.get_text() for t in maps[0].get_yticklabels()] == ["The", "cat", "sat"]
    # Weights are written in their cells; masked (zero) cells stay empty.
    assert sorted(t.get_text() for t in maps[0].texts) == [".33", ".33", ".33", ".50", ".50", "1.00"]
    _saved_svg(fig, tmp_path)


def test_attention_maps_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="at least one map"):
        plot_attention_maps({}, ["a"])
    with pytest.raises(ValueError, match=r"there are 2 tokens: need \(2, 2\)"):
        plot_attention_maps({"h": np.eye(3)}, ["a", "b"])


def test_next_token_panels_draw_kept_and_cut_tokens_and_captions(tmp_path):
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
    assert [t.get_text() for t in visible[2].texts] == ["the park ."]
    _saved_svg(fig, tmp_path)


def test_next_token_panels_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="at least one panel"):
        plot_next_token_panels({}, ["a"])
    with pytest.raises(ValueError, match="panel 'p' has 2 probabilities for 3 labels"):
        plot_next_token_panels({"p": [0.5, 0.5]}, ["a", "b", "c"])
