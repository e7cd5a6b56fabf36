"""Chapter 9: the training loop, the AdamW update written out, and checkpoints.

One training step: take a random batch, run the model to get the loss (how
surprised it was by the true next tokens), backpropagate to get a gradient for
every weight, clip that gradient if it is unusually large, and let AdamW move
the weights a little downhill. The learning rate rises linearly for the first
``warmup_steps`` (a random model's gradients are unreliable) and then falls
along a cosine curve to ``min_lr`` (small, careful steps at the end).

The loop expects a GPT-style model: ``model(idx, targets) -> (logits, loss)``
with ``idx`` and ``targets`` of shape (B, T).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import NamedTuple, Union

import torch
from torch import nn
from tqdm import tqdm

from llm_guide.checks import check_int
from llm_guide.data import as_ids, get_batch, xy_pairs
from llm_guide.weights import load_weights, read_metadata, save_weights

__all__ = [
    "TrainConfig",
    "TrainResult",
    "EvalPoint",
    "TrainingDivergedError",
    "lr_at",
    "make_optimizer",
    "Batches",
    "estimate_loss",
    "train_step",
    "train",
    "adamw_step",
    "sgd_step",
    "save_checkpoint",
    "load_checkpoint",
]

# --8<-- [start:path_like]
PathLike = Union[str, "os.PathLike[str]"]  # a file's path, as a string or a pathlib.Path
# --8<-- [end:path_like]


# --8<-- [start:diverged]
class TrainingDivergedError(RuntimeError):
    """The loss or the gradient stopped being a finite number: training blew up."""


# --8<-- [end:diverged]


# --8<-- [start:config]
@dataclass
class TrainConfig:
    """Everything that decides how a model is trained (and nothing about the model itself).

    ``batch_size=None`` trains on every window of the text in every step: the
    right choice for a tiny corpus such as "hello hello", whose 7 windows fit in
    one batch. ``block_size=None`` takes the context length from
    ``model.config.block_size``.
    """

    steps: int = 1000
    batch_size: int | None = 32
    block_size: int | None = None
    lr: float = 1e-3  # the peak learning rate, reached at the end of warm-up
    min_lr: float | None = None  # where the cosine ends; None means lr / 10, lr means no decay
    warmup_steps: int = 0
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.99)
    grad_clip: float | None = 1.0  # largest allowed gradient norm; None turns clipping off
    eval_interval: int = 100  # evaluate every this many steps (and once at the end)
    eval_steps: int = 20  # batches averaged per evaluation
    seed: int = 0
    progress: bool = True  # a tqdm bar on stderr; turn off where output is checked

    def __post_init__(self) -> None:
        self.check()

    @property
    def final_lr(self) -> float:
        """The learning rate the cosine decays to."""
        return self.lr / 10 if self.min_lr is None else self.min_lr

    def check(self) -> None:
        """Raise a ValueError for any setting that cannot work."""
        check_int(self.steps, "steps")
        if self.batch_size is not None:
            check_int(self.batch_size, "batch_size", hint="or None to use every window in every step")
        if self.block_size is not None:
            check_int(self.block_size, "block_size", hint="or None to use the model's")
        if not self.lr > 0 or not math.isfinite(self.lr):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}; 1e-3 is a good start for AdamW")
        if not 0 <= self.final_lr <= self.lr:
            raise ValueError(f"min_lr must be between 0 and lr = {self.lr}, got {self.min_lr!r}")
        check_int(self.warmup_steps, "warmup_steps", minimum=0)
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be > 0, or None for no clipping; got {self.grad_clip!r}")
        check_int(self.eval_interval, "eval_interval")
        check_int(self.eval_steps, "eval_steps")


# --8<-- [end:config]


# --8<-- [start:lr_at]
def lr_at(step: int, config: TrainConfig) -> float:
    """The learning rate for step ``step`` (counted from 0): linear warm-up, then cosine decay.

    Warm-up climbs in equal steps to ``config.lr`` at step ``warmup_steps - 1``;
    the cosine then starts at ``config.lr`` and reaches ``min_lr`` exactly at the
    last step, ``steps - 1`` (and stays there if you go on).
    """
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    decay_steps = config.steps - config.warmup_steps - 1
    progress = min(1.0, (step - config.warmup_steps) / decay_steps) if decay_steps > 0 else 1.0
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))  # 1 -> 0 along half a cosine
    return config.final_lr + cosine * (config.lr - config.final_lr)


# --8<-- [end:lr_at]


# --8<-- [start:results]
class EvalPoint(NamedTuple):
    """Mean losses measured at one moment of training (before the update of ``step``)."""

    step: int
    train_loss: float
    val_loss: float | None


@dataclass
class TrainResult:
    """What ``train`` recorded: one entry per step, plus the periodic evaluations."""

    losses: list[float] = field(default_factory=list)  # the batch loss of each step
    lrs: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)  # before clipping
    evals: list[EvalPoint] = field(default_factory=list)
    elapsed: float = 0.0  # seconds

    @property
    def final_loss(self) -> float:
        """The last evaluated training loss (an average, steadier than ``losses[-1]``)."""
        return self.evals[-1].train_loss


# --8<-- [end:results]


# --8<-- [start:optimizer]
def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW over the trainable parameters; weight decay only on matrices.

    Decay pulls weights towards zero. That regularises the big matrices (the
    embeddings and the linear layers), but biases and LayerNorm gains are few
    and pulling a LayerNorm gain towards 0 only fights the layer, so they are
    left alone (as GPT-2 and nanoGPT do).
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters (every requires_grad is False)")
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas)


# --8<-- [end:optimizer]


# --8<-- [start:batches]
class Batches:
    """Where a loop's batches come from: random windows, or every window at once (``batch_size=None``)."""

    def __init__(self, data: torch.Tensor, block_size: int, batch_size: int | None, name: str) -> None:
        if len(data) < block_size + 1:
            raise ValueError(
                f"{name} has {len(data)} tokens, too short for one batch: a window needs "
                f"block_size + 1 = {block_size + 1}; use more text or a smaller block_size"
            )
        self.data, self.block_size, self.batch_size = data, block_size, batch_size
        self.all = xy_pairs(data, block_size) if batch_size is None else None

    def next(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        if self.all is not None:
            return self.all
        return get_batch(self.data, self.block_size, self.batch_size, generator)


# --8<-- [end:batches]


# --8<-- [start:estimate_loss]
@torch.no_grad()  # no graph to build: we only measure
def estimate_loss(
    model: nn.Module,
    data: torch.Tensor,
    block_size: int,
    batch_size: int | None = 32,
    eval_steps: int = 20,
    generator: torch.Generator | None = None,
) -> float:
    """The model's mean loss over ``eval_steps`` random batches of ``data``.

    One batch's loss is noisy; an average over several is a steadier reading.
    ``model.eval()`` switches dropout off while measuring, and the model goes
    back to the mode it was in afterwards. With ``batch_size=None`` the loss is
    the exact mean over every window, and ``eval_steps`` does not matter.
    """
    batches = Batches(as_ids(data, "data"), block_size, batch_size, "data")
    was_training = model.training
    model.eval()
    n = 1 if batch_size is None else eval_steps
    losses = [model(*batches.next(generator))[1].item() for _ in range(n)]
    model.train(was_training)
    return sum(losses) / n


# --8<-- [end:estimate_loss]


# --8<-- [start:block_size]
def _block_size(model: nn.Module, config: TrainConfig) -> int:
    """The context length to train with: the config's, or else the model's."""
    if config.block_size is not None:
        return config.block_size
    model_config = getattr(model, "config", None)
    if model_config is None or not hasattr(model_config, "block_size"):
        raise ValueError("set TrainConfig.block_size: the model has no config.block_size to take it from")
    return model_config.block_size


# --8<-- [end:block_size]


# --8<-- [start:train_step]
def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    grad_clip: float | None = 1.0,
    step: int = 0,
) -> tuple[float, float]:
    """One update of ``model`` on the batch (x, y), both (B, T); returns (loss, gradient norm).

    Sets every parameter group's learning rate to ``lr``, measures the loss,
    backpropagates, clips the gradient's norm to ``grad_clip`` (None: only
    measure it) and lets the optimizer move the weights. The returned norm is
    the one before clipping. ``step`` only labels the error if training blew up.
    """
    for group in optimizer.param_groups:
        group["lr"] = lr
    _, loss = model(x, y)
    if not torch.isfinite(loss):
        raise TrainingDivergedError(
            f"the loss became {loss.item()} at step {step} (lr {lr:.3g}); training diverged. "
            "Lower the learning rate (TrainConfig.lr) or keep gradient clipping on"
        )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    # clip_grad_norm_ returns the norm *before* clipping; max_norm=inf only measures it.
    norm = nn.utils.clip_grad_norm_(params, grad_clip or float("inf"))
    if not torch.isfinite(norm):
        raise TrainingDivergedError(
            f"the gradient norm became {norm.item()} at step {step} (lr {lr:.3g}); "
            "lower the learning rate (TrainConfig.lr)"
        )
    optimizer.step()
    return loss.item(), norm.item()


