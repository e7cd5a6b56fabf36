"""Training speed and quality of the guide's GPT against a GPT built from PyTorch's own layers.

    python benchmarks/bench_training.py                 # the full run (a few minutes)
    python benchmarks/bench_training.py --steps 100     # a quick look

Three models of the same shape (the capstone's reference size: 4 layers, 4 heads,
128 wide, context 64, batch 12, no dropout, float32) train side by side, in one
process, on the same batches of Python's help text, with the same optimizer,
learning-rate schedule and training step (``llm_guide.train.train_step``):

* ``guide-teaching``: ``llm_guide.GPT`` as the chapters build it, the default:
  attention, softmax, the causal mask, LayerNorm and GELU all run the chapters' code;
* ``guide-fast``: the same model with ``fast=True``, PyTorch's fused kernels for the
  same maths (``F.scaled_dot_product_attention``, ``F.layer_norm``, ``F.gelu``): the
  capstone's and the CLI's setting;
* ``torch-layers``: token and position embeddings, ``nn.TransformerEncoderLayer``
  (pre-norm, GELU, batch-first, causal mask), a final ``nn.LayerNorm`` and a tied head.

Every step runs all three, in an order that rotates, so a burst of load from
elsewhere on the machine slows all sides alike. Reported: training throughput
(tokens per second, from the median step time after warm-up), validation loss
after the last step, and, separately, the forward and backward time of attention
alone, written out against ``F.scaled_dot_product_attention``. Results are printed
as a table and written to ``benchmarks/results/bench_training.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from machine import cpu_name  # noqa: E402  (benchmarks/ is on sys.path when a script runs)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llm_guide import corpora  # noqa: E402
from llm_guide.attention import scaled_dot_product_attention  # noqa: E402
from llm_guide.data import get_batch, train_val_split  # noqa: E402
from llm_guide.model import GPT, GPTConfig  # noqa: E402
from llm_guide.tokenizers import CharTokenizer  # noqa: E402
from llm_guide.train import TrainConfig, estimate_loss, lr_at, make_optimizer, train_step  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


class TorchLayersGPT(nn.Module):
    """A GPT made of PyTorch's stock layers, as close to ``llm_guide.GPT`` as they allow.

    Differences that remain: ``nn.TransformerEncoderLayer``'s GELU is the exact
    (erf) one, not GPT-2's tanh approximation, and its attention keeps separate
    in- and out-projection parameters under other names. Sizes and parameter
    counts are the same.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        C = config.n_embd
        self.wte = nn.Embedding(config.vocab_size, C)
        self.wpe = nn.Embedding(config.block_size, C)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d_model=C,
                nhead=config.n_head,
                dim_feedforward=config.n_hidden,
                dropout=config.dropout,
                activation="gelu",
                batch_first=True,
                norm_first=True,
                bias=config.bias,
            )
            for _ in range(config.n_layer)
        )
        self.ln_f = nn.LayerNorm(C, bias=config.bias)
        self.lm_head = nn.Linear(C, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as in GPT-2 and llm_guide.GPT
        # GPT-2's init, as llm_guide.GPT does it: weights N(0, 0.02), the layers that write
        # into the residual stream scaled by 1/sqrt(2 * n_layer), biases 0, LayerNorms as built
        norms = {id(p) for m in self.modules() if isinstance(m, nn.LayerNorm) for p in m.parameters()}
        for name, p in self.named_parameters():
            if id(p) in norms:
                continue
            if p.dim() >= 2:
                std = (
                    0.02 / math.sqrt(2 * config.n_layer)
                    if name.endswith(("out_proj.weight", "linear2.weight"))
                    else 0.02
                )
                nn.init.normal_(p, mean=0.0, std=std)
            else:
                nn.init.zeros_(p)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        mask = nn.Transformer.generate_square_subsequent_mask(T, device=idx.device)
        for layer in self.layers:
            x = layer(x, src_mask=mask, is_causal=True)
        logits = self.lm_head(self.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))
        return logits, loss


MODELS = ("guide-teaching", "guide-fast", "torch-layers")


def make_models(vocab_size: int, seed: int) -> dict[str, nn.Module]:
    shape = dict(vocab_size=vocab_size, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0)
    models = {}
    for name, build in (
        ("guide-teaching", lambda: GPT(GPTConfig(**shape))),
        ("guide-fast", lambda: GPT(GPTConfig(**shape, fast=True))),
        ("torch-layers", lambda: TorchLayersGPT(GPTConfig(**shape))),
    ):
        torch.manual_seed(seed)
        models[name] = build()
    return models


