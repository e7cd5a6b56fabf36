"""Chapter 8: the weights page's figures, where a model's parameters are, its
matrices as heat maps, and its data flow as a Mermaid diagram."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure

from llm_guide.figures.style import LABEL, SMALL, TITLE, as_array, new_figure

__all__ = ["plot_parameter_groups", "plot_weight_matrices", "gpt_mermaid"]


def plot_parameter_groups(models: Mapping[str, Mapping[str, int]], title: str = "") -> Figure:
    """One horizontal bar per model, split into its parameter groups by share of the
    total (``models[label]`` maps a group to a count, as ``weights.parameter_groups``
    gives). Shares of 4% or more are written on the bar, the total at its end."""
    if not models:
        raise ValueError("plot_parameter_groups needs at least one model")
    groups = list(dict.fromkeys(g for counts in models.values() for g in counts))
    colours = ["#4c6ef5", "#f76707", "#37b24d", "#ae3ec9", "#868e96", "#1098ad"]
    fig, ax = new_figure(width=8.0, height=0.75 * len(models) + 1.3)
    labels = list(models)
    for row, label in enumerate(labels):
        counts = models[label]
        total = sum(counts.values())
        if total <= 0:
            raise ValueError(f"model {label!r} has no parameters to draw")
        left = 0.0
        for k, group in enumerate(groups):
            share = 100.0 * counts.get(group, 0) / total
            ax.barh(
                row, share, left=left, color=colours[k % len(colours)], height=0.6, label=group if row == 0 else None
            )
            if share >= 4:
                ax.text(left + share / 2, row, f"{share:.0f}%", ha="center", va="center", fontsize=SMALL, color="white")
            left += share
        ax.text(101, row, f"{total:,}", ha="left", va="center", fontsize=SMALL)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the model's parameters (%)")
    ax.grid(False)
    ax.legend(ncols=len(groups), fontsize=SMALL, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.35))
    ax.set_title(title or "Where the parameters are (total at the right)", fontsize=TITLE)
    fig.tight_layout()
    return fig


def plot_weight_matrices(tensors: Mapping[str, Any], ncols: int = 3, title: str = "") -> Figure:
    """Each tensor as a heat map, one panel per name: red positive, blue negative,
    white zero (each panel scaled to its own largest magnitude). A vector is drawn
    as a one-row matrix. Titles give the name and the shape."""
    if not tensors:
        raise ValueError("plot_weight_matrices needs at least one tensor")
    items = list(tensors.items())
    nrows = -(-len(items) // ncols)
    fig, axes = new_figure(nrows, ncols, width=3.0 * ncols, height=2.5 * nrows, squeeze=False)
    for ax, (name, tensor) in zip(axes.flat, items):
        values = as_array(tensor)
        if values.ndim not in (1, 2):
            raise ValueError(f"{name!r} has {values.ndim} dimensions; draw matrices and vectors only")
        shape = " × ".join(str(n) for n in values.shape)
        if values.ndim == 1:
            values = values[None, :]
        limit = float(abs(values).max()) or 1.0
        ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
        ax.set_title(f"{name}\n{shape}", fontsize=LABEL)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    for ax in list(axes.flat)[len(items) :]:
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=TITLE)
    fig.tight_layout()
    return fig


def gpt_mermaid(model: Any) -> str:
    """A GPT's data flow as a Mermaid flowchart, built from the model's own modules.

    Every rectangle is a module that stores weights, named as in the state dict
    (``transformer.h.0.attn.c_attn``) with the shapes of its tensors read from
    the model; rounded boxes are operations with no weights of their own; dotted
    arrows are residual connections, placed as the model's ``norm`` setting says.
    A block without a feed-forward (``mlp=False``, an attention-only model) is
    drawn as attention and its residual only.
    """
    config = model.config
    # accTitle: the drawing's name for a screen reader (Mermaid writes it as the SVG's <title>)
    lines = ["flowchart TD", "    accTitle: The model's modules in the order the data flows through them"]
    names = {id(module): name for name, module in model.named_modules()}

    def node_id(name: str) -> str:
        return name.replace(".", "_")

    def box(name: str, note: str = "") -> str:
        module = model.get_submodule(name)  # raises if the name is not a module of the model
        shapes = ", ".join(
            f"{param} {' × '.join(str(n) for n in tensor.shape)}"
            for param, tensor in module.named_parameters(recurse=False)
        )
        return f'{node_id(name)}["{name}<br/>{shapes}{note}"]'

    def op(key: str, text: str) -> str:
        return f'{key}(["{text}"])'

    wte, wpe = "transformer.embed.wte", "transformer.embed.wpe"  # chapter 5's embedding layer
    lines += [
        "    " + op("ids", "token ids"),
        "    " + op("pos", "positions 0 … T-1"),
        "    " + box(wte),
        "    " + box(wpe),
        '    embed(("+"))',
        f"    ids --> {node_id(wte)} --> embed",
        f"    pos --> {node_id(wpe)} --> embed",
    ]
    stream = "embed"
    for i, block in enumerate(model.transformer.h):
        p = names[id(block)]
        has_mlp = block.mlp is not None  # mlp=False: no feed-forward and no ln_2
        parts = ("ln_1", "attn.c_attn", "attn.c_proj") + (("ln_2", "mlp.c_fc", "mlp.c_proj") if has_mlp else ())
        lines.append(f'    subgraph {node_id(p)} ["{p}"]')
        for name in parts:
            lines.append("        " + box(f"{p}.{name}"))
        lines.append("        " + op(f"attend{i}", "softmax(QKᵀ/√hs) V"))
        if has_mlp:
            act = {"gelu": "GELU", "relu": "ReLU"}.get(block.mlp.activation, block.mlp.activation)
            lines.append("        " + op(f"act{i}", act))
        lines.append(f'        add_attn{i}(("+"))')
        if has_mlp:
            lines.append(f'        add_mlp{i}(("+"))')
        lines.append("    end")
        q = node_id(p)
        attn_path = f"{q}_attn_c_attn --> attend{i} --> {q}_attn_c_proj --> add_attn{i}"
        mlp_path = f"{q}_mlp_c_fc --> act{i} --> {q}_mlp_c_proj --> add_mlp{i}"
        if config.norm == "pre":  # x + attn(ln_1(x)), then x + mlp(ln_2(x))
            lines += [
                f"    {stream} --> {q}_ln_1 --> {attn_path}",
                f"    {stream} -. residual .-> add_attn{i}",
            ]
            stream = f"add_attn{i}"
            if has_mlp:
                lines += [
                    f"    add_attn{i} --> {q}_ln_2 --> {mlp_path}",
                    f"    add_attn{i} -. residual .-> add_mlp{i}",
                ]
                stream = f"add_mlp{i}"
        else:  # ln_1(x + attn(x)), then ln_2(x + mlp(x))
            lines += [
                f"    {stream} --> {attn_path}",
                f"    {stream} -. residual .-> add_attn{i}",
                f"    add_attn{i} --> {q}_ln_1" + (f" --> {mlp_path}" if has_mlp else ""),
            ]
            stream = f"{q}_ln_1"
            if has_mlp:
                lines += [
                    f"    {q}_ln_1 -. residual .-> add_mlp{i}",
                    f"    add_mlp{i} --> {q}_ln_2",
                ]
                stream = f"{q}_ln_2"
    ln_f = next((name for name in names.values() if name.rsplit(".", 1)[-1] == "ln_f"), None)
    if ln_f is not None:  # pre-norm models end with one more LayerNorm
        lines += ["    " + box(ln_f), f"    {stream} --> {node_id(ln_f)}"]
        stream = node_id(ln_f)
    lines += [
        "    " + box("lm_head", f"<br/>(the same matrix as {wte})" if config.tie_weights else ""),
        "    " + op("logits", "logits: a score per token"),
        f"    {stream} --> lm_head --> logits",
    ]
    return "\n".join(lines)