# --8<-- [end:train_step]


# --8<-- [start:train]
def train(
    model: nn.Module,
    train_data: torch.Tensor,
    val_data: torch.Tensor | None = None,
    config: TrainConfig | None = None,
) -> TrainResult:
    """Train ``model`` in place on a 1-D tensor of token ids and return what happened.

    The batches come from a ``torch.Generator`` seeded with ``config.seed``, so
    the same initial model, data and config give the same losses every run.
    (Seed the model's initial weights yourself: ``torch.manual_seed`` before
    building it.) Raises ``TrainingDivergedError`` if the loss becomes NaN or inf.
    """
    config = config or TrainConfig()
    config.check()
    block_size = _block_size(model, config)
    train_batches = Batches(as_ids(train_data, "train_data"), block_size, config.batch_size, "train_data")
    if val_data is not None:
        Batches(as_ids(val_data, "val_data"), block_size, config.batch_size, "val_data")

    torch.manual_seed(config.seed)  # dropout draws from the global generator
    batch_gen = torch.Generator().manual_seed(config.seed)
    eval_gen = torch.Generator().manual_seed(config.seed + 1)  # evaluating never shifts the training batches
    optimizer = make_optimizer(model, config)
    result = TrainResult()

    def evaluate(step: int) -> None:
        args = (block_size, config.batch_size, config.eval_steps, eval_gen)
        train_loss = estimate_loss(model, train_data, *args)
        val_loss = estimate_loss(model, val_data, *args) if val_data is not None else None
        result.evals.append(EvalPoint(step, train_loss, val_loss))

    model.train()
    start = time.perf_counter()
    with tqdm(range(config.steps), desc="training", disable=not config.progress, file=sys.stderr) as bar:
        for step in bar:
            if step % config.eval_interval == 0:
                evaluate(step)

            lr = lr_at(step, config)
            x, y = train_batches.next(batch_gen)  # (B, T) each
            loss, norm = train_step(model, optimizer, x, y, lr, config.grad_clip, step)
            result.losses.append(loss)
            result.lrs.append(lr)
            result.grad_norms.append(norm)
            bar.set_postfix(loss=f"{result.losses[-1]:.4f}", refresh=False)

    evaluate(config.steps)  # the model as it ends up
    result.elapsed = time.perf_counter() - start
    return result


