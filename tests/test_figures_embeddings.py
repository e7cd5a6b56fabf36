"""The chapter 4 figures: they draw what they are given and refuse what they can't draw."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from llm_guide.figures.embeddings import plot_activations, plot_embedding_lookup, plot_embedding_pca
from llm_guide.figures.style import save


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_lookup_draws_table_and_the_rows_it_reads(tmp_path):
    rng = np.random.default_rng(0)
    table = rng.normal(size=(5, 4))
    labels = ["a", "b", "c", "d", " "]
    fig = plot_embedding_lookup(table, labels, [1, 4, 1])
    ax = fig.axes[0]
    images = [im for im in ax.get_children() if isinstance(im, AxesImage)]
    assert len(images) == 2
    np.testing.assert_allclose(images[0].get_array(), table)
    np.testing.assert_allclose(images[1].get_array(), table[[1, 4, 1]])  # the lookup, in order
    outlined = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert sorted(p.get_y() for p in outlined) == [1, 1, 4]
    texts = _texts(fig)
    assert "t=1: \u2423 (id 4)" in texts  # whitespace tokens are drawn visibly
    assert any("V = 5 rows" in t for t in texts)
    path = tmp_path / "lookup.svg"
    save(fig, str(path))
    assert 0 < path.stat().st_size < 200_000


def test_lookup_rejects_bad_input():
    with pytest.raises(ValueError, match="one label per row"):
        plot_embedding_lookup(np.zeros((3, 2)), ["a", "b"], [0])
    with pytest.raises(ValueError, match="ids must be"):
        plot_embedding_lookup(np.zeros((3, 2)), ["a", "b", "c"], [3])


def test_pca_plot_labels_every_point_in_both_panels(tmp_path):
    labels = ["cat", "dog", "mat"]
    before = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    after = before * 10
    fig = plot_embedding_pca(before, after, labels, ([0.5, 0.3], [0.6, 0.2]), {"animals": ["cat", "dog"]})
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert [t.get_text() for t in ax.texts] == labels
        assert sum(len(c.get_offsets()) for c in ax.collections) == 3
    assert fig.axes[0].get_xlabel() == "PC1 (50% of the variance)"
    assert fig.axes[1].get_ylabel() == "PC2 (20%)"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["animals"]
    path = tmp_path / "pca.svg"
    save(fig, str(path))
    assert 0 < path.stat().st_size < 200_000


def test_pca_plot_needs_one_point_per_label():
    with pytest.raises(ValueError, match=r"\(2, 2\) coordinates"):
        plot_embedding_pca(np.zeros((3, 2)), np.zeros((3, 2)), ["a", "b"])


def test_activations_draws_each_curve_and_a_bar_per_score(tmp_path):
    x = np.linspace(-2, 2, 11)
    curves = {"ReLU": np.maximum(x, 0), "identity": x}
    fig = plot_activations(x, curves, [1.0, 0.0], [0.73, 0.27])
    left, right = fig.axes
    assert [line.get_label() for line in left.get_lines()][:2] == ["ReLU", "identity"]
    np.testing.assert_allclose(left.get_lines()[0].get_ydata(), curves["ReLU"])
    assert [round(p.get_height(), 2) for p in right.patches] == [0.73, 0.27]
    assert [t.get_text() for t in right.get_xticklabels()] == ["1", "0"]
    path = tmp_path / "act.svg"
    save(fig, str(path))
    assert 0 < path.stat().st_size < 200_000


def test_activations_rejects_mismatched_input():
    x = np.linspace(-1, 1, 5)
    with pytest.raises(ValueError, match="one probability per score"):
        plot_activations(x, {}, [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="curve 'bad'"):
        plot_activations(x, {"bad": np.zeros(3)}, [1.0], [1.0])