def bench_training(steps: int, warmup: int, seed: int) -> dict:
    text = corpora.python_docs()
    tokenizer = CharTokenizer.from_text(text)
    train_ids, val_ids = train_val_split(torch.tensor(tokenizer.encode(text)), 0.1)
    models = make_models(tokenizer.vocab_size, seed)
    config = TrainConfig(steps=steps, batch_size=12, lr=1e-3, warmup_steps=min(100, steps // 10), progress=False)
    optimizers = {name: make_optimizer(m, config) for name, m in models.items()}
    times: dict[str, list[float]] = {name: [] for name in models}
    names = list(models)
    generator = torch.Generator().manual_seed(seed)
    for m in models.values():
        m.train()
    for step in range(steps):
        x, y = get_batch(train_ids, 64, 12, generator)  # the same batch for all three
        lr = lr_at(step, config)
        for k in range(len(names)):
            name = names[(step + k) % len(names)]  # rotate who goes first
            start = time.perf_counter()
            train_step(models[name], optimizers[name], x, y, lr, config.grad_clip, step)
            times[name].append(time.perf_counter() - start)
        if (step + 1) % max(1, steps // 10) == 0:
            print(f"  step {step + 1}/{steps}", file=sys.stderr, flush=True)

    tokens_per_step = 12 * 64
    out = {}
    for name, model in models.items():
        median = statistics.median(times[name][warmup:])
        val = estimate_loss(model, val_ids, 64, 12, eval_steps=100, generator=torch.Generator().manual_seed(seed + 1))
        out[name] = {
            "params": sum(p.numel() for p in model.parameters()),
            "median_step_ms": round(median * 1000, 2),
            "tokens_per_s": round(tokens_per_step / median),
            "val_loss": round(val, 4),
        }
    return out


def bench_attention(reps: int, seed: int) -> dict:
    """Forward plus backward of attention alone, at the reference shape (B, nh, T, hs) = (12, 4, 64, 32)."""
    torch.manual_seed(seed)
    q, k, v = (torch.randn(12, 4, 64, 32, requires_grad=True) for _ in range(3))
    paths = {
        "written-out": lambda: scaled_dot_product_attention(q, k, v, causal=True)[0],
        "F.scaled_dot_product_attention": lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True),
    }
    times: dict[str, list[float]] = {name: [] for name in paths}
    names = list(paths)
    for rep in range(reps):
        for i in range(len(names)):
            name = names[(rep + i) % len(names)]
            start = time.perf_counter()
            paths[name]().sum().backward()
            times[name].append(time.perf_counter() - start)
            q.grad = k.grad = v.grad = None
    return {name: {"median_ms": round(statistics.median(t[10:]) * 1000, 3)} for name, t in times.items()}


def table(training: dict, attention: dict) -> str:
    ref = training["torch-layers"]["tokens_per_s"]
    fast = training["guide-fast"]["tokens_per_s"]
    lines = [
        f"{'model':<16} {'params':>9} {'ms/step':>8} {'tokens/s':>9} {'vs torch-layers':>16} {'vs guide-fast':>14} {'val loss':>9}",
    ]
    for name, r in training.items():
        lines.append(
            f"{name:<16} {r['params']:>9,} {r['median_step_ms']:>8.1f} {r['tokens_per_s']:>9,} "
            f"{r['tokens_per_s'] / ref:>16.2f} {r['tokens_per_s'] / fast:>14.2f} {r['val_loss']:>9.4f}"
        )
    lines.append("")
    base = attention["F.scaled_dot_product_attention"]["median_ms"]
    lines.append(f"{'attention forward+backward':<32} {'ms':>7} {'vs fused':>9}")
    for name, r in attention.items():
        lines.append(f"{name:<32} {r['median_ms']:>7.3f} {r['median_ms'] / base:>9.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000, help="training steps per model (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=20, help="steps left out of the timing (default: %(default)s)")
    parser.add_argument(
        "--attention-reps", type=int, default=300, help="attention-only repetitions (default: %(default)s)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=2,
        help="torch threads (default: %(default)s, one per core "
        "of the project's machines; on a shared machine use 1, since threads that wait for a busy "
        "core make every timing meaningless)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_training.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    print(f"training {len(MODELS)} models for {args.steps} steps each, interleaved ...", file=sys.stderr, flush=True)
    training = bench_training(args.steps, args.warmup, args.seed)
    attention = bench_attention(args.attention_reps, args.seed)
    print(table(training, attention))

    result = {
        "command": " ".join(["python benchmarks/bench_training.py", *(argv if argv is not None else sys.argv[1:])]),
        "shape": {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "batch_size": 12, "dtype": "float32"},
        "steps": args.steps,
        "warmup": args.warmup,
        "machine": {
            "cpu": cpu_name(),
            "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "training": training,
        "attention": attention,
        "ratios": {
            "guide-fast / torch-layers (tokens/s)": round(
                training["guide-fast"]["tokens_per_s"] / training["torch-layers"]["tokens_per_s"], 3
            ),
            "guide-teaching / guide-fast (tokens/s)": round(
                training["guide-teaching"]["tokens_per_s"] / training["guide-fast"]["tokens_per_s"], 3
            ),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
