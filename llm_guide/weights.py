"""Chapter 8: a model is an architecture plus a file of named tensors.

The architecture is code (``GPT(config)``); the weights are numbers, stored by
name in a ``state_dict``. This module lists those tensors, saves and loads them
with safetensors (a format that holds only tensors, so opening a file cannot
run code the way unpickling a ``torch.save`` file can), sizes models in bytes,
and adds LoRA adapters for cheap fine-tuning.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from typing import NamedTuple, Union

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from llm_guide.checks import check_int

__all__ = [
    "TensorRow",
    "state_dict_table",
    "tied_groups",
    "TIED_KEY",
    "save_weights",
    "open_safetensors",
    "load_weights",
    "read_metadata",
    "BYTES_PER_PARAM",
    "bytes_for",
    "format_bytes",
    "count_trainable",
    "GROUPS",
    "group_of",
    "parameter_groups",
    "LoRALinear",
    "add_lora",
    "merge_lora",
]


# --8<-- [start:table]
class TensorRow(NamedTuple):
    """One named tensor of a model: what ``state_dict_table`` lists."""

    name: str
    shape: tuple[int, ...]
    dtype: torch.dtype
    numel: int


def state_dict_table(model: nn.Module) -> list[TensorRow]:
    """Every tensor the model would save: its name, shape, dtype and element count.

    The rows come from ``model.state_dict()``, so tied weights (GPT-2's token
    embedding doubles as its output layer) appear once under each name; see
    ``tied_groups`` to find them, and count parameters with ``model.parameters()``,
    which lists a shared tensor once.
    """
    return [TensorRow(name, tuple(t.shape), t.dtype, t.numel()) for name, t in model.state_dict().items()]


# --8<-- [end:table]


def _same_tensor(a: torch.Tensor, b: torch.Tensor) -> bool:
    """True when two tensors are views of exactly the same memory."""
    return a.data_ptr() == b.data_ptr() and a.shape == b.shape and a.stride() == b.stride() and a.dtype == b.dtype


def tied_groups(model: nn.Module) -> list[list[str]]:
    """Names in the state dict that share one tensor, e.g. ``[["transformer.embed.wte.weight", "lm_head.weight"]]``."""
    groups: list[list[str]] = []
    anchors: list[torch.Tensor] = []
    for name, t in model.state_dict().items():
        for group, anchor in zip(groups, anchors):
            if _same_tensor(t, anchor):
                group.append(name)
                break
        else:
            groups.append([name])
            anchors.append(t)
    return [g for g in groups if len(g) > 1]


# --8<-- [start:save_load]
PathLike = Union[str, "os.PathLike[str]"]

#: The metadata key under which ``save_weights`` records tied names, for ``load_weights``.
TIED_KEY = "llm_guide.tied"


def save_weights(model: nn.Module, path: PathLike, metadata: dict[str, str] | None = None) -> None:
    """Write every tensor of the model to a ``.safetensors`` file.

    safetensors refuses two names for one piece of memory, and a GPT with tied
    weights has exactly that. So each tied tensor is stored once, under the first
    of its names, and the other names are recorded in the file's metadata;
    ``load_weights`` puts them back. ``metadata`` is extra text to store beside
    the tensors (safetensors metadata maps strings to strings).
    """
    state = model.state_dict()
    tied = {alias: group[0] for group in tied_groups(model) for alias in group[1:]}
    tensors = {name: t.contiguous() for name, t in state.items() if name not in tied}
    meta = dict(metadata or {})
    meta[TIED_KEY] = json.dumps(tied)
    save_file(tensors, os.fspath(path), metadata=meta)


def open_safetensors(path: PathLike):
    """``safe_open`` with errors that name the file: a missing file stays FileNotFoundError,
    anything that is not a safetensors file (a text file, a ``torch.save`` pickle, a folder)
    is a ValueError that says what to pass instead."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    try:
        return safe_open(path, framework="pt")
    except Exception as error:  # safetensors' own SafetensorError, or OSError for a folder
        raise ValueError(
            f"{path!r} is not a safetensors file ({error}); give a file written by "
            "save_weights or save_checkpoint (a .safetensors file)"
        ) from None


