"""The chapter 10 figures."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from llm_guide.figures.in_context_learning import _moving_average, plot_icl_attention, plot_icl_phase_change
from llm_guide.figures.style import save


def test_moving_average_starts_at_the_first_value_and_averages_a_window():
    assert np.allclose(_moving_average([4, 2, 6, 8], 2), [4, 3, 4, 7])
    assert np.allclose(_moving_average([1, 2, 3], 10), [1, 1.5, 2])


def test_phase_change_figure(tmp_path):
    losses = {"2 layers": [3.0] * 50 + [1.0] * 50, "1 layer": list(np.linspace(3, 2.4, 100))}
    accuracy = {
        "2 layers": {"first copy": 0.0, "second copy": 0.99},
        "1 layer": {"first copy": 0.0, "second copy": 0.2},
    }
    fig = plot_icl_phase_change(losses, accuracy, window=10)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == ["first copy", "second copy"]
    assert "99%" in [t.get_text() for t in fig.axes[1].texts]
    save(fig, str(tmp_path / "p.svg"))
    assert (tmp_path / "p.svg").stat().st_size < 200_000


def test_phase_change_needs_matching_models():
    with pytest.raises(ValueError, match="same models"):
        plot_icl_phase_change({"a": [1.0]}, {"b": {"x": 0.5}})


def test_attention_figure_labels_both_axes_and_outlines_targets():
    T = 6
    weights = np.tril(np.ones((T, T)))
    weights /= weights.sum(axis=1, keepdims=True)
    target = np.eye(T, k=-1, dtype=bool)
    fig = plot_icl_attention({"head": weights, "other": weights}, list("abcabc"), targets={"head": target})
    heat = fig.axes[0]
    assert [t.get_text() for t in heat.get_xticklabels()] == list("abcabc")
    assert len(heat.patches) == target.sum()  # one outline per target cell
    assert len(fig.axes[1].patches) == 0


def test_attention_figure_refuses_wrong_shapes():
    with pytest.raises(ValueError, match="expected \\(3, 3\\)"):
        plot_icl_attention({"head": np.ones((4, 4))}, list("abc"))
    with pytest.raises(ValueError, match="at least one"):
        plot_icl_attention({}, list("abc"))
