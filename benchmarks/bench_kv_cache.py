"""Generation speed with and without the key-value cache (chapter 12).

    python benchmarks/bench_kv_cache.py                 # the full run (about two minutes on 2 cores)
    python benchmarks/bench_kv_cache.py --repeats 1     # a quick look

Four models of one shape (6 layers, 6 query heads, 384 wide, a 512-token context,
the 103 characters of Python's help text, random weights, float32) each generate
256 tokens greedily after a 16-character prompt, with ``llm_guide.generate.generate``,
once with ``kv_cache=False`` and once with ``kv_cache=True``:

* ``gpt-teaching``, ``gpt-fast``: ``llm_guide.GPT`` on the chapters' code and with
  ``fast=True``;
* ``llama-teaching``, ``llama-fast``: ``llm_guide.llama.Llama`` of the same width and
  depth, with 2 key/value heads (grouped-query attention) and SwiGLU's 8/3 width.

Both runs of a model must give the same tokens (the script stops otherwise). Reported:
the median wall-clock time over the repeats, tokens per second and the speed-up, and
the time per token at a few points of the sequence (from one extra run that times
every step), which shows why: without the cache a step costs more the longer the
text, with it nearly the same. Every repeat runs the models in a rotating order, so
load from elsewhere on the machine slows all of them alike. Results go to
``benchmarks/results/bench_kv_cache.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
from machine import cpu_name  # noqa: E402  (benchmarks/ is on sys.path when a script runs)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llm_guide import corpora  # noqa: E402
from llm_guide.generate import generate  # noqa: E402
from llm_guide.llama import Llama, LlamaConfig  # noqa: E402
from llm_guide.model import GPT, GPTConfig  # noqa: E402
from llm_guide.tokenizers import CharTokenizer  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SHAPE = {"n_layer": 6, "n_head": 6, "n_embd": 384, "block_size": 512}
PROMPT, NEW_TOKENS, KV_HEADS = 'The "assert" sta', 256, 2
MODELS = ("gpt-teaching", "gpt-fast", "llama-teaching", "llama-fast")


def make_model(name: str, vocab_size: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    fast = name.endswith("fast")
    if name.startswith("gpt"):
        return GPT(GPTConfig(vocab_size=vocab_size, **SHAPE, fast=fast)).eval()
    return Llama(LlamaConfig(vocab_size=vocab_size, **SHAPE, n_kv_head=KV_HEADS, fast=fast)).eval()


def run(model: nn.Module, prompt: torch.Tensor, kv_cache: bool) -> tuple[float, torch.Tensor]:
    start = time.perf_counter()
    out = generate(model, prompt, NEW_TOKENS, greedy=True, kv_cache=kv_cache)
    return time.perf_counter() - start, out


def per_step_times(model: nn.Module, prompt: torch.Tensor, kv_cache: bool) -> list[float]:
    """Seconds of each model call inside one ``generate`` run: one call per generated token."""
    times: list[float] = []
    started: list[float] = []
    before = model.register_forward_pre_hook(lambda *_: started.append(time.perf_counter()))
    after = model.register_forward_hook(lambda *_: times.append(time.perf_counter() - started[-1]))
    try:
        run(model, prompt, kv_cache)
    finally:
        before.remove()
        after.remove()
    return times


def bench(repeats: int, seed: int) -> dict:
    tokenizer = CharTokenizer.from_text(corpora.python_docs())
    prompt = torch.tensor([tokenizer.encode(PROMPT)])
    models = {name: make_model(name, tokenizer.vocab_size, seed) for name in MODELS}
    times: dict[str, dict[bool, list[float]]] = {name: {False: [], True: []} for name in MODELS}
    for name, model in models.items():  # warm-up, and the tokens must agree
        _, plain = run(model, prompt, False)
        _, cached = run(model, prompt, True)
        if not torch.equal(plain, cached):
            raise SystemExit(f"{name}: the cache changed the generated tokens")
    for r in range(repeats):
        order = MODELS[r % len(MODELS) :] + MODELS[: r % len(MODELS)]
        for name in order:
            for kv_cache in (False, True) if r % 2 == 0 else (True, False):
                times[name][kv_cache].append(run(models[name], prompt, kv_cache)[0])
        print(f"repeat {r + 1}/{repeats} done", file=sys.stderr, flush=True)
    result = {}
    for name, model in models.items():
        plain, cached = statistics.median(times[name][False]), statistics.median(times[name][True])
        steps = {kv: per_step_times(model, prompt, kv) for kv in (False, True)}
        result[name] = {
            "params": sum(p.numel() for p in model.parameters()),
            "seconds_without_cache": round(plain, 3),
            "seconds_with_cache": round(cached, 3),
            "tokens_per_s_without_cache": round(NEW_TOKENS / plain, 1),
            "tokens_per_s_with_cache": round(NEW_TOKENS / cached, 1),
            "speedup": round(plain / cached, 2),
            "ms_per_token": {  # at the 1st, 64th, 128th and 256th generated token
                str(t): {
                    "without_cache": round(1e3 * steps[False][t - 1], 2),
                    "with_cache": round(1e3 * steps[True][t - 1], 2),
                }
                for t in (1, 64, 128, 256)
            },
        }
    return result


def table(result: dict) -> str:
    lines = [f"{'model':<15} {'params':>11} {'no cache s':>11} {'cache s':>8} {'tokens/s':>17} {'speed-up':>9}"]
    for name, r in result.items():
        rates = f"{r['tokens_per_s_without_cache']:.0f} -> {r['tokens_per_s_with_cache']:.0f}"
        lines.append(
            f"{name:<15} {r['params']:>11,} {r['seconds_without_cache']:>11.2f} {r['seconds_with_cache']:>8.2f}"
            f" {rates:>17} {r['speedup']:>8.1f}x"
        )
    lines += ["", f"ms per token at generated token {'1':>6} {'64':>6} {'128':>6} {'256':>6}"]
    for name, r in result.items():
        for kv, label in (("without_cache", "no cache"), ("with_cache", "cache")):
            cells = " ".join(f"{r['ms_per_token'][t][kv]:>6.1f}" for t in ("1", "64", "128", "256"))
            lines.append(f"{name + ', ' + label:<32} {cells}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs per model and setting (default: %(default)s)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=2,
        help="torch threads (default: %(default)s, one per core of the project's machines; on a shared machine use 1)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_kv_cache.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    print(
        f"{len(MODELS)} models, {NEW_TOKENS} tokens each, with and without the cache ...", file=sys.stderr, flush=True
    )
    result = bench(args.repeats, args.seed)
    print(table(result))
    out = {
        "command": " ".join(["python benchmarks/bench_kv_cache.py", *(argv if argv is not None else sys.argv[1:])]),
        "shape": SHAPE
        | {
            "n_kv_head (llama)": KV_HEADS,
            "prompt_tokens": len(PROMPT),
            "new_tokens": NEW_TOKENS,
            "dtype": "float32",
            "decoding": "greedy",
        },
        "repeats": args.repeats,
        "machine": {
            "cpu": cpu_name(),
            "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "models": result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