def load_weights(model: nn.Module, path: PathLike) -> dict[str, str]:
    """Fill the model's tensors from a file written by ``save_weights``; returns its metadata.

    Every name must match and every shape must agree before anything is copied,
    so a mismatch leaves the model untouched and says which tensor is wrong.
    """
    with open_safetensors(path) as f:
        meta = dict(f.metadata() or {})
        found = {name: f.get_tensor(name) for name in f.keys()}
    for alias, source in json.loads(meta.pop(TIED_KEY, "{}")).items():
        found[alias] = found[source]

    expected = model.state_dict()
    missing = [name for name in expected if name not in found]
    unexpected = [name for name in found if name not in expected]
    if missing or unexpected:
        raise ValueError(
            f"the file {os.fspath(path)!r} does not fit this model: "
            f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}; "
            f"build the model with the same architecture the weights were saved from"
        )
    for name, tensor in expected.items():
        if found[name].shape != tensor.shape:
            raise ValueError(
                f"shape mismatch for {name!r}: the model expects {tuple(tensor.shape)} "
                f"but the file holds {tuple(found[name].shape)}; build the model with the "
                f"configuration the weights were saved from"
            )
    model.load_state_dict(found)
    return meta


# --8<-- [end:save_load]


def read_metadata(path: PathLike) -> dict[str, str]:
    """The text metadata of a safetensors file, without loading any tensor."""
    with open_safetensors(path) as f:
        meta = dict(f.metadata() or {})
    meta.pop(TIED_KEY, None)
    return meta


# --8<-- [start:bytes]
#: Bytes one parameter takes in each common storage format.
BYTES_PER_PARAM: dict[str, float] = {
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "int8": 1,
    "int4": 0.5,  # two parameters share a byte
}


def bytes_for(n_params: int, dtype: str | torch.dtype = "float32") -> int:
    """Bytes needed to store ``n_params`` numbers of the given type (weights only)."""
    if isinstance(dtype, torch.dtype):
        per_param: float = dtype.itemsize
    elif dtype in BYTES_PER_PARAM:
        per_param = BYTES_PER_PARAM[dtype]
    else:
        raise ValueError(f"unknown dtype {dtype!r}; use a torch.dtype or one of {sorted(BYTES_PER_PARAM)}")
    if n_params < 0:
        raise ValueError(f"n_params must be >= 0, got {n_params}")
    return math.ceil(n_params * per_param)


