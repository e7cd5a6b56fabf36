"""The chapter 8 figures and the generated model diagram."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from llm_guide.figures.style import save
from llm_guide.figures.weights import gpt_mermaid, plot_parameter_groups, plot_weight_matrices
from llm_guide.model import GPT, GPTConfig

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _small_enough(fig: Figure, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    save(fig, str(path))
    assert 0 < path.stat().st_size < 200_000


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


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
    token = next(
        n for n, m in model.named_modules() if isinstance(m, torch.nn.Embedding) and m.weight is model.lm_head.weight
    )
    assert f"(the same matrix as {token})" in text  # tied head: named after the table it shares
    assert text.count("-. residual .->") == 4
    assert "add_mlp1 --> transformer_ln_f" in text


def test_mermaid_follows_a_post_norm_untied_model():
    model = GPT(GPTConfig.tiny_gpt())
    text = gpt_mermaid(model)
    assert "transformer.ln_f" not in text and "ReLU" in text
    assert 'lm_head<br/>weight 5 × 16, bias 5"]' in text
    assert "add_mlp0 --> transformer_h_0_ln_2" in text


# The diagram of GPT(GPTConfig(vocab_size=7, block_size=4, n_layer=2, n_head=2, n_embd=8)),
# with the embedding tables under their GPT-2 names (wherever the model keeps them).
PRE_NORM_2_LAYERS = "\n".join(
    [
        "flowchart TD",
        "    accTitle: The model's modules in the order the data flows through them",
        '    ids(["token ids"])',
        '    pos(["positions 0 … T-1"])',
        '    transformer_embed_wte["transformer.embed.wte<br/>weight 7 × 8"]',
        '    transformer_embed_wpe["transformer.embed.wpe<br/>weight 4 × 8"]',
        '    embed(("+"))',
        "    ids --> transformer_embed_wte --> embed",
        "    pos --> transformer_embed_wpe --> embed",
        '    subgraph transformer_h_0 ["transformer.h.0"]',
        '        transformer_h_0_ln_1["transformer.h.0.ln_1<br/>weight 8, bias 8"]',
        '        transformer_h_0_attn_c_attn["transformer.h.0.attn.c_attn<br/>weight 24 × 8, bias 24"]',
        '        transformer_h_0_attn_c_proj["transformer.h.0.attn.c_proj<br/>weight 8 × 8, bias 8"]',
        '        transformer_h_0_ln_2["transformer.h.0.ln_2<br/>weight 8, bias 8"]',
        '        transformer_h_0_mlp_c_fc["transformer.h.0.mlp.c_fc<br/>weight 32 × 8, bias 32"]',
        '        transformer_h_0_mlp_c_proj["transformer.h.0.mlp.c_proj<br/>weight 8 × 32, bias 8"]',
        '        attend0(["softmax(QKᵀ/√hs) V"])',
        '        act0(["GELU"])',
        '        add_attn0(("+"))',
        '        add_mlp0(("+"))',
        "    end",
        "    embed --> transformer_h_0_ln_1 --> transformer_h_0_attn_c_attn --> attend0 --> transformer_h_0_attn_c_proj --> add_attn0",
        "    embed -. residual .-> add_attn0",
        "    add_attn0 --> transformer_h_0_ln_2 --> transformer_h_0_mlp_c_fc --> act0 --> transformer_h_0_mlp_c_proj --> add_mlp0",
        "    add_attn0 -. residual .-> add_mlp0",
        '    subgraph transformer_h_1 ["transformer.h.1"]',
        '        transformer_h_1_ln_1["transformer.h.1.ln_1<br/>weight 8, bias 8"]',
        '        transformer_h_1_attn_c_attn["transformer.h.1.attn.c_attn<br/>weight 24 × 8, bias 24"]',
        '        transformer_h_1_attn_c_proj["transformer.h.1.attn.c_proj<br/>weight 8 × 8, bias 8"]',
        '        transformer_h_1_ln_2["transformer.h.1.ln_2<br/>weight 8, bias 8"]',
        '        transformer_h_1_mlp_c_fc["transformer.h.1.mlp.c_fc<br/>weight 32 × 8, bias 32"]',
        '        transformer_h_1_mlp_c_proj["transformer.h.1.mlp.c_proj<br/>weight 8 × 32, bias 8"]',
        '        attend1(["softmax(QKᵀ/√hs) V"])',
        '        act1(["GELU"])',
        '        add_attn1(("+"))',
        '        add_mlp1(("+"))',
        "    end",
        "    add_mlp0 --> transformer_h_1_ln_1 --> transformer_h_1_attn_c_attn --> attend1 --> transformer_h_1_attn_c_proj --> add_attn1",
        "    add_mlp0 -. residual .-> add_attn1",
        "    add_attn1 --> transformer_h_1_ln_2 --> transformer_h_1_mlp_c_fc --> act1 --> transformer_h_1_mlp_c_proj --> add_mlp1",
        "    add_attn1 -. residual .-> add_mlp1",
        '    transformer_ln_f["transformer.ln_f<br/>weight 8, bias 8"]',
        "    add_mlp1 --> transformer_ln_f",
        '    lm_head["lm_head<br/>weight 7 × 8<br/>(the same matrix as transformer.embed.wte)"]',
        '    logits(["logits: a score per token"])',
        "    transformer_ln_f --> lm_head --> logits",
    ]
)


def _undefined_nodes(text: str) -> set[str]:
    """Nodes an arrow uses that no line defines (Mermaid would draw them as bare boxes)."""
    defined = set(re.findall(r"^\s*(\w+)[\[(]", text, re.M))
    defined |= set(re.findall(r"^\s*subgraph (\w+)", text, re.M))
    used = set()
    for line in text.splitlines():
        if "-->" in line or ".->" in line:
            used |= {t for t in re.split(r"\s*(?:-->|-\. residual \.->)\s*", line.strip()) if t}
    return used - defined


def test_mermaid_of_a_full_model_is_unchanged():
    model = GPT(GPTConfig(vocab_size=7, block_size=4, n_layer=2, n_head=2, n_embd=8))
    text = gpt_mermaid(model)
    assert text == PRE_NORM_2_LAYERS
    assert _undefined_nodes(text) == set()


def test_mermaid_draws_an_attention_only_model():
    """mlp=False: no feed-forward and no ln_2 in any block, each block's attention adds
    straight into the stream, which flows from block to block and on to the head."""
    model = GPT(GPTConfig(vocab_size=7, block_size=4, n_layer=2, n_head=2, n_embd=8, mlp=False))
    text = gpt_mermaid(model)
    holders = {name for name, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))}
    assert _mermaid_nodes(text) == holders  # every weight module, and nothing that isn't one
    assert not any(part in text for part in ("ln_2", "mlp", "add_mlp", "act0", "GELU"))
    assert _undefined_nodes(text) == set()
    assert text.count("-. residual .->") == 2  # one per block: attention's
    assert "embed -. residual .-> add_attn0" in text
    assert "add_attn0 --> transformer_h_1_ln_1 --> transformer_h_1_attn_c_attn" in text
    assert "add_attn0 -. residual .-> add_attn1" in text
    assert "add_attn1 --> transformer_ln_f" in text
    full = gpt_mermaid(GPT(GPTConfig(vocab_size=7, block_size=4, n_layer=2, n_head=2, n_embd=8)))
    assert set(text.splitlines()) < set(full.splitlines()) | {
        "    add_attn0 --> transformer_h_1_ln_1 --> transformer_h_1_attn_c_attn --> attend1 "
        "--> transformer_h_1_attn_c_proj --> add_attn1",
        "    add_attn0 -. residual .-> add_attn1",
        "    add_attn1 --> transformer_ln_f",
    }  # the full model's lines, less the feed-forward's, joined where it is left out


def test_mermaid_draws_a_post_norm_attention_only_model():
    model = GPT(GPTConfig(vocab_size=7, block_size=4, n_layer=1, n_head=2, n_embd=8, norm="post", mlp=False))
    text = gpt_mermaid(model)
    assert "ln_2" not in text and "mlp" not in text and "ln_f" not in text
    assert _undefined_nodes(text) == set()
    # ln_1(x + attn(x)), then the head
    assert "embed --> transformer_h_0_attn_c_attn --> attend0 --> transformer_h_0_attn_c_proj --> add_attn0" in text
    assert "add_attn0 --> transformer_h_0_ln_1\n" in text
    assert text.endswith("transformer_h_0_ln_1 --> lm_head --> logits")


def test_the_weights_page_renders_the_diagram_its_code_prints():
    """The ```mermaid fence on the page must be the text the block above it prints."""
    page = (DOCS / "weights.md").read_text(encoding="utf-8")
    printed = re.search(r'print\(gpt_mermaid\(model\)\)\n```\n\n```text title="Output"\n(.*?)\n```', page, re.S)
    drawn = re.search(r"```mermaid\n(.*?)\n```", page, re.S)
    assert printed and drawn, "the page must print the diagram and render it"
    assert drawn.group(1) == printed.group(1), "copy the printed diagram into the ```mermaid fence"
