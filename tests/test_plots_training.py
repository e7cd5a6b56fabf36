"""The chapter 8 and 9 figures and the generated model diagram."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from llm_guide.model import GPT, GPTConfig
from llm_guide.numpy_nn import bowl, bowl_grad, descend_1d, descend_2d, valley, valley_grad
from llm_guide.plots import (
    gpt_mermaid,
    plot_descent_1d,
    plot_descent_2d,
    plot_loss_curves,
    plot_lr_schedule,
    plot_parameter_groups,
    plot_weight_matrices,
    save,
)
from llm_guide.train import EvalPoint, TrainConfig, TrainResult, lr_at

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _small_enough(fig: Figure, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    save(fig, str(path))
    assert 0 < path.stat().st_size < 200_000


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


# --- chapter 8 -------------------------------------------------------------------
def test_parameter_groups_are_drawn_as_shares_with_totals(tmp_path):
    fig = plot_parameter_groups({"a": {"x": 75, "y": 25}, "b": {"x": 10, "y": 0, "z": 90}})
    ax = fig.axes[0]
    widths = [round(bar.get_width(), 6) for bar in ax.patches]
    assert widths == [75, 25, 0, 10, 0, 90]  # one segment per group and model, in %
    texts = _texts(fig)
    assert {"75%", "25%", "90%", "10%"} <= set(texts)
    assert texts.count("100") == 2  # each bar's total, written at its end
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["x", "y", "z"]
    _small_enough(fig, tmp_path, "groups.svg")


def test_parameter_groups_refuse_empty_input():
    with pytest.raises(ValueError, match="at least one model"):
        plot_parameter_groups({})
    with pytest.raises(ValueError, match="no parameters"):
        plot_parameter_groups({"empty": {"x": 0}})


def test_weight_matrices_one_panel_per_tensor(tmp_path):
    torch.manual_seed(0)
    fig = plot_weight_matrices({"w": torch.randn(4, 3), "b": torch.randn(5), "n": np.eye(2)}, ncols=2)
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titled == ["w\n4 × 3", "b\n5", "n\n2 × 2"]
    assert len(fig.axes) == 4 and not fig.axes[3].axison  # the unused panel is hidden
    _small_enough(fig, tmp_path, "matrices.svg")
    with pytest.raises(ValueError, match="3 dimensions"):
        plot_weight_matrices({"cube": torch.zeros(2, 2, 2)})


def _mermaid_nodes(text: str) -> set[str]:
    return set(re.findall(r'\["([\w.]+)<br/>', text))


def test_mermaid_names_every_weight_module_of_a_pre_norm_gpt():
    model = GPT(GPTConfig(vocab_size=7, block_size=4, n_layer=2, n_head=2, n_embd=8))
    text = gpt_mermaid(model)
    assert text.startswith("flowchart TD")
    holders = {name for name, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))}
    assert _mermaid_nodes(text) == holders
    assert "transformer.h.1.attn.c_attn<br/>weight 24 × 8, bias 24" in text
    assert "the same matrix as transformer.wte" in text  # tied head
    assert text.count("-. residual .->") == 4
    assert "add_mlp1 --> transformer_ln_f" in text


def test_mermaid_follows_a_post_norm_untied_model():
    model = GPT(GPTConfig.tiny_gpt())
    text = gpt_mermaid(model)
    assert "transformer.ln_f" not in text and "ReLU" in text
    assert "lm_head<br/>weight 5 × 16, bias 5\"]" in text
    assert "add_mlp0 --> transformer_h_0_ln_2" in text


def test_the_weights_page_renders_the_diagram_its_code_prints():
    """The ```mermaid fence on the page must be the text the block above it prints."""
    page = (DOCS / "weights.md").read_text(encoding="utf-8")
    printed = re.search(r'print\(gpt_mermaid\(model\)\)\n```\n\n```text title="Output"\n(.*?)\n```', page, re.S)
    drawn = re.search(r"```mermaid\n(.*?)\n```", page, re.S)
    assert printed and drawn, "the page must print the diagram and render it"
    assert drawn.group(1) == printed.group(1), "copy the printed diagram into the ```mermaid fence"


# --- chapter 9 -------------------------------------------------------------------
def test_descent_1d_one_panel_per_learning_rate(tmp_path):
    paths = {f"lr {lr}": descend_1d(bowl, bowl_grad, 0.0, lr, 10) for lr in (0.05, 0.3, 1.05)}
    fig = plot_descent_1d(bowl, paths, -1.0, 7.0)
    assert len(fig.axes) == 3
    assert fig.axes[0].get_title().startswith("lr 0.05\n10 steps")
    # the diverging path is wider than the window, and its panel grows to hold it
    assert fig.axes[2].get_xlim()[0] < -1.0
    _small_enough(fig, tmp_path, "descent1d.svg")
    with pytest.raises(ValueError, match="at least one path"):
        plot_descent_1d(bowl, {}, 0, 1)


def test_descent_2d_draws_paths_and_their_losses(tmp_path):
    paths = {f"lr {lr}": descend_2d(valley, valley_grad, [-8.0, 1.5], lr, 30) for lr in (0.01, 0.09)}
    fig = plot_descent_2d(valley, paths, (-9, 2), (-2, 2), title="valley")
    left, right = fig.axes
    assert left.get_title() == "valley" and right.get_yscale() == "log"
    assert [line.get_label() for line in right.lines] == ["lr 0.01", "lr 0.09"]
    _small_enough(fig, tmp_path, "descent2d.svg")


def test_lr_schedule_figure(tmp_path):
    config = TrainConfig(steps=50, lr=1e-2, warmup_steps=5)
    lrs = [lr_at(s, config) for s in range(config.steps)]
    fig = plot_lr_schedule(lrs, warmup_steps=5)
    ax = fig.axes[0]
    assert max(ax.lines[0].get_ydata()) == pytest.approx(1e-2)
    assert "warm-up" in [t.get_text() for t in ax.get_legend().get_texts()]
    _small_enough(fig, tmp_path, "schedule.svg")
    with pytest.raises(ValueError, match="at least two"):
        plot_lr_schedule([1e-3])


def test_loss_curves_with_and_without_validation(tmp_path):
    with_val = TrainResult(losses=[3.0, 2.0, 1.5], evals=[EvalPoint(0, 3.0, 3.1), EvalPoint(3, 1.4, 1.9)])
    without = TrainResult(losses=[2.0, 1.0], evals=[EvalPoint(0, 2.0, None), EvalPoint(2, 0.9, None)])
    fig = plot_loss_curves({"a": with_val, "b": without})
    labels = [[line.get_label() for line in ax.lines] for ax in fig.axes]
    assert labels == [["batch loss", "train (mean)", "validation (mean)"], ["batch loss", "train (mean)"]]
    _small_enough(fig, tmp_path, "loss.svg")
    with pytest.raises(ValueError, match="at least one"):
        plot_loss_curves({})


def test_saved_lines_keep_every_point(tmp_path):
    """Simplification would drop points by a float comparison, so a loss curve trained on
    another CPU would come out with other points and fail the staleness check."""
    from llm_guide.plots import new_figure

    fig, ax = new_figure()
    ax.plot(np.random.default_rng(0).normal(size=500).cumsum())  # a random walk: most points are droppable
    save(fig, str(tmp_path / "walk.svg"))
    paths = re.findall(r'<path d="(M [^"]*)"', (tmp_path / "walk.svg").read_text(encoding="utf-8"))
    assert max(d.count("L ") for d in paths) + 1 == 500