# --8<-- [end:train]


# --8<-- [start:adamw_step]
@torch.no_grad()
def adamw_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    m: torch.Tensor,
    v: torch.Tensor,
    t: int,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.01,
) -> None:
    """One AdamW update of ``param``, in place; ``m`` and ``v`` are its running state.

    ``m`` and ``v`` start as zeros shaped like ``param``; ``t`` counts updates from 1.
    The same arithmetic as ``torch.optim.AdamW`` with the same settings.
    """
    beta1, beta2 = betas
    # Decoupled weight decay: shrink the weight directly, instead of adding a
    # decay term to the gradient (where Adam's scaling would distort it).
    param.mul_(1 - lr * weight_decay)
    # Momentum: a running average of gradients smooths out batch-to-batch noise.
    m.mul_(beta1).add_(grad, alpha=1 - beta1)
    # A running average of squared gradients measures each weight's typical step size.
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    # Both averages start at zero and so are too small early on; dividing by
    # (1 - beta^t) corrects that bias (the factor tends to 1 as t grows).
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    # Each weight moves by about lr, whatever its gradient's scale.
    param.sub_(lr * m_hat / (v_hat.sqrt() + eps))


# --8<-- [end:adamw_step]


# --8<-- [start:sgd_step]
@torch.no_grad()
def sgd_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    velocity: torch.Tensor,
    lr: float = 0.1,
    momentum: float = 0.9,
) -> None:
    """One step of gradient descent with momentum, in place (``torch.optim.SGD``'s rule).

    ``velocity`` starts as zeros; with ``momentum=0`` this is plain
    ``param -= lr * grad``.
    """
    velocity.mul_(momentum).add_(grad)  # keep rolling in the direction of recent gradients
    param.sub_(lr * velocity)


# --8<-- [end:sgd_step]


# --8<-- [start:checkpoint]
def _config_dict(config: object) -> dict:
    return asdict(config) if is_dataclass(config) else dict(vars(config))


def save_checkpoint(
    model: nn.Module,
    path: PathLike,
    config: TrainConfig | None = None,
    **info: object,
) -> None:
    """Save the weights, plus the model's and the training's configuration, to one safetensors file.

    The configurations go into the file's metadata as JSON, so ``load_checkpoint``
    can rebuild the model without being told its shape. ``info`` adds any other
    JSON-friendly facts (``step=1000``, ``val_loss=1.9``). Optimizer state is not
    saved: this is a checkpoint to use or fine-tune, not to resume bit for bit.
    """
    meta = {key: json.dumps(value) for key, value in info.items()}
    if getattr(model, "config", None) is not None:
        meta["model_config"] = json.dumps(_config_dict(model.config))
    if config is not None:
        meta["train_config"] = json.dumps(asdict(config))
    save_weights(model, path, metadata=meta)


def load_checkpoint(path: PathLike, model: nn.Module | None = None) -> tuple[nn.Module, dict]:
    """Load a checkpoint; returns ``(model, info)`` with everything stored beside the weights.

    Without ``model``, a ``GPT`` is built from the stored model configuration.
    """
    info = {key: json.loads(value) for key, value in read_metadata(path).items()}
    if model is None:
        if "model_config" not in info:
            raise ValueError(f"{os.fspath(path)!r} stores no model_config: pass the model to load into")
        from llm_guide.model import GPT, GPTConfig

        model = GPT(GPTConfig(**info["model_config"]))
    load_weights(model, path)
    return model, info


# --8<-- [end:checkpoint]