def format_bytes(n_bytes: float) -> str:
    """A byte count the way file sizes are quoted: ``format_bytes(497_759_232) == '497.8 MB'``."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n_bytes) < 1000:
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    return f"{n_bytes:.1f} TB"


# --8<-- [end:bytes]


# --8<-- [start:groups]
#: The five kinds of parameter in a GPT, in the order the data meets them.
GROUPS = ("embeddings", "attention", "feed-forward", "norms", "head")


def group_of(name: str) -> str:
    """Which of ``GROUPS`` a parameter belongs to, read from its GPT-2-style name."""
    if name.startswith("transformer.embed."):
        return "embeddings"
    if ".attn." in name:  # c_attn, c_proj (and LoRA adapters on them)
        return "attention"
    if ".mlp." in name:  # c_fc, c_proj
        return "feed-forward"
    if ".ln_" in name:  # ln_1, ln_2 in every block, ln_f at the end
        return "norms"
    if name.startswith("lm_head."):
        return "head"
    raise ValueError(f"cannot tell which of {GROUPS} the parameter {name!r} belongs to")


def parameter_groups(model: nn.Module) -> dict[str, int]:
    """Parameters per group. Each tensor counts once: a tied head is the token
    embedding, so it is counted under embeddings and the head adds 0."""
    totals = dict.fromkeys(GROUPS, 0)
    for name, p in model.named_parameters():
        totals[group_of(name)] += p.numel()
    return totals


# --8<-- [end:groups]


# --8<-- [start:lora]
class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank correction.

    The layer computes ``base(x) + (x @ A.T @ B.T) * (alpha / rank)``: the base
    weight W (out, in) stays fixed and training learns ``B @ A``, a matrix of the
    same shape whose rank is at most ``rank``. That costs ``rank * (in + out)``
    parameters instead of ``in * out``. B starts at zero, so before training the
    layer gives exactly what the base layer gave.
    """

    def __init__(self, base: nn.Linear, rank: int, alpha: float = 1.0) -> None:
        super().__init__()
        limit = min(base.in_features, base.out_features)
        allowed = f"min(in_features, out_features) = min({base.in_features}, {base.out_features}) = {limit}"
        check_int(rank, "LoRA rank", hint=f"from 1 to {allowed}")
        if rank > limit:
            raise ValueError(
                f"LoRA rank must be at most {allowed}, got {rank!r}: "
                "a larger rank cannot express anything more than a full update"
            )
        if alpha <= 0:
            raise ValueError(f"LoRA alpha must be > 0, got {alpha!r}")
        self.base = base
        self.base.requires_grad_(False)
        self.rank = rank
        self.alpha = alpha
        self.scale = alpha / rank  # keeps the update's size steady when you change the rank
        like = dict(dtype=base.weight.dtype, device=base.weight.device)
        # A random, B zero: the product B @ A is zero at the start, yet A already
        # points somewhere, so B's gradient is non-zero from the first step.
        # A's scale 1/sqrt(in) keeps A @ x about as large as x.
        A = torch.randn(rank, base.in_features, **like) / math.sqrt(base.in_features)
        self.lora_A = nn.Parameter(A)  # (r, in)
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, **like))  # (out, r)

    @property
    def in_features(self) -> int:
        return self.base.in_features

    @property
    def out_features(self) -> int:
        return self.base.out_features

    def delta_weight(self) -> torch.Tensor:
        """The learned change to the base weight, ``B @ A * scale``, shape (out, in)."""
        return self.lora_B @ self.lora_A * self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., in) -> (..., out). The low-rank path never builds the (out, in) matrix."""
        return self.base(x) + (x @ self.lora_A.T @ self.lora_B.T) * self.scale

    def extra_repr(self) -> str:
        return f"rank={self.rank}, alpha={self.alpha}"


# --8<-- [end:lora]


# --8<-- [start:add_lora]
def _matches(name: str, targets: Iterable[str]) -> bool:
    """``"c_attn"`` matches ``"transformer.h.0.attn.c_attn"``; a dotted target matches a suffix."""
    return any(name == t or name.endswith("." + t) for t in targets)


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    """Put ``module`` where the model's submodule ``name`` (``"transformer.h.0.attn.c_attn"``) was."""
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def add_lora(
    model: nn.Module,
    rank: int,
    alpha: float = 1.0,
    targets: Iterable[str] = ("c_attn",),
) -> list[str]:
    """Freeze the whole model, then wrap each ``nn.Linear`` named in ``targets`` in a ``LoRALinear``.

    Changes the model in place and returns the names of the wrapped layers.
    Afterwards only the adapters' A and B matrices have ``requires_grad``.
    """
    targets = tuple(targets)
    chosen = [
        name for name, module in model.named_modules() if isinstance(module, nn.Linear) and _matches(name, targets)
    ]
    if not chosen:
        linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
        raise ValueError(
            f"no nn.Linear layer matches targets={targets}; the model's linear layers "
            f"are {linears[:8]}{' ...' if len(linears) > 8 else ''}"
        )
    # A weight shared with another layer (the tied output head) cannot take a
    # separate update: merging it would silently change the embedding too.
    uses: dict[int, int] = {}
    for _, p in model.named_parameters(remove_duplicate=False):
        uses[id(p)] = uses.get(id(p), 0) + 1
    for name in chosen:
        if uses[id(model.get_submodule(name).weight)] > 1:
            raise ValueError(f"{name!r} shares its weight with another layer (tied weights); leave it out of targets")

    # Build every adapter before changing anything: LoRALinear checks rank and alpha (and
    # freezes its base layer), so a refused call must put the flags back as they were.
    trainable = {p: p.requires_grad for p in model.parameters()}
    try:
        adapters = {name: LoRALinear(model.get_submodule(name), rank, alpha) for name in chosen}
    except ValueError:
        for p, flag in trainable.items():
            p.requires_grad_(flag)
        raise
    model.requires_grad_(False)
    for name, adapter in adapters.items():
        _set_submodule(model, name, adapter)
    return chosen


@torch.no_grad()
def merge_lora(model: nn.Module) -> list[str]:
    """Fold every adapter into its base weight (W + B @ A * scale) and restore plain ``nn.Linear`` layers.

    The merged model computes the same outputs (up to rounding) with no extra
    cost at inference. Returns the names of the merged layers. The merged
    weights keep the base layer's ``requires_grad`` (False after ``add_lora``).
    """
    merged = [name for name, m in model.named_modules() if isinstance(m, LoRALinear)]
    for name in merged:
        lora: LoRALinear = model.get_submodule(name)
        lora.base.weight += lora.delta_weight()
        _set_submodule(model, name, lora.base)
    return merged


def count_trainable(model: nn.Module) -> int:
    """Number of parameters the optimizer will change (``requires_grad`` is True).

    ``model.parameters()`` lists a tied tensor once, so it is counted once.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# --8<-- [end:add_lora]
