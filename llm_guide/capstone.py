"""Chapter 11: the whole pipeline in one function, from raw text to a saved character-level GPT.

``train_char_gpt(text, config)`` builds the vocabulary, tokenizes, splits off a
validation part, builds a GPT, trains it and (optionally) saves it with its
vocabulary. The chapter runs it for a few seconds; ``llm-guide train`` and the
reference run below run the very same function for longer.

    python -m llm_guide.capstone     # the reference run: rewrite reference_run.json
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Union

import torch

from llm_guide.data import train_val_split
from llm_guide.generate import generate
from llm_guide.model import GPT, GPTConfig
from llm_guide.tokenizers import CharTokenizer
from llm_guide.train import TrainConfig, TrainResult, load_checkpoint, save_checkpoint, train
from llm_guide.vocab import Vocabulary

__all__ = [
    "CapstoneConfig",
    "CapstoneResult",
    "train_char_gpt",
    "save_char_gpt",
    "load_char_gpt",
    "reference_run",
    "load_reference_run",
    "REFERENCE_RUN",
    "torch_threads",
]

PathLike = Union[str, "os.PathLike[str]"]

#: Where the recorded reference run lives (next to this module, so the chapter can read it).
REFERENCE_RUN = Path(__file__).resolve().parent / "reference_run.json"


# --8<-- [start:config]
@dataclass
class CapstoneConfig:
    """Model shape and training budget of a character-level GPT.

    The defaults are nanoGPT's configuration for training on a laptop CPU: 4
    layers, 4 heads, 128 wide, a 64-character context, 12 sequences per step,
    2,000 steps, no dropout, a learning rate of 1e-3 warmed up over 100 steps
    and decayed to a tenth. ``fast`` trains with PyTorch's fused kernels for
    attention, LayerNorm and GELU: the same model, computed faster.
    """

    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    batch_size: int = 12
    steps: int = 2000
    lr: float = 1e-3
    warmup_steps: int = 100
    val_fraction: float = 0.1
    eval_interval: int = 250
    eval_steps: int = 50
    dropout: float = 0.0
    seed: int = 0
    fast: bool = True

    def model_config(self, vocab_size: int) -> GPTConfig:
        return GPTConfig(
            vocab_size=vocab_size,
            block_size=self.block_size,
            n_layer=self.n_layer,
            n_head=self.n_head,
            n_embd=self.n_embd,
            dropout=self.dropout,
            fast=self.fast,
        )

    def train_config(self, progress: bool = False) -> TrainConfig:
        return TrainConfig(
            steps=self.steps,
            batch_size=self.batch_size,
            lr=self.lr,
            warmup_steps=min(self.warmup_steps, self.steps - 1),
            eval_interval=self.eval_interval,
            eval_steps=self.eval_steps,
            seed=self.seed,
            progress=progress,
        )


@dataclass
class CapstoneResult:
    """What ``train_char_gpt`` made: the model, its tokenizer, and the record of training."""

    model: GPT
    tokenizer: CharTokenizer
    config: CapstoneConfig
    history: TrainResult
    n_train_tokens: int
    n_val_tokens: int

    @property
    def n_params(self) -> int:
        return self.model.num_params()

    @property
    def train_loss(self) -> float:
        """Mean loss on training batches, measured after the last step."""
        return self.history.evals[-1].train_loss

    @property
    def val_loss(self) -> float:
        """Mean loss on validation batches (text the model never trained on), after the last step."""
        return self.history.evals[-1].val_loss


# --8<-- [end:config]


# --8<-- [start:train_char_gpt]
def train_char_gpt(
    text: str,
    config: CapstoneConfig | None = None,
    *,
    progress: bool = False,
    checkpoint: PathLike | None = None,
) -> CapstoneResult:
    """Train a character-level GPT on ``text``; save it to ``checkpoint`` if given."""
    config = config or CapstoneConfig()
    tokenizer = CharTokenizer.from_text(text)  # 1. vocabulary: every distinct character
    ids = torch.tensor(tokenizer.encode(text))  # 2. tokens: one id per character
    train_ids, val_ids = train_val_split(ids, config.val_fraction)  # 3. the last 10% is held out
    torch.manual_seed(config.seed)  # 4. a model of the configured shape, seeded
    model = GPT(config.model_config(tokenizer.vocab_size))
    # 5. train: random (B, T) batches, AdamW, warm-up and cosine decay, evaluations
    history = train(model, train_ids, val_ids, config.train_config(progress))
    result = CapstoneResult(model, tokenizer, config, history, len(train_ids), len(val_ids))
    if checkpoint is not None:
        save_char_gpt(result, checkpoint)  # 6. weights, shape and vocabulary in one file
    return result


# --8<-- [end:train_char_gpt]


# --8<-- [start:save_load]
def save_char_gpt(result: CapstoneResult, path: PathLike) -> None:
    """Save the weights with everything needed to use them again: shape, vocabulary, losses."""
    save_checkpoint(
        result.model,
        path,
        result.config.train_config(),
        vocab=result.tokenizer.vocab.itos,
        train_loss=result.train_loss,
        val_loss=result.val_loss,
    )


def load_char_gpt(path: PathLike) -> tuple[GPT, CharTokenizer]:
    """The model and tokenizer saved by ``save_char_gpt`` (or ``llm-guide train``)."""
    model, info = load_checkpoint(path)
    if "vocab" not in info:
        raise ValueError(f"{os.fspath(path)!r} has no vocabulary: it was not saved by save_char_gpt")
    model.eval()
    return model, CharTokenizer(Vocabulary(info["vocab"]))


# --8<-- [end:save_load]


# --8<-- [start:reference_run]
SAMPLE_PROMPT, SAMPLE_LENGTH, SAMPLE_TEMPERATURE = "The ", 300, 0.8  # what the recorded sample continues


def reference_run(config: CapstoneConfig | None = None, progress: bool = True) -> dict[str, Any]:
    """Train with ``config`` (the defaults unless given) on Python's help text; return the facts.

    Only what does not depend on the machine is kept: the configuration, the
    corpus, the sizes and the losses. Timings are left out on purpose.
    """
    from llm_guide.corpora import python_docs

    config = config or CapstoneConfig()
    text = python_docs()
    result = train_char_gpt(text, config, progress=progress)
    prompt = torch.tensor([result.tokenizer.encode(SAMPLE_PROMPT)])
    generator = torch.Generator().manual_seed(config.seed)
    out = generate(result.model, prompt, SAMPLE_LENGTH, temperature=SAMPLE_TEMPERATURE, generator=generator)
    return {
        "command": "python -m llm_guide.capstone",
        "config": asdict(config),
        "corpus": {
            "name": "python_docs",
            "chars": len(text),
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "python": platform.python_version(),
        },
        "torch": torch.__version__,
        "vocab_size": result.tokenizer.vocab_size,
        "n_params": result.n_params,
        "train_tokens": result.n_train_tokens,
        "val_tokens": result.n_val_tokens,
        "evals": [[e.step, round(e.train_loss, 4), round(e.val_loss, 4)] for e in result.history.evals],
        "train_loss": round(result.train_loss, 4),
        "val_loss": round(result.val_loss, 4),
        "sample": {
            "prompt": SAMPLE_PROMPT,
            "temperature": SAMPLE_TEMPERATURE,
            "seed": config.seed,
            "text": result.tokenizer.decode(out[0].tolist()),
        },
    }


def load_reference_run() -> dict[str, Any]:
    """The recorded reference run (``reference_run.json`` beside this module)."""
    return json.loads(resources.files("llm_guide").joinpath("reference_run.json").read_text(encoding="utf-8"))


# --8<-- [end:reference_run]


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the ``with`` block with ``n`` PyTorch threads, then restore the previous number.

    Small models often run faster on one thread: splitting tiny matrix products
    across cores costs more in waiting than it saves, worst of all on a machine
    whose cores are busy with something else.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def main() -> int:
    run = reference_run()
    REFERENCE_RUN.write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    print(f"train loss {run['train_loss']:.4f}   val loss {run['val_loss']:.4f}   wrote {REFERENCE_RUN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
