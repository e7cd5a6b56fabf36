"""Chapter 7: the whole GPT, from token ids to next-token logits.

    idx (B, T) -> token embedding + position embedding -> n_layer blocks
        -> [final LayerNorm] -> lm_head -> logits (B, T, vocab_size)

Logits at position t score every vocabulary entry as the token that comes after
position t; softmax turns them into probabilities. The architecture is GPT-2's
exactly, down to the parameter names, so a GPT-2 state dict (Hugging Face
layout) loads into it and gives the same logits. The same class, configured
with post-norm, ReLU and an untied head, is the 2,453-parameter Keras TinyGPT.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from llm_guide.attention import head_size
from llm_guide.block import ACTIVATIONS, NORMS, Block, LayerNorm
from llm_guide.checks import check_choice, check_int
from llm_guide.embeddings import TokenAndPositionEmbedding, check_token_ids
from llm_guide.kv_cache import KVCache

__all__ = [
    "GPTConfig",
    "GPT",
    "check_batch_shape",
    "next_token_loss",
    "ParamRow",
    "parameter_table",
    "component_totals",
    "load_gpt2_state_dict",
]

# --8<-- [start:gpt2_sizes]
# (n_layer, n_head, n_embd) of the four released GPT-2 models
GPT2_SIZES: dict[str, tuple[int, int, int]] = {
    "small": (12, 12, 768),  # 124M
    "medium": (24, 16, 1024),  # 355M
    "large": (36, 20, 1280),  # 774M
    "xl": (48, 25, 1600),  # 1558M
}
# --8<-- [end:gpt2_sizes]


# --8<-- [start:gpt_config]
@dataclass
class GPTConfig:
    """Every number that fixes a GPT's shape. The weights are a separate matter.

    Attributes:
        vocab_size: how many token ids there are (rows of the embedding table).
        block_size: the context length, the most tokens the model reads at once.
        n_layer: how many blocks are stacked.
        n_head: attention heads per block.
        n_embd: the width C of every vector.
        n_hidden: the feed-forward's inner width (default 4 * n_embd).
        dropout: probability of zeroing activations while training (0 = off).
        bias: whether Linear layers and LayerNorms have bias vectors.
        norm: "pre" (GPT-2) or "post" (original transformer); see ``Block``.
        activation: "gelu" (GPT-2's tanh approximation) or "relu".
        tie_weights: use the token embedding table as the output head too (GPT-2 does).
        mlp: False leaves out every block's feed-forward: an attention-only model (chapter 10).
        fast: run attention, LayerNorm and GELU on PyTorch's fused kernels instead of the
            chapters' written-out code: the same modules and weights, the same numbers up
            to float rounding, faster. Off by default, so the model runs the code you read.
    """

    vocab_size: int
    block_size: int
    n_layer: int = 1
    n_head: int = 2
    n_embd: int = 16
    n_hidden: int | None = None
    dropout: float = 0.0
    bias: bool = True
    norm: Literal["pre", "post"] = "pre"
    activation: Literal["gelu", "relu"] = "gelu"
    tie_weights: bool = True
    mlp: bool = True
    fast: bool = False

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer"):
            check_int(getattr(self, name), name)
        head_size(self.n_embd, self.n_head)  # both positive, and n_head divides n_embd
        if self.n_hidden is None:
            self.n_hidden = 4 * self.n_embd
        check_int(self.n_hidden, "n_hidden")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        check_choice(self.norm, "norm", NORMS)
        check_choice(self.activation, "activation", ACTIVATIONS)

    @property
    def head_size(self) -> int:
        """Channels per head, hs = n_embd // n_head."""
        return head_size(self.n_embd, self.n_head)

    # --8<-- [end:gpt_config]

    # --8<-- [start:gpt_config_presets]
    @classmethod
    def gpt2(cls, size: str = "small", **overrides: Any) -> "GPTConfig":
        """A released GPT-2 shape: "small" (124M), "medium", "large" or "xl".

        All four share the 50,257-token byte-level BPE vocabulary, a 1,024-token
        context, pre-norm blocks, GELU and tied embeddings. ``overrides`` replace
        any field, e.g. ``GPTConfig.gpt2(block_size=256)``.
        """
        if size not in GPT2_SIZES:
            raise ValueError(f"size must be one of {list(GPT2_SIZES)}, got {size!r}")
        n_layer, n_head, n_embd = GPT2_SIZES[size]
        fields: dict[str, Any] = dict(vocab_size=50257, block_size=1024, n_layer=n_layer, n_head=n_head, n_embd=n_embd)
        return cls(**(fields | overrides))

    @classmethod
    def tiny_gpt(cls, **overrides: Any) -> "GPTConfig":
        """The Keras TinyGPT trained on "hello hello": 2,453 parameters.

        5 characters, a 4-token context, one post-norm block with 2 heads of
        width 8, a ReLU feed-forward of width 32, biases everywhere, and an
        output head of its own (a Keras Dense layer, so it has a bias too).
        """
        fields: dict[str, Any] = dict(
            vocab_size=5,
            block_size=4,
            n_layer=1,
            n_head=2,
            n_embd=16,
            n_hidden=32,
            norm="post",
            activation="relu",
            bias=True,
            tie_weights=False,
        )
        return cls(**(fields | overrides))

    # --8<-- [end:gpt_config_presets]

    @classmethod
    def from_hf(cls, hf_config: Any, **overrides: Any) -> "GPTConfig":
        """The config matching a Hugging Face ``transformers.GPT2Config``.

        Dropout is taken from ``resid_pdrop`` (GPT-2 trained with 0.1; ``eval()``
        turns it off). Settings this model does not implement raise ValueError.
        """
        activations = {"gelu_new": "gelu", "gelu_pytorch_tanh": "gelu", "relu": "relu"}
        act = hf_config.activation_function
        if act not in activations:
            raise ValueError(
                f"activation_function={act!r} is not supported; use 'gelu_new' (GPT-2's tanh GELU) or 'relu'"
            )
        if not math.isclose(hf_config.layer_norm_epsilon, 1e-5):
            raise ValueError(f"layer_norm_epsilon={hf_config.layer_norm_epsilon} is not supported; LayerNorm uses 1e-5")
        if not getattr(hf_config, "scale_attn_weights", True) or getattr(
            hf_config, "scale_attn_by_inverse_layer_idx", False
        ):
            raise ValueError("only GPT-2's standard 1/sqrt(head_size) attention scaling is supported")
        fields: dict[str, Any] = dict(
            vocab_size=hf_config.vocab_size,
            block_size=hf_config.n_positions,
            n_layer=hf_config.n_layer,
            n_head=hf_config.n_head,
            n_embd=hf_config.n_embd,
            n_hidden=hf_config.n_inner or 4 * hf_config.n_embd,
            dropout=hf_config.resid_pdrop,
            bias=True,
            norm="pre",
            activation=activations[act],
            tie_weights=getattr(hf_config, "tie_word_embeddings", True),
        )
        return cls(**(fields | overrides))


# --8<-- [start:next_token_loss]
def check_batch_shape(idx: torch.Tensor) -> None:
    """A model reads a batch of token ids of shape (B, T); say so, and how, for any other shape."""
    if isinstance(idx, torch.Tensor) and idx.ndim != 2:
        hint = "; for one sequence use idx.unsqueeze(0)" if idx.ndim == 1 else ""
        raise ValueError(f"idx must have shape (B, T), got shape {tuple(idx.shape)}{hint}")


def next_token_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of predicting targets[b, t] (B, T) from logits[b, t] (B, T, V).

    Averaged over all B * T positions: every position is a training example.
    """
    B, T, V = logits.shape
    check_token_ids(targets, V, "targets")
    if targets.shape != (B, T):
        raise ValueError(f"targets must have the same shape as idx {(B, T)}, got {tuple(targets.shape)}")
    # cross_entropy wants (N, V) scores and (N,) class ids: flatten batch and time
    return F.cross_entropy(logits.view(B * T, V), targets.reshape(B * T).long())


# --8<-- [end:next_token_loss]


# --8<-- [start:gpt_init]
class GPT(nn.Module):
    """A decoder-only transformer: token ids (B, T) in, next-token logits (B, T, V) out."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        C = config.n_embd
        self.transformer = nn.ModuleDict(
            dict(
                # chapters 4 and 5: a token's vector plus its position's (wte + wpe)
                embed=TokenAndPositionEmbedding(config.vocab_size, config.block_size, C),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList(
                    Block(
                        C,
                        config.n_head,
                        config.n_hidden,
                        norm=config.norm,
                        activation=config.activation,
                        bias=config.bias,
                        dropout=config.dropout,
                        mlp=config.mlp,
                        fast=config.fast,
                    )
                    for _ in range(config.n_layer)
                ),
            )
        )
        if config.norm == "pre":
            # pre-norm blocks leave the residual stream un-normalised, so it gets one
            # last LayerNorm before the head; post-norm blocks already end with one
            self.transformer["ln_f"] = LayerNorm(C, bias=config.bias, fast=config.fast)
        # The head's bias follows one rule: a tied head has none (GPT-2: the head
        # *is* the embedding table, read backwards); an untied head has one exactly
        # when config.bias is set (the Keras TinyGPT's Dense layer has one).
        self.lm_head = nn.Linear(C, config.vocab_size, bias=config.bias and not config.tie_weights)
        if config.tie_weights:
            # one (V, C) matrix both embeds token ids and scores them at the output:
            # a token's input and output vectors are the same, and V * C fewer parameters
            self.lm_head.weight = self.transformer.embed.wte.weight

        self.apply(self._init_weights)
        # Each block adds two outputs (attention and MLP) to the residual stream, so its
        # variance grows with 2 * n_layer additions. GPT-2 scales the init of the layers
        # that write into the stream by 1/sqrt(2 * n_layer) to keep the sum's scale
        # independent of depth.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def _init_weights(self, module: nn.Module) -> None:
        """GPT-2's init: small normal weights (std 0.02), zero biases, LayerNorm as identity.

        PyTorch's default Linear init depends on fan-in; a fixed small std keeps
        early logits near zero, so the first loss is close to log(vocab_size).
        """
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    # --8<-- [end:gpt_init]

    # --8<-- [start:gpt_forward]
    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None, cache: KVCache | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx: (B, T) token ids -> (logits (B, T, V), loss or None).

        With targets (B, T), usually idx shifted left by one, loss is the
        cross-entropy of predicting targets[b, t] from logits[b, t], averaged
        over all B * T positions: every position is a training example.
        With a ``cache`` (chapter 12), idx holds only the tokens that follow the cached ones.
        """
        check_batch_shape(idx)
        start = 0 if cache is None else cache.next_position(idx.size(1))  # where idx's tokens sit
        x = self.transformer.embed(idx, start)  # (B, T, C); checks the ids and the length
        x = self.transformer.drop(x)
        for i, block in enumerate(self.transformer.h):
            x = block(x, None if cache is None else cache.layers[i])  # (B, T, C)
        if self.config.norm == "pre":
            x = self.transformer.ln_f(x)
        logits = self.lm_head(x)  # (B, T, V)
        loss = None if targets is None else next_token_loss(logits, targets)
        return logits, loss

    # --8<-- [end:gpt_forward]

    # --8<-- [start:num_params]
    def num_params(self) -> int:
        """Number of trainable numbers, each counted once.

        ``parameters()`` yields a tied weight once, so with tie_weights the
        (V, C) table is counted once, as GPT-2's 124,439,808 does.
        """
        return sum(p.numel() for p in self.parameters())

    # --8<-- [end:num_params]

    @classmethod
    def from_hf_state_dict(cls, state_dict: Mapping[str, torch.Tensor], config: GPTConfig) -> "GPT":
        """Build a GPT for ``config`` and load a Hugging Face GPT-2 state dict into it."""
        return load_gpt2_state_dict(cls(config), state_dict)


# --8<-- [start:parameter_table]
class ParamRow(NamedTuple):
    """One row of a parameter table."""

    component: str  # what the tensor is for, the same for every layer
    name: str  # the parameter's name in the state dict
    shape: tuple[int, ...]
    count: int


_COMPONENTS = {
    "transformer.embed.wte": "token embedding",
    "transformer.embed.wpe": "position embedding",
    "ln_1": "LayerNorm 1",
    "attn.c_attn": "attention QKV",
    "attn.c_proj": "attention output",
    "ln_2": "LayerNorm 2",
    "mlp.c_fc": "feed-forward in",
    "mlp.c_proj": "feed-forward out",
    "transformer.ln_f": "final LayerNorm",
    "lm_head": "lm_head",
}


def parameter_table(model: nn.Module, split_qkv: bool = False) -> list[ParamRow]:
    """Every parameter tensor of a GPT with its component, shape and size.

    A tied weight appears once (under the token embedding). split_qkv=True
    reports the fused c_attn weight and bias as their Q, K and V thirds, the way
    layers with separate W_Q, W_K, W_V (like Keras's) list them.
    """
    rows = []
    for name, p in model.named_parameters():
        module_path = re.sub(r"^transformer\.h\.\d+\.", "", name.rsplit(".", 1)[0])
        component = _COMPONENTS.get(module_path, module_path)
        if split_qkv and module_path == "attn.c_attn":
            for letter, part in zip("QKV", p.chunk(3, dim=0)):  # rows 0:C are q, C:2C k, 2C:3C v
                rows.append(
                    ParamRow(f"attention {letter}", f"{name}[{letter.lower()}]", tuple(part.shape), part.numel())
                )
        else:
            rows.append(ParamRow(component, name, tuple(p.shape), p.numel()))
    return rows


def component_totals(rows: list[ParamRow]) -> dict[str, int]:
    """Sum a parameter table by component, in order of first appearance."""
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.component] = totals.get(row.component, 0) + row.count
    return totals


# --8<-- [end:parameter_table]


# --8<-- [start:load_gpt2_state_dict]
# Hugging Face's GPT-2 stores these four as Conv1D weights, shaped (in, out);
# nn.Linear stores (out, in), so they are transposed on the way in.
_CONV1D_WEIGHTS = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
# Older checkpoints also store the causal mask as buffers; it is not a weight.
_MASK_BUFFERS = (".attn.bias", ".attn.masked_bias")
# GPT-2 keeps its two embedding tables at the top; here they live in the chapter-5 module.
_RENAMED = {"transformer.wte.": "transformer.embed.wte.", "transformer.wpe.": "transformer.embed.wpe."}


def _our_name(key: str) -> str:
    """A Hugging Face GPT-2 key (``GPT2LMHeadModel`` or ``GPT2Model``) as this model names it."""
    if not key.startswith(("transformer.", "lm_head.")):
        key = f"transformer.{key}"  # GPT2Model's keys lack the prefix
    for old, new in _RENAMED.items():
        if key.startswith(old):
            return new + key[len(old) :]
    return key


def load_gpt2_state_dict(model: GPT, state_dict: Mapping[str, torch.Tensor]) -> GPT:
    """Copy a GPT-2 state dict in Hugging Face layout (``GPT2LMHeadModel`` or
    ``GPT2Model``, whose keys lack the ``transformer.`` prefix) into ``model``.

    Every tensor is checked before anything is copied, so a mismatch leaves the
    model untouched.
    """
    sd = {_our_name(k): v for k, v in state_dict.items() if not k.endswith(_MASK_BUFFERS)}
    wte = "transformer.embed.wte.weight"
    tied = model.config.tie_weights
    if tied and "lm_head.weight" not in sd and wte in sd:
        sd["lm_head.weight"] = sd[wte]  # GPT2Model has no head: it is wte
    ours = model.state_dict()
    if "lm_head.bias" in ours and "lm_head.bias" not in sd:
        # GPT-2's head never has a bias; an untied head here has one (see GPT), and a
        # zero bias gives exactly the checkpoint's logits
        sd["lm_head.bias"] = torch.zeros_like(ours["lm_head.bias"])
    missing, unexpected = sorted(ours.keys() - sd.keys()), sorted(sd.keys() - ours.keys())
    if missing or unexpected:
        raise ValueError(
            f"state dict does not fit this GPTConfig: missing {missing[:4]}, unexpected {unexpected[:4]}; "
            "check n_layer, bias and norm against the checkpoint (GPTConfig.from_hf builds a matching one)"
        )
    if tied and not torch.equal(sd["lm_head.weight"], sd[wte]):
        raise ValueError("the checkpoint's lm_head.weight differs from wte.weight; use tie_weights=False")
    weights = {k: v.t() if k.endswith(_CONV1D_WEIGHTS) else v for k, v in sd.items()}
    for k, v in weights.items():
        if v.shape != ours[k].shape:
            raise ValueError(
                f"{k} has shape {tuple(v.shape)} in the checkpoint but {tuple(ours[k].shape)} in the model"
            )
    with torch.no_grad():
        for k, v in weights.items():
            ours[k].copy_(v)  # state_dict() tensors share storage with the parameters
    return model


# --8<-- [end:load_gpt2_state_dict]
