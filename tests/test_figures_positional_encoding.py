"""The chapter 5 figures: they draw what they claim and refuse input they can't draw."""

from __future__ import annotations

import numpy as np
import pytest

from llm_guide.figures.positional_encoding import _cosine_matrix, plot_position_tables, plot_position_waves


def test_cosine_matrix_is_one_on_the_diagonal_and_handles_zero_rows():
    table = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0], [-3.0, 0.0]])
    sim = _cosine_matrix(table)
    assert sim.shape == (4, 4)
    assert np.allclose(np.diag(sim)[[0, 1, 3]], 1.0)
    assert sim[0, 1] == 0.0 and sim[0, 3] == -1.0
    assert np.all(sim[2] == 0.0)  # a zero row is similar to nothing, and no NaN


def test_position_waves_draws_one_curve_per_column(saved_svg):
    pe = np.sin(np.arange(20)[:, None] * np.array([1.0, 0.5, 0.1, 0.05]))
    fig = plot_position_waves(pe, [0, 2, 3], title="waves")
    ax = fig.axes[0]
    assert len(ax.lines) == 3
    assert np.allclose(ax.lines[1].get_ydata(), pe[:, 2])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["column 0 (sin)", "column 2 (sin)", "column 3 (cos)"]
    assert ax.get_title() == "waves"
    assert "fill: #ffffff" in saved_svg(fig)


def test_position_waves_rejects_bad_input():
    with pytest.raises(ValueError, match=r"need a \(T, C\) table"):
        plot_position_waves(np.zeros(5), [0])
    with pytest.raises(ValueError, match=r"column number in \[0, 4\)"):
        plot_position_waves(np.zeros((5, 4)), [4])
    with pytest.raises(ValueError, match="at least one column"):
        plot_position_waves(np.zeros((5, 4)), [])


def test_position_tables_draws_table_and_similarity_per_table(saved_svg):
    rng = np.random.default_rng(0)
    tables = {"a": rng.normal(size=(6, 4)), "b": rng.normal(size=(6, 4))}
    fig = plot_position_tables(tables)
    heatmaps = [ax for ax in fig.axes if ax.images]
    assert len(heatmaps) == 4  # two tables, each with its similarity matrix (plus colour bars)
    titles = [ax.get_title() for ax in heatmaps]
    assert titles.count("a") == 1 and titles.count("cosine similarity of positions") == 2
    sim = next(ax for ax in heatmaps if ax.get_title().startswith("cosine")).images[0].get_array()
    assert sim.shape == (6, 6) and np.allclose(np.diag(sim), 1.0)
    saved_svg(fig)


def test_position_tables_rejects_bad_input():
    with pytest.raises(ValueError, match="at least one table"):
        plot_position_tables({})
    with pytest.raises(ValueError, match=r"table 'x' must be \(T, C\)"):
        plot_position_tables({"x": np.zeros(3)})
