"""The checks: each TODO's battery of tests, and the common mistakes they recognise.

A check runs the reader's function or class on small seeded inputs and compares it with
the package's own implementation (``llm_guide.attention.causal_mask`` ...) and, where
PyTorch has one, with PyTorch's layer (``nn.LayerNorm``, ``F.scaled_dot_product_attention``,
``torch.optim.AdamW``), plus properties such as causality. When the result is wrong, the
check computes what the usual mistakes would have produced (no 1/sqrt(d), softmax over
the other axis, the unbiased variance, ...) and names the one that matches: its
*diagnosis*. ``DIAGNOSES`` lists them all; ``DIAGNOSED[todo]`` those of one TODO.

Every check runs under a time limit (``deadline``): on Linux and macOS a SIGALRM
timer interrupts a reader's endless loop wherever Python code runs; elsewhere (Windows,
or a check started outside the main thread) a watchdog thread raises the same
exception into the checking thread, which stops a Python loop too but cannot stop a
single long call into C (such as one huge matrix product) until it returns.
"""

from __future__ import annotations

import ctypes
import inspect
import math
import signal
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from llm_guide.workbook.todos import TODOS, Todo, find_todo

__all__ = ["Result", "Wrong", "CheckTimeout", "DIAGNOSES", "DIAGNOSED", "check", "deadline"]

#: Every mistake a check can name, with what it means.
DIAGNOSES: dict[str, str] = {
    "whitespace-split": "words split on spaces only, so punctuation stays stuck to them",
    "special-split": "a special token such as <END> broken into pieces",
    "not-sorted": "ids in order of first appearance instead of sorted order",
    "specials-not-first": "special tokens not at the start of the vocabulary",
    "duplicate-ids": "a symbol that occurs twice gets two ids",
    "unknown-symbol-accepted": "encoding a symbol the vocabulary never saw does not raise",
    "wraps-around": "the pair (last, first) counted as if the sequence were a ring",
    "skips-overlaps": "pairs counted two ids at a time, missing the overlapping ones",
    "first-only": "only the first occurrence of the pair merged",
    "overlapping-merge": "an id merged twice, with the id before and the id after it",
    "last-dropped": "the last id lost when it is not part of a pair",
    "window-count": "one window too few (or too many) for the length of the text",
    "window-length": "windows of block_size ids instead of block_size + 1",
    "window-step": "windows that do not start one id apart",
    "targets-not-shifted": "targets equal to the inputs instead of shifted left by one",
    "shifted-wrong-way": "targets shifted right (or x and y swapped): y[t] is the token before x[t]",
    "last-window-never-drawn": "the last possible batch start is never drawn (randint's bound is exclusive)",
    "generator-ignored": "the random numbers do not come from the generator passed in",
    "changes-input": "the function modifies its input tensor in place",
    "gelu-is-silu": "x * sigmoid(x) (SiLU) instead of x * Phi(x)",
    "gelu-missing-sqrt2": "erf(x) instead of erf(x / sqrt(2)) in the normal CDF",
    "approximate-ignored": "approximate='none' and 'tanh' give the same formula",
    "sin-cos-swapped": "cosines in the even columns and sines in the odd ones",
    "halves-not-interleaved": "all sines, then all cosines, instead of alternating columns",
    "frequency-exponent": "frequencies base^(-i/C) (or -4i/C) instead of base^(-2i/C)",
    "positions-missing": "no position vectors added to the token embeddings",
    "position-by-token": "position vectors looked up by token id instead of by position",
    "positions-not-cropped": "all block_size position vectors added to a shorter sequence",
    "parameter-names": "parameters not named (or shaped) as GPT-2 names them",
    "softmax-axis": "softmax normalised along the wrong axis",
    "softmax-overflow": "no maximum subtracted, so exp overflows for large scores",
    "sum-without-keepdim": "the sum lost its axis (keepdim=True missing) and broadcast the wrong way",
    "mask-not-bool": "a causal mask of 0s and 1s instead of True and False",
    "future-visible": "the causal mask lets a position see later positions",
    "diagonal-hidden": "the causal mask hides each position from itself",
    "past-hidden": "the causal mask hides earlier positions too",
    "missing-scale": "scores not divided by sqrt(d)",
    "scale-by-d": "scores divided by d instead of sqrt(d)",
    "mask-after-softmax": "future weights zeroed after softmax, so rows no longer sum to 1",
    "mask-with-zero": "future scores set to 0 instead of -inf before softmax",
    "heads-not-transposed": "(B, T, C) viewed as (B, nh, T, hs) without a transpose",
    "heads-merged-wrong": "heads merged back without undoing the transpose",
    "missing-projection": "the heads' output not mixed by c_proj",
    "unbiased-variance": "LayerNorm with the unbiased variance (divided by C - 1)",
    "eps-outside-sqrt": "eps added to the standard deviation instead of the variance",
    "normalised-wrong-axis": "statistics over the batch or every axis instead of the features",
    "no-affine": "LayerNorm's weight and bias not applied",
    "no-activation": "no non-linearity between the feed-forward's two layers",
    "exact-gelu": "the exact GELU where GPT-2 uses the tanh approximation",
    "residual-replaces": "a residual that replaces x instead of adding to it",
    "post-norm": "post-norm (normalise after adding) instead of GPT-2's pre-norm",
    "norm-on-stream": "the residual stream itself normalised, instead of a copy",
    "missing-mlp": "the feed-forward sub-layer not applied",
    "untied-weights": "an output head with a weight matrix of its own, not the token embedding",
    "missing-final-norm": "no final LayerNorm (ln_f) before the output head",
    "loss-on-probabilities": "cross-entropy of probabilities instead of logits (softmax twice)",
    "targets-shifted-twice": "the loss shifts targets that come shifted already",
    "temperature-multiplied": "logits multiplied by the temperature instead of divided",
    "top-k-off-by-one": "top-k keeps k + 1 or k - 1 tokens",
    "top-k-ignored": "top_k has no effect",
    "context-not-cropped": "the context not cropped to the last block_size tokens",
    "prompt-dropped": "generate returns only the new tokens, without the prompt",
    "last-position-ignored": "the next token picked from the first position's logits, not the last's",
    "lora-b-not-zero": "LoRA's B does not start at zero, so the layer changes before training",
    "lora-a-zero": "LoRA's A starts at zero too, so nothing can ever be learned",
    "base-not-frozen": "the LoRA base layer still trainable",
    "lora-scale": "the LoRA correction not scaled by alpha / rank",
    "lora-shapes": "lora_A and lora_B of the wrong shapes",
    "counts-tied-twice": "a tied weight counted twice (summing the state dict)",
    "counts-frozen": "frozen parameters counted as trainable",
    "gradient-ascent": "the step adds the gradient instead of subtracting it",
    "momentum-ignored": "the velocity is not used (plain gradient descent)",
    "velocity-damped": "velocity averaged, momentum * v + (1 - momentum) * grad, unlike torch's SGD",
    "not-in-place": "the tensors passed in are not updated in place",
    "no-bias-correction": "Adam's m and v not divided by 1 - beta^t",
    "l2-not-decoupled": "weight decay added to the gradient (Adam + L2) instead of decoupled",
    "eps-inside-sqrt": "eps added inside the square root",
    "warmup-from-zero": "warm-up starting at learning rate 0, so the first step does nothing",
    "no-warmup": "no warm-up: the first step already at the full learning rate",
    "no-min-lr": "cosine decaying to 0 instead of min_lr",
    "cosine-off-by-one": "cosine reaching min_lr one step late (or early)",
    "no-zero-grad": "gradients not cleared, so they add up from step to step",
    "lr-not-set": "the learning rate passed in never reaches the optimizer",
    "no-clipping": "the gradient not clipped",
    "clip-after-step": "the gradient clipped after the optimizer already stepped",
    "returns-clipped-norm": "the norm returned after clipping instead of before",
    "off-by-one": "induction targets at the earlier occurrence itself, not the token after it",
    "wrong-diagonal": "attention on the token itself or the next one, not the previous",
    "all-queries-counted": "the mean taken over every query, not only those with a target",
    "not-your-gpt": "the model is not the reader's own GPT class",
    "loss-not-falling": "the training loss does not fall",
    "samples-wrong": "samples that do not start with the start word or don't follow the rhyme",
    "timeout": "the check did not finish within the time limit (an endless loop?)",
}

#: The diagnoses each TODO's check can give, by TODO name.
DIAGNOSED: dict[str, tuple[str, ...]] = {}
_CHECKS: dict[str, Callable[..., None]] = {}
_WANTS_PARTS: set[str] = set()  # checks that are told the reader's earlier parts


class Wrong(Exception):
    """A check found the reader's code wrong; ``diagnosis`` names the mistake when it is a known one."""

    def __init__(self, message: str, diagnosis: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.diagnosis = diagnosis


class CheckTimeout(BaseException):
    """Raised into a check that ran out of time. A BaseException, so ``except Exception`` in
    the reader's code cannot swallow it."""


@dataclass(frozen=True)
class Result:
    """What one TODO's check found."""

    todo: Todo
    status: str  # "done", "not yet", "wrong" or "can't import"
    message: str = ""
    diagnosis: str | None = None  # a key of DIAGNOSES when the mistake is a known one
    seconds: float = 0.0

    @property
    def done(self) -> bool:
        return self.status == "done"

    def __str__(self) -> str:
        return f"{self.todo.name}: {self.status}" + (f": {self.message}" if self.message else "")


def _grades(name: str, *diagnoses: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(fn: Callable[..., None]) -> Callable[..., None]:
        unknown = [d for d in diagnoses if d not in DIAGNOSES]
        assert not unknown, f"undeclared diagnoses {unknown}"
        _CHECKS[name] = fn
        DIAGNOSED[name] = diagnoses
        if "parts" in inspect.signature(fn).parameters:
            _WANTS_PARTS.add(name)
        return fn

    return register


# ----------------------------------------------------------------------------------
# Running one check
# ----------------------------------------------------------------------------------
@contextmanager
def deadline(seconds: float | None, use_signal: bool | None = None) -> Iterator[None]:
    """Raise ``CheckTimeout`` in the block if it runs longer than ``seconds`` (None: no limit).

    ``use_signal=None`` picks SIGALRM where it exists and this is the main thread, and
    the watchdog thread otherwise (see the module docstring).
    """
    if not seconds:
        yield
        return
    if use_signal is None:
        use_signal = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if use_signal:

        def on_alarm(signum: int, frame: Any) -> None:
            raise CheckTimeout(seconds)

        previous = signal.signal(signal.SIGALRM, on_alarm)
        old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
        start = time.monotonic()
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if old_delay:  # someone else's timer was running: give it back what is left of it
                left = max(old_delay - (time.monotonic() - start), 1e-3)
                signal.setitimer(signal.ITIMER_REAL, left, old_interval)
        return
    target = threading.get_ident()
    stop = threading.Event()
    fired: list[bool] = []

    def watchdog() -> None:
        if not stop.wait(seconds):
            fired.append(True)
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), ctypes.py_object(CheckTimeout))

    thread = threading.Thread(target=watchdog, name="workbook-time-limit", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        if fired:  # fired just as the block finished: take back the exception not yet delivered
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), None)


_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_TORCH_DIR = Path(torch.__file__).resolve().parent
_STDLIB_DIR = Path(threading.__file__).resolve().parent


def _where(error: BaseException) -> str:
    """Where in the reader's code ``error`` came from: "06_attention.py, line 40"."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        path = Path(frame.filename)
        try:
            resolved = path.resolve()
        except OSError:
            resolved = path
        if any(parent in (_PACKAGE_DIR, _TORCH_DIR, _STDLIB_DIR) for parent in resolved.parents):
            continue
        return f" ({path.name}, line {frame.lineno})"
    return ""


def _waits_for(todo: Todo, error: NotImplementedError) -> str:
    """For "not yet": which TODO still raises, when it is not this one."""
    text = str(error)
    if text.startswith("TODO "):
        number = text[5:].split(":")[0].strip()
        if number.isdigit() and int(number) != todo.number:
            other = find_todo(int(number))
            return f"it calls {other.name} (TODO {other.number}), which is not written yet"
    return ""


def check(
    todo: str | int | Todo,
    obj: Any,
    *,
    time_limit: float | None = None,
    parts: Mapping[str, Any] | None = None,
) -> Result:
    """Check one TODO: ``check("causal_mask", my_causal_mask)``. Returns a ``Result``; prints nothing.

    ``obj`` is the reader's function or class. ``time_limit`` (seconds) overrides the
    TODO's own. ``parts`` are the reader's earlier parts this TODO should build on, by
    name (the workbook's ``check`` command passes them; the last TODO uses ``parts["GPT"]``
    to make sure the model trained is the reader's own). The global random state is
    left as it was, so a notebook's own seeded cells are not disturbed.
    """
    from llm_guide.capstone import torch_threads

    todo = todo if isinstance(todo, Todo) else find_todo(todo)
    limit = todo.time_limit if time_limit is None else time_limit
    start = time.perf_counter()

    def result(status: str, message: str = "", diagnosis: str | None = None) -> Result:
        return Result(todo, status, message, diagnosis, time.perf_counter() - start)

    try:
        with deadline(limit), torch.random.fork_rng(devices=[]), torch_threads(1):
            if todo.name in _WANTS_PARTS:
                _CHECKS[todo.name](obj, parts=dict(parts or {}))
            else:
                _CHECKS[todo.name](obj)
    except NotImplementedError as error:
        return result("not yet", _waits_for(todo, error))
    except Wrong as error:
        assert error.diagnosis is None or error.diagnosis in DIAGNOSED[todo.name], error.diagnosis
        return result("wrong", error.message, error.diagnosis)
    except CheckTimeout:
        return result(
            "wrong",
            f"still running after {limit:g} s, so the check was stopped: is there a loop that never ends?",
            "timeout",
        )
    except RecursionError as error:
        return result("wrong", f"raised RecursionError: a function that calls itself forever{_where(error)}")
    except Exception as error:  # the reader's code raised: say what and where, no traceback
        return result("wrong", f"raised {type(error).__name__}: {_one_line(error)}{_where(error)}")
    return result("done")


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:297] + "..."


# ----------------------------------------------------------------------------------
# Helpers for the checks
# ----------------------------------------------------------------------------------
def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _kind(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"{type(value).__name__} {value!r:.60}"


def _tensor(value: Any, what: str, shape: tuple[int, ...] | None = None) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise Wrong(f"{what} should be a torch.Tensor, got {_kind(value)}")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise Wrong(f"{what} has shape {tuple(value.shape)}, expected {tuple(shape)}")
    return value


def _pair(value: Any, what: str) -> tuple[Any, Any]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise Wrong(f"{what} should return a pair (a tuple of two), got {_kind(value)}")
    return value[0], value[1]


def _close(a: Any, b: torch.Tensor, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    return (
        isinstance(a, torch.Tensor)
        and a.shape == b.shape
        and torch.allclose(a.detach().double(), b.detach().double(), atol=atol, rtol=rtol)
    )


def _diff(what: str, got: torch.Tensor, want: torch.Tensor) -> Wrong:
    """``what`` differs from the package's result: say where, and by how much."""
    gap = (got.detach().double() - want.detach().double()).abs()
    gap = torch.nan_to_num(gap, nan=math.inf)
    index = tuple(int(i) for i in torch.unravel_index(gap.argmax(), gap.shape)) if gap.numel() else ()
    at = f"[{', '.join(map(str, index))}]" if index else ""
    return Wrong(
        f"{what} differs from the package's: at {at or 'the value'} it is {got[index].item():.4g}, "
        f"expected {want[index].item():.4g}"
    )


def _recognise(
    got: torch.Tensor,
    variants: list[tuple[str, Callable[[], torch.Tensor], str]],
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> None:
    """Raise the diagnosis of the first known mistake whose result ``got`` equals."""
    for diagnosis, make, message in variants:
        try:
            expected = make()
        except Exception:  # a mistake that could not even run on this input is not this one
            continue
        if _close(got, expected, atol, rtol):
            raise Wrong(message, diagnosis)


def _load(mine: nn.Module, reference: nn.Module, what: str) -> None:
    """Give the reader's module the reference's weights, by GPT-2's names."""
    if not isinstance(mine, nn.Module):
        raise Wrong(f"{what} should be an nn.Module (class ... (nn.Module)), got {_kind(mine)}")
    ours, theirs = mine.state_dict(), reference.state_dict()
    missing, extra = sorted(set(theirs) - set(ours)), sorted(set(ours) - set(theirs))
    if missing or extra:
        raise Wrong(
            f"{what}'s parameters are {sorted(ours)[:8]}; the check compares weights by GPT-2's names, "
            f"{sorted(theirs)[:8]}: missing {missing[:4]}, unexpected {extra[:4]}",
            "parameter-names",
        )
    for name, tensor in theirs.items():
        if ours[name].shape != tensor.shape:
            raise Wrong(
                f"{what}.{name} has shape {tuple(ours[name].shape)}, expected {tuple(tensor.shape)}",
                "parameter-names",
            )
    with torch.no_grad():
        for name, tensor in theirs.items():
            ours[name].copy_(tensor)  # state_dict() tensors share storage with the parameters


def _shuffle_norms(module: nn.Module, seed: int) -> None:
    """LayerNorm weights 1 and biases 0 hide mistakes (a missing norm looks like an identity): randomise them."""
    from llm_guide.block import LayerNorm

    g = _gen(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, LayerNorm):
                m.weight.copy_(1 + 0.5 * torch.randn(m.weight.shape, generator=g))
                if m.bias is not None:
                    m.bias.copy_(0.5 * torch.randn(m.bias.shape, generator=g))


# ----------------------------------------------------------------------------------
# Chapter 1: vocabulary
# ----------------------------------------------------------------------------------
@_grades("split_words", "whitespace-split", "special-split")
def _check_split_words(split_words: Callable[[str], list[str]]) -> None:
    from llm_guide.vocab import split_words as reference

    for text in ("mary had a little lamb.", "Hello, world! it's 42 <END> the end.", "  tabs\tand\nnewlines ", ""):
        got, want = split_words(text), reference(text)
        if not isinstance(got, list):
            raise Wrong(f"split_words({text!r}) should return a list of strings, got {_kind(got)}")
        if got == want:
            continue
        if got == text.split():
            raise Wrong(
                f"split_words({text!r}) gave {got}: splitting on spaces leaves punctuation stuck to the "
                "words; every punctuation mark is a symbol of its own",
                "whitespace-split",
            )
        if "<END>" in text and "<END>" not in got and "END" in got:
            raise Wrong(f"split_words({text!r}) breaks <END> into pieces ({got}); keep <...> whole", "special-split")
        raise Wrong(f"split_words({text!r}) gave {got}, expected {want}")


@_grades("Vocabulary", "not-sorted", "specials-not-first", "duplicate-ids", "unknown-symbol-accepted")
def _check_vocabulary(Vocabulary: type) -> None:
    from llm_guide.vocab import Vocabulary as Reference

    text = "hello world"
    v, ref = Vocabulary(text, specials=["<END>"]), Reference(text, specials=["<END>"])
    if not hasattr(v, "itos") or not hasattr(v, "stoi"):
        raise Wrong("a Vocabulary needs the attributes itos (a list) and stoi (a dict)")
    itos = list(v.itos)
    if itos != ref.itos:
        if len(itos) > len(ref.itos):
            raise Wrong(
                f"itos has {len(itos)} entries for {len(ref.itos)} distinct symbols of {text!r}: a symbol "
                "that occurs twice got a second id; use set(symbols)",
                "duplicate-ids",
            )
        if sorted(itos) == sorted(ref.itos):
            if itos[0] != "<END>":
                raise Wrong(
                    f"itos is {itos}: the special tokens come first, so they keep the same small ids "
                    "whatever the corpus",
                    "specials-not-first",
                )
            if itos[1:] == list(dict.fromkeys(text)):
                raise Wrong(
                    f"itos is {itos}: the ids follow the order the symbols first appear in; sort the "
                    "learned symbols, so the same set of symbols always gets the same ids",
                    "not-sorted",
                )
        raise Wrong(f"Vocabulary({text!r}, specials=['<END>']).itos is {itos}, expected {ref.itos}")
    if dict(v.stoi) != ref.stoi:
        raise Wrong(f"stoi is {dict(v.stoi)}: it should invert itos, {ref.stoi}")
    if len(v) != len(ref):
        raise Wrong(f"len(vocab) is {len(v)}, expected {len(ref)}")
    for symbols in ("hold", ["<END>", "w", "o"]):
        got = v.encode(symbols)
        if list(got) != ref.encode(symbols):
            raise Wrong(f"encode({symbols!r}) gave {got}, expected {ref.encode(symbols)}")
        back = v.decode(got)
        if not isinstance(back, list) or back != list(symbols):
            raise Wrong(f"decode({list(got)}) gave {back!r}, expected the list {list(symbols)}")
    try:
        got = v.encode("hz")
    except (ValueError, KeyError, LookupError):
        pass
    else:
        raise Wrong(
            f"encode('hz') gave {got}, but 'z' is not in the vocabulary: raise an error (ValueError) "
            "rather than silently dropping or inventing an id",
            "unknown-symbol-accepted",
        )
    try:
        got = v.decode([len(ref)])
    except (ValueError, KeyError, LookupError):
        pass
    else:
        raise Wrong(f"decode([{len(ref)}]) gave {got!r}; ids go from 0 to {len(ref) - 1}: raise an error")
    plain = Vocabulary("abca")
    if list(plain.itos) != ["a", "b", "c"]:
        raise Wrong(f"Vocabulary('abca').itos is {list(plain.itos)}, expected ['a', 'b', 'c']")


# ----------------------------------------------------------------------------------
# Chapter 2: tokenization
# ----------------------------------------------------------------------------------
@_grades("get_pair_counts", "wraps-around", "skips-overlaps")
def _check_get_pair_counts(get_pair_counts: Callable[..., dict]) -> None:
    from llm_guide.tokenizers import get_pair_counts as reference

    for ids in ([1, 2, 3, 1, 2], [7, 7, 7], [5], [], [4, 2, 4, 2, 4]):
        got, want = get_pair_counts(list(ids)), reference(list(ids))
        if not isinstance(got, dict):
            raise Wrong(f"get_pair_counts({ids}) should return a dict, got {_kind(got)}")
        got = {pair: count for pair, count in got.items() if count}
        if got == want:
            continue
        if len(ids) > 1:
            ring = dict(want)
            ring[(ids[-1], ids[0])] = ring.get((ids[-1], ids[0]), 0) + 1
            if got == ring:
                raise Wrong(
                    f"get_pair_counts({ids}) gave {got}: it counts ({ids[-1]}, {ids[0]}) as if the sequence "
                    "went round in a ring; the last id has no right neighbour",
                    "wraps-around",
                )
        if got == dict(Counter(zip(ids[::2], ids[1::2]))):
            raise Wrong(
                f"get_pair_counts({ids}) gave {got}: it takes the ids two at a time and misses the "
                f"overlapping pairs; expected {want}",
                "skips-overlaps",
            )
        raise Wrong(f"get_pair_counts({ids}) gave {got}, expected {want}")


def _merge_variant(ids: list[int], pair: tuple[int, int], new_id: int, mistake: str) -> list[int]:
    """merge with one of the usual mistakes."""
    out: list[int] = []
    i = 0
    while i < len(ids) - (1 if mistake == "last-dropped" else 0):
        if ids[i] == pair[0] and i + 1 < len(ids) and ids[i + 1] == pair[1]:
            out.append(new_id)
            if mistake == "first-only":
                return out + list(ids[i + 2 :])
            i += 1 if mistake == "overlapping-merge" else 2
        else:
            out.append(ids[i])
            i += 1
    return out


@_grades("merge", "first-only", "overlapping-merge", "last-dropped")
def _check_merge(merge: Callable[..., list[int]]) -> None:
    from llm_guide.tokenizers import merge as reference

    messages = {
        "first-only": "only the first occurrence of the pair is merged; merge every one",
        "overlapping-merge": "after a merge, move on two places: an id merged with its left neighbour "
        "cannot be merged again with its right one",
        "last-dropped": "the last id is lost: an id that is not part of a pair is kept, the last one too",
    }
    cases = [
        ([1, 2, 3, 1, 2], (1, 2), 4),
        ([7, 7, 7], (7, 7), 9),
        ([1, 2, 3], (1, 2), 9),
        ([3, 1], (1, 2), 9),
        ([], (1, 2), 9),
        ([2, 1, 2, 1], (1, 2), 5),
    ]
    for ids, pair, new_id in cases:
        got, want = merge(list(ids), pair, new_id), reference(ids, pair, new_id)
        call = f"merge({ids}, {pair}, {new_id})"
        if not isinstance(got, list):
            raise Wrong(f"{call} should return a list, got {_kind(got)}")
        if got == want:
            continue
        for mistake, message in messages.items():
            if got == _merge_variant(ids, pair, new_id, mistake):
                raise Wrong(f"{call} gave {got}, expected {want}: {message}", mistake)
        raise Wrong(f"{call} gave {got}, expected {want}")


# ----------------------------------------------------------------------------------
# Chapter 3: tensors
# ----------------------------------------------------------------------------------
@_grades("windows", "window-count", "window-length", "window-step")
def _check_windows(windows: Callable[..., torch.Tensor]) -> None:
    from llm_guide.data import windows as reference

    ids = list(range(10, 20))
    for given in (torch.tensor(ids), ids):
        try:
            got = windows(given, 3)
        except RuntimeError as error:
            if "stack expects each tensor to be equal size" in str(error):
                raise Wrong(
                    "the last window runs past the end of the ids: there are len(ids) - block_size "
                    "windows, the last one ids[-(block_size + 1):]",
                    "window-count",
                ) from None
            raise
        want = reference(ids, 3)  # (7, 4)
        got = _tensor(got, f"windows(<10 ids>, 3) of a {type(given).__name__}")
        if got.shape == want.shape and torch.equal(got.long(), want):
            continue
        if got.dim() == 2 and got.shape[1] == 3:
            raise Wrong(
                f"windows(<10 ids>, 3) has rows of {got.shape[1]} ids: a window needs block_size + 1 "
                "= 4, the block and the token that follows it",
                "window-length",
            )
        if got.dim() == 2 and got.shape[1] == 4 and got.shape[0] != want.shape[0]:
            if got.shape[0] > 1 and got[1, 0] - got[0, 0] != 1:
                raise Wrong(
                    f"windows(<10 ids>, 3) has rows starting {got[:, 0].tolist()}: consecutive "
                    "windows start one id apart",
                    "window-step",
                )
            raise Wrong(
                f"windows(<10 ids>, 3) gives {got.shape[0]} windows; 10 ids make len(ids) - block_size "
                f"= {want.shape[0]} windows of 4",
                "window-count",
            )
        if got.shape == want.shape:
            raise _diff("windows(<10 ids>, 3)", got, want)
        raise Wrong(f"windows(<10 ids>, 3) has shape {tuple(got.shape)}, expected {tuple(want.shape)}")


@_grades("xy_pairs", "targets-not-shifted", "shifted-wrong-way")
def _check_xy_pairs(xy_pairs: Callable[..., tuple]) -> None:
    from llm_guide.data import xy_pairs as reference

    ids = torch.arange(10, 20)
    X, Y = _pair(xy_pairs(ids, 4), "xy_pairs")
    want_x, want_y = reference(ids, 4)
    X = _tensor(X, "X of xy_pairs(<10 ids>, 4)", tuple(want_x.shape))
    Y = _tensor(Y, "Y of xy_pairs(<10 ids>, 4)", tuple(want_y.shape))
    if torch.equal(X, want_x) and torch.equal(Y, want_y):
        return
    if torch.equal(X, Y):
        raise Wrong(
            "the targets are not shifted by one: Y equals X, so the model would learn to copy its "
            "input; Y[i, t] is the token *after* X[i, t]",
            "targets-not-shifted",
        )
    if torch.equal(Y[:, 1:], X[:, :-1]):
        raise Wrong(
            "the targets are shifted the wrong way (or X and Y swapped): Y[i, t] is the token "
            "before X[i, t]; it should be the one after",
            "shifted-wrong-way",
        )
    raise _diff(
        "X" if not torch.equal(X, want_x) else "Y",
        X if not torch.equal(X, want_x) else Y,
        want_x if not torch.equal(X, want_x) else want_y,
    )


@_grades("get_batch", "targets-not-shifted", "shifted-wrong-way", "last-window-never-drawn", "generator-ignored")
def _check_get_batch(get_batch: Callable[..., tuple]) -> None:
    data = torch.arange(100, 130)  # token i is 100 + i, so a row's position in data is easy to read
    x, y = _pair(get_batch(data, 5, 8, _gen(0)), "get_batch")
    x = _tensor(x, "x of get_batch(data, 5, 8)", (8, 5))
    y = _tensor(y, "y of get_batch(data, 5, 8)", (8, 5))
    if not torch.equal(x[:, 1:] - x[:, :-1], torch.ones(8, 4, dtype=x.dtype)) or x.min() < 100 or x.max() > 129:
        raise Wrong(f"each row of x should be block_size consecutive tokens of data, got the row {x[0].tolist()}")
    if torch.equal(y, x):
        raise Wrong(
            "the targets are not shifted by one: y equals x; y[b, t] is the token after x[b, t]", "targets-not-shifted"
        )
    if torch.equal(y, x - 1):
        raise Wrong(
            "the targets are shifted the wrong way: y[b, t] is the token before x[b, t], it should be the one after",
            "shifted-wrong-way",
        )
    if not torch.equal(y, x + 1):
        raise Wrong(
            f"y should be x shifted left by one: for x = {x[0].tolist()}, y = {(x[0] + 1).tolist()}, "
            f"got {y[0].tolist()}"
        )
    again = get_batch(data, 5, 8, _gen(0))[0]
    other = get_batch(data, 5, 8, _gen(1))[0]
    if not torch.equal(again, x) or torch.equal(other, x):
        raise Wrong(
            "two generators seeded alike gave different batches (or different seeds the same): draw "
            "the starts with torch.randint(..., generator=generator)",
            "generator-ignored",
        )
    short = torch.arange(8)  # block_size 5: the starts 0, 1 and 2 are all possible
    g = _gen(2)
    starts: set[int] = set()
    for _ in range(25):
        try:
            rows = get_batch(short, 5, 8, g)[0]
        except RuntimeError as error:
            if "stack expects each tensor to be equal size" in str(error):
                raise Wrong(
                    "a batch start too near the end: its rows came out short; the last start is "
                    "len(data) - block_size - 1"
                ) from None
            raise
        starts.update(rows[:, 0].tolist())
    if starts != {0, 1, 2}:
        missing = sorted({0, 1, 2} - starts)
        raise Wrong(
            f"with 8 tokens and block_size 5 the starts 0, 1 and 2 are all possible, but {missing} never came "
            "up in 200 rows: torch.randint's upper bound is exclusive, so it is len(data) - block_size",
            "last-window-never-drawn" if missing == [2] else None,
        )


# ----------------------------------------------------------------------------------
# Chapter 4: embeddings (activations)
# ----------------------------------------------------------------------------------
@_grades("relu", "changes-input")
def _check_relu(relu: Callable[[torch.Tensor], torch.Tensor]) -> None:
    x = torch.randn(3, 4, generator=_gen(0))
    original = x.clone()
    got = relu(x)
    if not torch.equal(x, original):
        raise Wrong(
            "relu changed the tensor it was given: return a new tensor (torch.where(...) or "
            "x.clamp(min=0)), since the caller may still need x",
            "changes-input",
        )
    got = _tensor(got, "relu(x)", (3, 4))
    if not _close(got, torch.relu(original), atol=0, rtol=0):
        raise _diff("relu(x)", got, torch.relu(original))


@_grades("gelu", "gelu-is-silu", "gelu-missing-sqrt2", "approximate-ignored")
def _check_gelu(gelu: Callable[..., torch.Tensor]) -> None:
    x = torch.linspace(-4, 4, 41)
    got = _tensor(gelu(x), "gelu(x)", (41,))
    exact = F.gelu(x)
    if not _close(got, exact):
        _recognise(
            got,
            [
                (
                    "gelu-is-silu",
                    lambda: x * torch.sigmoid(x),
                    "this is x * sigmoid(x) (SiLU); GELU is x * Phi(x), with Phi(x) = 0.5 * (1 + erf(x / sqrt(2)))",
                ),
                (
                    "gelu-missing-sqrt2",
                    lambda: x * 0.5 * (1 + torch.erf(x)),
                    "the normal CDF is 0.5 * (1 + erf(x / sqrt(2))): the division by sqrt(2) is missing",
                ),
                (
                    "approximate-ignored",
                    lambda: F.gelu(x, approximate="tanh"),
                    "with approximate='none' (the default) this gives the tanh approximation; the default is the "
                    "exact erf form",
                ),
            ],
        )
        raise _diff("gelu(x)", got, exact)
    tanh = _tensor(gelu(x, approximate="tanh"), "gelu(x, approximate='tanh')", (41,))
    if not _close(tanh, F.gelu(x, approximate="tanh")):
        if _close(tanh, exact):
            raise Wrong(
                "gelu(x, approximate='tanh') gives the exact GELU: the tanh formula is "
                "0.5 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))",
                "approximate-ignored",
            )
        raise _diff("gelu(x, approximate='tanh')", tanh, F.gelu(x, approximate="tanh"))


# ----------------------------------------------------------------------------------
# Chapter 5: positional encoding
# ----------------------------------------------------------------------------------
def _sinusoid_variant(T: int, C: int, exponent: torch.Tensor, layout: str) -> torch.Tensor:
    w = 10000.0 ** (-exponent.double())
    angles = torch.arange(T, dtype=torch.float64)[:, None] * w[None, :]
    sin, cos = torch.sin(angles), torch.cos(angles)
    if layout == "halves":
        return torch.cat([sin, cos], dim=1).float()
    pe = torch.empty(T, C, dtype=torch.float64)
    first, second = (cos, sin) if layout == "swapped" else (sin, cos)
    pe[:, 0::2], pe[:, 1::2] = first, second
    return pe.float()


@_grades("sinusoidal_positions", "sin-cos-swapped", "halves-not-interleaved", "frequency-exponent")
def _check_sinusoidal_positions(sinusoidal_positions: Callable[..., torch.Tensor]) -> None:
    from llm_guide.embeddings import sinusoidal_positions as reference

    T, C = 12, 8
    got = _tensor(sinusoidal_positions(T, C), f"sinusoidal_positions({T}, {C})", (T, C))
    want = reference(T, C)
    if not _close(got, want):
        right = torch.arange(0, C, 2) / C
        _recognise(
            got,
            [
                (
                    "sin-cos-swapped",
                    lambda: _sinusoid_variant(T, C, right, "swapped"),
                    "sines and cosines are swapped: the even columns (0, 2, ...) hold the sines",
                ),
                (
                    "halves-not-interleaved",
                    lambda: _sinusoid_variant(T, C, right, "halves"),
                    "all the sines come first and then all the cosines; the columns alternate: "
                    "pe[:, 0::2] = sin, pe[:, 1::2] = cos",
                ),
                (
                    "frequency-exponent",
                    lambda: _sinusoid_variant(T, C, torch.arange(C // 2) / C, "interleaved"),
                    "the frequencies are base^(-i / C); they are base^(-2i / C), i = 0 .. C/2 - 1 "
                    "(torch.arange(0, C, 2) / C)",
                ),
                (
                    "frequency-exponent",
                    lambda: _sinusoid_variant(T, C, 2 * torch.arange(0, C, 2) / C, "interleaved"),
                    "the frequencies are base^(-4i / C): torch.arange(0, C, 2) already counts 2i, don't double it",
                ),
            ],
        )
        raise _diff(f"sinusoidal_positions({T}, {C})", got, want)
    other = _tensor(sinusoidal_positions(T, C, base=100.0), "sinusoidal_positions(12, 8, base=100.0)", (T, C))
    if not _close(other, reference(T, C, base=100.0)):
        raise Wrong("sinusoidal_positions ignores base: the frequencies are base ** (-2i / C)")


@_grades(
    "TokenAndPositionEmbedding", "positions-missing", "position-by-token", "positions-not-cropped", "parameter-names"
)
def _check_token_and_position_embedding(cls: type) -> None:
    from llm_guide.embeddings import TokenAndPositionEmbedding as Reference

    torch.manual_seed(0)
    ref, mine = Reference(11, 8, 6), cls(11, 8, 6)
    _load(mine, ref, "TokenAndPositionEmbedding(11, 8, 6)")
    g = _gen(0)
    for T in (5, 8):
        idx = torch.randint(0, 8, (2, T), generator=g)  # ids below block_size, so wpe(idx) can run
        try:
            got = mine(idx)
        except (RuntimeError, IndexError) as error:
            if T < 8 and "size of tensor" in str(error):
                raise Wrong(
                    "it fails for a sequence shorter than block_size (T = 5 < 8): add only the first T "
                    "position vectors, self.wpe.weight[:T]",
                    "positions-not-cropped",
                ) from None
            raise
        got = _tensor(got, f"the embedding of a (2, {T}) batch", (2, T, 6))
        with torch.no_grad():
            want = ref(idx)
            if _close(got, want):
                continue
            _recognise(
                got,
                [
                    (
                        "positions-missing",
                        lambda: ref.wte(idx),
                        "the output is the token embeddings alone: add each position's vector, wpe.weight[:T]",
                    ),
                    (
                        "position-by-token",
                        lambda: ref.wte(idx) + ref.wpe(idx),
                        "the position vectors are looked up by token id (wpe(idx)); look them up by position, "
                        "0 .. T - 1",
                    ),
                ],
            )
        raise _diff(f"the embedding of a (2, {T}) batch", got, want)


# ----------------------------------------------------------------------------------
# Chapter 6: attention
# ----------------------------------------------------------------------------------
@_grades("softmax", "softmax-axis", "softmax-overflow", "sum-without-keepdim")
def _check_softmax(softmax: Callable[..., torch.Tensor]) -> None:
    square = torch.randn(3, 3, generator=_gen(0)) * 2
    got = _tensor(softmax(square, dim=-1), "softmax(x, dim=-1) of a (3, 3) x", (3, 3))
    if not _close(got, torch.softmax(square, dim=-1)):
        e = torch.exp(square)
        shifted = torch.exp(square - square.amax(dim=-1, keepdim=True))
        message = "each row is divided by another row's sum: the sum lost its axis; use sum(dim=dim, keepdim=True)"
        _recognise(
            got,
            [
                ("sum-without-keepdim", lambda: e / e.sum(dim=-1), message),
                ("sum-without-keepdim", lambda: shifted / shifted.sum(dim=-1), message),
                (
                    "softmax-axis",
                    lambda: torch.softmax(square, dim=0),
                    "softmax(x, dim=-1) normalised the columns (dim 0); it should normalise along dim",
                ),
                (
                    "softmax-axis",
                    lambda: e / e.sum(),
                    "softmax(x, dim=-1) normalised over all the numbers at once; normalise along dim only",
                ),
            ],
        )
        raise _diff("softmax(x, dim=-1)", got, torch.softmax(square, dim=-1))
    x = torch.randn(2, 3, 4, generator=_gen(1)) * 3
    for dim in (-1, 1, 0):
        got = _tensor(softmax(x, dim=dim), f"softmax(x, dim={dim}) of a (2, 3, 4) x", (2, 3, 4))
        want = torch.softmax(x, dim=dim)
        if _close(got, want):
            continue
        _recognise(
            got,
            [
                (
                    "softmax-axis",
                    lambda d=other: torch.softmax(x, dim=d),
                    f"softmax(x, dim={dim}) normalised along dim {other} instead: pass dim on to max and sum",
                )
                for other in (-1, -2, -3)
                if other % 3 != dim % 3
            ],
        )
        raise _diff(f"softmax(x, dim={dim})", got, want)
    big = torch.tensor([1000.0, 1001.0, 1002.0])
    got = _tensor(softmax(big), "softmax([1000, 1001, 1002])", (3,))
    if not torch.isfinite(got).all():
        raise Wrong(
            f"softmax([1000, 1001, 1002]) gave {got.tolist()}: exp(1000) overflows to inf; subtract "
            "the maximum first (it cancels out)",
            "softmax-overflow",
        )
    if not _close(got, torch.softmax(big, dim=-1)):
        raise _diff("softmax([1000, 1001, 1002])", got, torch.softmax(big, dim=-1))
    masked = _tensor(softmax(torch.tensor([0.0, float("-inf"), 1.0])), "softmax([0, -inf, 1])", (3,))
    if not torch.isfinite(masked).all() or masked[1].item() != 0.0:
        raise Wrong(f"softmax([0, -inf, 1]) gave {masked.tolist()}; a score of -inf must get probability 0")


@_grades("causal_mask", "mask-not-bool", "future-visible", "diagonal-hidden", "past-hidden")
def _check_causal_mask(causal_mask: Callable[..., torch.Tensor]) -> None:
    T = 5
    got = _tensor(causal_mask(T), f"causal_mask({T})", (T, T))
    want = torch.tril(torch.ones(T, T, dtype=torch.bool))
    if got.dtype != torch.bool:
        raise Wrong(
            f"causal_mask({T}) has dtype {got.dtype}; make it torch.bool (True = may attend): "
            "masked_fill(~mask, ...) needs True and False",
            "mask-not-bool",
        )
    if not torch.equal(got, want):
        future = torch.triu(got, diagonal=1)
        if future.any():
            i, j = (int(n) for n in future.nonzero()[0])
            if torch.equal(got, ~want):
                how = "it is True exactly where attending is forbidden: True must mean 'may attend'"
            elif torch.equal(got, want.T):
                how = "it is upper triangular, the transpose of the right mask: use torch.tril"
            else:
                how = f"[{i}, {j}] is True"
            raise Wrong(
                f"the mask lets the future in: position {i} may attend to the later position {j} ({how})",
                "future-visible",
            )
        if torch.equal(got, torch.tril(want, diagonal=-1)):
            raise Wrong(
                "the diagonal is False, so a token cannot attend to itself (and position 0 to nothing "
                "at all): j <= i, not j < i",
                "diagonal-hidden",
            )
        if torch.equal(got, torch.eye(T, dtype=torch.bool)):
            raise Wrong(
                "only the diagonal is True: a token may attend to itself *and every earlier token*", "past-hidden"
            )
        raise Wrong(f"causal_mask({T}) is {got.int().tolist()}, expected {want.int().tolist()}")
    on_cpu = _tensor(causal_mask(3, device="cpu"), "causal_mask(3, device='cpu')", (3, 3))
    if on_cpu.device.type != "cpu":
        raise Wrong("causal_mask(T, device=...) should make the mask on that device")


def _attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, scale: float, dim: int = -1, masking: str = "-inf"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention done right (the defaults) or with one of the usual mistakes."""
    T = q.size(-2)
    scores = q @ k.transpose(-2, -1) * scale
    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool))
    if causal and masking == "-inf":
        scores = scores.masked_fill(~allowed, float("-inf"))
    if causal and masking == "zero":
        scores = scores.masked_fill(~allowed, 0.0)
    weights = torch.softmax(scores, dim=dim)
    if causal and masking == "after":
        weights = weights * allowed
    return weights @ v, weights


@_grades(
    "scaled_dot_product_attention",
    "missing-scale",
    "scale-by-d",
    "softmax-axis",
    "future-visible",
    "mask-after-softmax",
    "mask-with-zero",
)
def _check_scaled_dot_product_attention(attention: Callable[..., tuple]) -> None:
    g = _gen(0)
    q, k = (torch.randn(2, 2, 5, 8, generator=g) * 1.5 for _ in range(2))
    v = torch.randn(2, 2, 5, 6, generator=g)  # values of another width than the keys
    d = q.size(-1)
    for causal in (False, True):
        call = f"scaled_dot_product_attention(q, k, v, causal={causal})"
        out, weights = _pair(attention(q, k, v, causal=causal), call)
        out = _tensor(out, f"the output of {call}", (2, 2, 5, 6))
        weights = _tensor(weights, f"the weights of {call}", (2, 2, 5, 5))
        want = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        if _close(out, want):
            continue
        variants = [
            (
                "missing-scale",
                lambda: _attention(q, k, v, causal, 1.0)[0],
                "the scores are not divided by sqrt(d): dot products of d numbers grow like sqrt(d) and push "
                "softmax towards one-hot weights",
            ),
            (
                "scale-by-d",
                lambda: _attention(q, k, v, causal, 1 / d)[0],
                "the scores are divided by d; divide by sqrt(d) (math.sqrt(q.size(-1)))",
            ),
            (
                "softmax-axis",
                lambda: _attention(q, k, v, causal, d**-0.5, dim=-2)[0],
                "softmax runs over the queries (dim -2): each query's weights over the keys, the last axis, "
                "must sum to 1",
            ),
        ]
        if causal:
            variants += [
                (
                    "mask-with-zero",
                    lambda: _attention(q, k, v, True, d**-0.5, masking="zero")[0],
                    "the future scores are set to 0 before softmax, and exp(0) is not 0: set them to float('-inf')",
                ),
                (
                    "mask-after-softmax",
                    lambda: _attention(q, k, v, True, d**-0.5, masking="after")[0],
                    "the future weights are zeroed after softmax, so a row no longer sums to 1: mask the "
                    "scores with -inf before softmax",
                ),
                (
                    "future-visible",
                    lambda: _attention(q, k, v, False, d**-0.5)[0],
                    "causal=True changes nothing: every position still attends to later ones",
                ),
            ]
        _recognise(out, variants)
        if causal and torch.triu(weights.detach(), diagonal=1).abs().max() > 1e-6:
            raise Wrong(
                "with causal=True a position still puts weight on later positions (the weights above "
                "the diagonal are not 0)",
                "future-visible",
            )
        raise _diff(f"the output of {call}", out, want)


def _mha_variant(
    ref: nn.Module,
    x: torch.Tensor,
    *,
    split: bool = True,
    merge: bool = True,
    project: bool = True,
    causal: bool = True,
) -> torch.Tensor:
    B, T, C = x.shape
    nh, hs = ref.n_head, C // ref.n_head
    q, k, v = ref.c_attn(x).split(C, dim=2)
    heads = [t.view(B, T, nh, hs).transpose(1, 2) if split else t.reshape(B, nh, T, hs) for t in (q, k, v)]
    y = F.scaled_dot_product_attention(*heads, is_causal=causal)
    y = y.transpose(1, 2).reshape(B, T, C) if merge else y.reshape(B, T, C)
    return ref.c_proj(y) if project else y


@_grades(
    "MultiHeadAttention",
    "parameter-names",
    "heads-not-transposed",
    "heads-merged-wrong",
    "future-visible",
    "missing-projection",
)
def _check_multi_head_attention(cls: type) -> None:
    from llm_guide.attention import MultiHeadAttention as Reference
    from llm_guide.attention import causal_mask

    torch.manual_seed(0)
    ref, mine = Reference(12, 3), cls(12, 3)
    _load(mine, ref, "MultiHeadAttention(12, 3)")
    x = torch.randn(2, 5, 12, generator=_gen(0))
    got = _tensor(mine(x), "MultiHeadAttention(12, 3) of a (2, 5, 12) x", (2, 5, 12))
    with torch.no_grad():
        want = ref(x)
        if not _close(got, want):
            _recognise(
                got,
                [
                    (
                        "heads-not-transposed",
                        lambda: _mha_variant(ref, x, split=False),
                        "the heads are split with view(B, nh, T, hs) straight from (B, T, C): that mixes positions and "
                        "channels; view(B, T, nh, hs) first, then transpose(1, 2)",
                    ),
                    (
                        "heads-merged-wrong",
                        lambda: _mha_variant(ref, x, merge=False),
                        "the heads are merged with view(B, T, C) straight from (B, nh, T, hs): transpose(1, 2) back "
                        "first (and .contiguous())",
                    ),
                    (
                        "missing-projection",
                        lambda: _mha_variant(ref, x, project=False),
                        "the heads' outputs are not mixed by c_proj at the end",
                    ),
                    (
                        "future-visible",
                        lambda: _mha_variant(ref, x, causal=False),
                        "the attention is not causal: every position sees later positions; use causal=True",
                    ),
                ],
            )
            changed = x.clone()
            changed[:, -1] += 1.0
            if not _close(mine(changed)[:, :-1], got[:, :-1]):
                raise Wrong(
                    "changing the last token changes the outputs of earlier positions: the attention "
                    "lets the future in",
                    "future-visible",
                )
            raise _diff("MultiHeadAttention(12, 3) of x", got, want)
        theirs = ref.to_torch()(x, x, x, attn_mask=~causal_mask(5), need_weights=False)[0]
    if not _close(got, theirs):
        raise _diff("MultiHeadAttention(12, 3), compared with torch.nn.MultiheadAttention,", got, theirs)


# ----------------------------------------------------------------------------------
# Chapter 7: the transformer block
# ----------------------------------------------------------------------------------
@_grades("LayerNorm", "unbiased-variance", "eps-outside-sqrt", "normalised-wrong-axis", "no-affine", "parameter-names")
def _check_layer_norm(cls: type) -> None:
    mine, ref = cls(6), nn.LayerNorm(6)
    weight, bias = getattr(mine, "weight", None), getattr(mine, "bias", None)
    if isinstance(weight, torch.Tensor) and isinstance(bias, torch.Tensor) and weight.shape == bias.shape == (6,):
        if not (torch.all(weight == 1) and torch.all(bias == 0)):
            raise Wrong("weight should start as ones and bias as zeros, so a new LayerNorm only normalises")
    g = _gen(0)
    with torch.no_grad():
        ref.weight.copy_(1 + 0.5 * torch.randn(6, generator=g))
        ref.bias.copy_(0.5 * torch.randn(6, generator=g))
    _load(mine, ref, "LayerNorm(6)")
    for scale in (3.0, 0.01):  # tiny variance: where eps shows
        x = torch.randn(2, 3, 6, generator=g) * scale + 0.5
        got = _tensor(mine(x), "LayerNorm(6) of a (2, 3, 6) x", (2, 3, 6))
        with torch.no_grad():
            want = ref(x)
            if _close(got, want):
                continue
            w, b, eps = ref.weight, ref.bias, 1e-5
            centred = x - x.mean(-1, keepdim=True)
            _recognise(
                got,
                [
                    (
                        "unbiased-variance",
                        lambda: centred / torch.sqrt(x.var(-1, keepdim=True) + eps) * w + b,
                        "the variance is the unbiased one (divided by C - 1); LayerNorm divides by C: "
                        "x.var(dim=-1, unbiased=False) or ((x - mean)**2).mean(-1)",
                    ),
                    (
                        "eps-outside-sqrt",
                        lambda: centred / (x.std(-1, unbiased=False, keepdim=True) + eps) * w + b,
                        "eps is added to the standard deviation; it goes inside the square root, sqrt(var + eps)",
                    ),
                    (
                        "normalised-wrong-axis",
                        lambda: (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps) * w + b,
                        "the statistics are taken over the batch (dim 0); LayerNorm normalises each token's C "
                        "features, the last axis",
                    ),
                    (
                        "normalised-wrong-axis",
                        lambda: (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + eps) * w + b,
                        "the statistics are taken over the whole tensor; LayerNorm normalises each token's C "
                        "features, the last axis",
                    ),
                    (
                        "no-affine",
                        lambda: F.layer_norm(x, (6,)),
                        "weight and bias are not applied: y = x_hat * weight + bias",
                    ),
                ],
            )
        raise _diff("LayerNorm(6) of x", got, want)
    loose = cls(6, eps=0.1)
    x = torch.randn(2, 6, generator=g) * 0.1
    if not _close(loose(x), F.layer_norm(x, (6,), eps=0.1)):
        raise Wrong("LayerNorm(6, eps=0.1) ignores its eps")


@_grades("FeedForward", "no-activation", "exact-gelu", "parameter-names")
def _check_feed_forward(cls: type) -> None:
    from llm_guide.block import FeedForward as Reference

    torch.manual_seed(0)
    ref, mine = Reference(8, 32), cls(8, 32)
    _load(mine, ref, "FeedForward(8, 32)")
    x = torch.randn(2, 4, 8, generator=_gen(0)) * 3
    got = _tensor(mine(x), "FeedForward(8, 32) of a (2, 4, 8) x", (2, 4, 8))
    with torch.no_grad():
        want = ref(x)
        if _close(got, want, atol=1e-6, rtol=1e-5):
            return
        _recognise(
            got,
            [
                (
                    "no-activation",
                    lambda: ref.c_proj(ref.c_fc(x)),
                    "there is no non-linearity between c_fc and c_proj: two linear layers in a row are one linear layer",
                ),
                (
                    "exact-gelu",
                    lambda: ref.c_proj(F.gelu(ref.c_fc(x))),
                    "it uses the exact GELU; GPT-2's weights expect gelu(..., approximate='tanh')",
                ),
            ],
            atol=1e-6,
            rtol=1e-5,
        )
        if _close(got, ref.c_proj(torch.relu(ref.c_fc(x))), atol=1e-6, rtol=1e-5):
            raise Wrong("it uses ReLU; GPT-2's feed-forward uses GELU (approximate='tanh')")
    raise _diff("FeedForward(8, 32) of x", got, want)


@_grades("Block", "residual-replaces", "post-norm", "norm-on-stream", "missing-mlp", "parameter-names")
def _check_block(cls: type) -> None:
    from llm_guide.block import Block as Reference

    torch.manual_seed(0)
    ref, mine = Reference(8, 2), cls(8, 2)
    _shuffle_norms(ref, 1)
    _load(mine, ref, "Block(8, 2)")
    x = torch.randn(2, 5, 8, generator=_gen(0))
    got = _tensor(mine(x), "Block(8, 2) of a (2, 5, 8) x", (2, 5, 8))
    with torch.no_grad():
        want = ref(x)
        if _close(got, want):
            return
        attn, mlp, ln_1, ln_2 = ref.attn, ref.mlp, ref.ln_1, ref.ln_2

        def replaces(first: bool, second: bool) -> torch.Tensor:
            h = attn(ln_1(x)) if first else x + attn(ln_1(x))
            return mlp(ln_2(h)) if second else h + mlp(ln_2(h))

        def post_norm() -> torch.Tensor:
            h = ln_1(x + attn(x))
            return ln_2(h + mlp(h))

        def norm_on_stream() -> torch.Tensor:
            h = ln_1(x)
            h = h + attn(h)
            h = ln_2(h)
            return h + mlp(h)

        message = (
            "a residual replaces x instead of adding to it: x = x + attn(ln_1(x)), then "
            "x = x + mlp(ln_2(x)); the stream carries everything earlier layers wrote"
        )
        _recognise(
            got,
            [
                ("residual-replaces", lambda: replaces(True, True), message),
                ("residual-replaces", lambda: replaces(True, False), message),
                ("residual-replaces", lambda: replaces(False, True), message),
                (
                    "post-norm",
                    post_norm,
                    "this is post-norm (normalise after adding, as in the 2017 paper); GPT-2's block is pre-norm: "
                    "x + attn(ln_1(x))",
                ),
                (
                    "norm-on-stream",
                    norm_on_stream,
                    "the residual stream itself is normalised (x = ln_1(x), then x + attn(x)); normalise only the "
                    "copy each sub-layer reads: x + attn(ln_1(x))",
                ),
                (
                    "missing-mlp",
                    lambda: x + attn(ln_1(x)),
                    "the feed-forward sub-layer is missing: x = x + mlp(ln_2(x)) after the attention",
                ),
            ],
        )
    raise _diff("Block(8, 2) of x", got, want)


@_grades(
    "GPT", "untied-weights", "missing-final-norm", "loss-on-probabilities", "targets-shifted-twice", "parameter-names"
)
def _check_gpt(cls: type) -> None:
    from llm_guide.model import GPT as Reference
    from llm_guide.model import GPTConfig

    config = GPTConfig(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=8)
    torch.manual_seed(0)
    ref, mine = Reference(config), cls(config)
    _shuffle_norms(ref, 1)
    if getattr(mine, "config", None) is not config:
        raise Wrong("keep the configuration as self.config = config: generate reads block_size from it")
    _load(mine, ref, "GPT")
    head, table = getattr(mine, "lm_head", None), mine.transformer["embed"].wte
    if not isinstance(head, nn.Linear) or head.weight is not table.weight:
        raise Wrong(
            "the weights are not tied: lm_head has a weight matrix of its own; make it the token embedding's "
            "(self.lm_head.weight = self.transformer.embed.wte.weight), as GPT-2 does",
            "untied-weights",
        )
    g = _gen(0)
    idx, targets = torch.randint(0, 13, (2, 6), generator=g), torch.randint(0, 13, (2, 6), generator=g)
    out = mine(idx)
    logits, loss = _pair(out, "GPT.forward")
    logits = _tensor(logits, "the logits of a (2, 6) batch", (2, 6, 13))
    if loss is not None:
        raise Wrong("without targets the loss should be None")
    with torch.no_grad():
        want, _ = ref(idx)
        if not _close(logits, want):

            def no_final_norm() -> torch.Tensor:
                h = ref.transformer.embed(idx)
                for block in ref.transformer.h:
                    h = block(h)
                return ref.lm_head(h)

            _recognise(
                logits,
                [
                    (
                        "missing-final-norm",
                        no_final_norm,
                        "the final LayerNorm is missing: after the last block, x = self.transformer.ln_f(x), then the head",
                    ),
                ],
            )
            raise _diff("the logits", logits, want)
        _, loss = _pair(mine(idx, targets), "GPT.forward")
        _, want_loss = ref(idx, targets)
        loss = _tensor(loss, "the loss", ())
        if not _close(loss, want_loss):
            _recognise(
                loss,
                [
                    (
                        "loss-on-probabilities",
                        lambda: F.cross_entropy(torch.softmax(want, -1).view(-1, 13), targets.view(-1)),
                        "the loss is the cross-entropy of probabilities; F.cross_entropy applies log-softmax itself, "
                        "so pass it the logits",
                    ),
                    (
                        "targets-shifted-twice",
                        lambda: F.cross_entropy(want[:, :-1].reshape(-1, 13), targets[:, 1:].reshape(-1)),
                        "the loss shifts the targets by one, but they come shifted already (y from get_batch): "
                        "compare logits[b, t] with targets[b, t]",
                    ),
                ],
            )
            if _close(loss, want_loss * idx.numel()):
                raise Wrong("the loss is the sum over positions; take the mean (F.cross_entropy's default)")
            raise _diff("the loss", loss, want_loss)
    n_mine, n_ref = sum(p.numel() for p in mine.parameters()), ref.num_params()
    if n_mine != n_ref:
        raise Wrong(f"the model has {n_mine} parameters, GPT-2's layout {n_ref}")


@_grades("next_token_distribution", "temperature-multiplied", "softmax-axis", "top-k-off-by-one", "top-k-ignored")
def _check_next_token_distribution(next_token_distribution: Callable[..., torch.Tensor]) -> None:
    from llm_guide.generate import next_token_distribution as reference

    logits = torch.randn(2, 10, generator=_gen(0)) * 2
    for temperature in (1.0, 0.5, 2.0):
        call = f"next_token_distribution(logits, temperature={temperature})"
        got = _tensor(next_token_distribution(logits, temperature=temperature), call, (2, 10))
        want = reference(logits, temperature)
        if _close(got, want):
            continue
        _recognise(
            got,
            [
                (
                    "temperature-multiplied",
                    lambda: torch.softmax(logits * temperature, -1),
                    "the logits are multiplied by the temperature; divide them: a temperature below 1 must sharpen "
                    "the distribution, above 1 flatten it",
                ),
                (
                    "softmax-axis",
                    lambda: torch.softmax(logits / temperature, 0),
                    "softmax runs over the batch (dim 0); the probabilities are over the vocabulary, the last axis",
                ),
            ],
        )
        raise _diff(call, got, want)
    for temperature, k in ((1.0, 3), (0.5, 3), (1.0, 1)):
        call = f"next_token_distribution(logits, temperature={temperature}, top_k={k})"
        got = _tensor(next_token_distribution(logits, temperature=temperature, top_k=k), call, (2, 10))
        want = reference(logits, temperature, top_k=k)
        if _close(got, want):
            continue
        kept = int((got[0] > 0).sum())
        if kept == 10:
            raise Wrong(f"{call} gives every token a probability: top_k has no effect", "top-k-ignored")
        if kept in (k - 1, k + 1):
            raise Wrong(
                f"{call} keeps {kept} tokens, not {k}: the k-th largest logit is "
                "topk(...).values[..., -1:], and tokens below it are cut",
                "top-k-off-by-one",
            )
        raise _diff(call, got, want)
    one = _tensor(next_token_distribution(logits[0]), "next_token_distribution of a (V,) vector", (10,))
    if not _close(one, torch.softmax(logits[0], -1)):
        raise _diff("next_token_distribution of a (V,) vector", one, torch.softmax(logits[0], -1))


@_grades(
    "generate",
    "context-not-cropped",
    "prompt-dropped",
    "last-position-ignored",
    "generator-ignored",
    "temperature-multiplied",
)
def _check_generate(generate: Callable[..., torch.Tensor]) -> None:
    from llm_guide.generate import generate as reference
    from llm_guide.model import GPT, GPTConfig

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=6, n_layer=1, n_head=2, n_embd=8))
    g = _gen(7)
    with torch.no_grad():  # large random weights: distinct logits, so picks are clear-cut
        for p in model.parameters():
            p.normal_(0.0, 1.0, generator=g)
    prompt = torch.randint(0, 11, (2, 3), generator=_gen(0))
    try:
        got = generate(model, prompt, 8, greedy=True)
    except ValueError as error:
        if "block_size" in str(error) or "context" in str(error):
            raise Wrong(
                "the model fails once the sequence grows past block_size: feed it only the last "
                "block_size tokens, idx[:, -block_size:]",
                "context-not-cropped",
            ) from None
        raise
    got = _tensor(got, "generate(model, prompt (2, 3), 8, greedy=True)")
    want = reference(model, prompt, 8, greedy=True)
    if tuple(got.shape) == (2, 8):
        raise Wrong(
            "generate returns the 8 new tokens only; return the prompt followed by them, (B, T + 8)", "prompt-dropped"
        )
    got = _tensor(got, "generate(model, prompt (2, 3), 8, greedy=True)", (2, 11))
    if not torch.equal(got, want):

        def first_position() -> torch.Tensor:
            idx = prompt
            for _ in range(8):
                logits, _ = model(idx[:, -6:])
                idx = torch.cat([idx, logits[:, 0].argmax(-1, keepdim=True)], dim=1)
            return idx

        with torch.no_grad():
            if torch.equal(got, first_position()):
                raise Wrong(
                    "the next token is picked from the first position's logits; only the last position, "
                    "logits[:, -1, :], predicts the token after the sequence",
                    "last-position-ignored",
                )
        raise Wrong(f"greedy generation gave {got[0].tolist()}, expected {want[0].tolist()}")
    first = _tensor(generate(model, prompt, 6, generator=_gen(3)), "a sampled generation", (2, 9))
    again = generate(model, prompt, 6, generator=_gen(3))
    if not torch.equal(first, again):
        raise Wrong(
            "two generators seeded alike gave different samples: draw with "
            "torch.multinomial(probs, 1, generator=generator)",
            "generator-ignored",
        )
    cold = generate(model, prompt, 6, temperature=0.01, generator=_gen(4))
    if not torch.equal(cold, want[:, :9]):
        hot = generate(model, prompt, 6, temperature=100.0, generator=_gen(4))
        if torch.equal(hot, want[:, :9]):
            raise Wrong(
                "a temperature of 100 samples like greedy and 0.01 at random: the logits are multiplied "
                "by the temperature instead of divided",
                "temperature-multiplied",
            )
        raise Wrong("sampling at temperature 0.01 should pick the most likely token almost surely, like greedy")
    if not torch.equal(generate(model, prompt, 6, top_k=1, generator=_gen(5)), want[:, :9]):
        raise Wrong("sampling with top_k=1 should always pick the most likely token: is top_k passed on?")
    same = generate(model, prompt, 0, greedy=True)
    if not torch.equal(_tensor(same, "generate(..., max_new_tokens=0)"), prompt):
        raise Wrong("generate(model, prompt, 0) should return the prompt unchanged")


# ----------------------------------------------------------------------------------
# Chapter 8: weights
# ----------------------------------------------------------------------------------
@_grades("LoRALinear", "lora-b-not-zero", "lora-a-zero", "base-not-frozen", "lora-scale", "lora-shapes")
def _check_lora(cls: type) -> None:
    torch.manual_seed(0)
    base = nn.Linear(6, 4)
    original = base(torch.eye(6)).detach()
    lora = cls(base, 2, alpha=4.0)
    A, B = getattr(lora, "lora_A", None), getattr(lora, "lora_B", None)
    if not isinstance(A, nn.Parameter) or not isinstance(B, nn.Parameter):
        raise Wrong("LoRALinear needs lora_A and lora_B as nn.Parameter")
    if tuple(A.shape) != (2, 6) or tuple(B.shape) != (4, 2):
        raise Wrong(
            f"lora_A is {tuple(A.shape)} and lora_B {tuple(B.shape)}; for a (4, 6) base layer and rank 2 "
            "they are (rank, in) = (2, 6) and (out, rank) = (4, 2)",
            "lora-shapes",
        )
    if getattr(lora, "base", None) is not base:
        raise Wrong("keep the layer you were given as self.base")
    if any(p.requires_grad for p in base.parameters()):
        raise Wrong(
            "the base layer is still trainable: base.requires_grad_(False) freezes it, so only A and B learn",
            "base-not-frozen",
        )
    if not torch.count_nonzero(A):
        raise Wrong(
            "lora_A starts at zero like lora_B: then B's gradient is zero too and nothing ever learns; start A random",
            "lora-a-zero",
        )
    x = torch.randn(3, 6, generator=_gen(0))
    got = _tensor(lora(x), "LoRALinear(base, 2, alpha=4.0) of a (3, 6) x", (3, 4))
    if not _close(got, base(x)):
        raise Wrong(
            "before training the layer should give exactly what the base layer gave: start lora_B at zero",
            "lora-b-not-zero",
        )
    if not torch.equal(base(torch.eye(6)).detach(), original):
        raise Wrong("the base layer's weights changed")
    with torch.no_grad():
        B.copy_(torch.randn(4, 2, generator=_gen(1)))
        delta = x @ A.T @ B.T
        want = base(x) + delta * (4.0 / 2)
        got = lora(x)
        if _close(got, want):
            return
        _recognise(
            got,
            [
                ("lora-scale", lambda: base(x) + delta, "the correction is not scaled: multiply it by alpha / rank"),
                (
                    "lora-scale",
                    lambda: base(x) + delta * 4.0,
                    "the correction is scaled by alpha; scale it by alpha / rank",
                ),
                (
                    "lora-scale",
                    lambda: base(x) + delta * (2 / 4.0),
                    "the correction is scaled by rank / alpha; scale it by alpha / rank",
                ),
            ],
        )
    raise _diff("LoRALinear with a non-zero B", got, want)


@_grades("count_trainable", "counts-tied-twice", "counts-frozen")
def _check_count_trainable(count_trainable: Callable[[nn.Module], int]) -> None:
    from llm_guide.model import GPT, GPTConfig

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=13, block_size=8, n_layer=1, n_head=2, n_embd=8))
    want = sum(p.numel() for p in model.parameters())
    got = count_trainable(model)
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, int):
        raise Wrong(f"count_trainable should return an int, got {_kind(got)}")
    if got == sum(t.numel() for t in model.state_dict().values()) != want:
        raise Wrong(
            f"it counts {got}, but the tied (13, 8) matrix is one tensor under two names: count "
            f"model.parameters(), which yields it once ({want})",
            "counts-tied-twice",
        )
    if got != want:
        raise Wrong(f"a GPT with {want} parameters, all trainable: count_trainable gave {got}")
    model.transformer.embed.wpe.requires_grad_(False)
    frozen = sum(p.numel() for p in model.parameters() if p.requires_grad)
    got = count_trainable(model)
    if got != frozen:
        raise Wrong(
            f"with the position table frozen, {frozen} numbers are trainable, but it counts {got}: "
            "count only parameters with requires_grad",
            "counts-frozen" if got == want else None,
        )


# ----------------------------------------------------------------------------------
# Chapter 9: gradient descent
# ----------------------------------------------------------------------------------
def _grads(n: int, seed: int, scale: float = 1.0) -> list[torch.Tensor]:
    g = _gen(seed)
    return [torch.randn(6, generator=g) * scale for _ in range(n)]


@_grades("sgd_step", "gradient-ascent", "momentum-ignored", "velocity-damped", "not-in-place")
def _check_sgd_step(sgd_step: Callable[..., None]) -> None:
    start, grads = torch.randn(6, generator=_gen(0)), _grads(3, 1)
    param, velocity = start.clone(), torch.zeros(6)
    for grad in grads:
        sgd_step(param, grad.clone(), velocity, lr=0.1, momentum=0.9)
    theirs = start.clone().requires_grad_(True)
    optimizer = torch.optim.SGD([theirs], lr=0.1, momentum=0.9)
    for grad in grads:
        theirs.grad = grad.clone()
        optimizer.step()
    want = theirs.detach()
    if _close(param, want):
        if not _close(velocity, optimizer.state[theirs]["momentum_buffer"]):
            raise Wrong("velocity is not updated in place: the caller keeps it for the next step", "not-in-place")
        return
    if torch.equal(param, start):
        raise Wrong(
            "param did not change: update it in place (param.sub_(...)), since a new tensor never reaches the caller",
            "not-in-place",
        )

    def simulate(rule: str) -> torch.Tensor:
        p, v = start.clone(), torch.zeros(6)
        for grad in grads:
            v = grad.clone() if rule == "plain" else 0.9 * v + (0.1 if rule == "damped" else 1.0) * grad
            p = p + 0.1 * v if rule == "ascent" else p - 0.1 * v
        return p

    _recognise(
        param,
        [
            (
                "gradient-ascent",
                lambda: simulate("ascent"),
                "the step adds the velocity: that climbs the loss; subtract it (param -= lr * velocity)",
            ),
            (
                "momentum-ignored",
                lambda: simulate("plain"),
                "this is plain gradient descent: the velocity is not used; velocity = momentum * velocity + grad, "
                "then param -= lr * velocity",
            ),
            (
                "velocity-damped",
                lambda: simulate("damped"),
                "the velocity is an average, momentum * v + (1 - momentum) * grad; torch's SGD adds the whole gradient: "
                "v = momentum * v + grad",
            ),
        ],
    )
    raise _diff("param after 3 steps (compared with torch.optim.SGD)", param, want)


@_grades("adamw_step", "no-bias-correction", "l2-not-decoupled", "eps-inside-sqrt", "not-in-place")
def _check_adamw_step(adamw_step: Callable[..., None]) -> None:
    settings = dict(lr=0.05, betas=(0.9, 0.99), eps=1e-2, weight_decay=0.1)  # a large eps, so where it goes shows
    start, grads = torch.randn(6, generator=_gen(0)), _grads(5, 1, scale=0.1)
    param, m, v = start.clone(), torch.zeros(6), torch.zeros(6)
    for t, grad in enumerate(grads, start=1):
        adamw_step(param, grad.clone(), m, v, t, **settings)
    theirs = start.clone().requires_grad_(True)
    optimizer = torch.optim.AdamW([theirs], **settings)
    for grad in grads:
        theirs.grad = grad.clone()
        optimizer.step()
    want = theirs.detach()
    if _close(param, want, atol=1e-6):
        return
    if torch.equal(param, start) or not torch.count_nonzero(m) or not torch.count_nonzero(v):
        raise Wrong(
            "param, m or v did not change: update them in place (mul_, add_, addcmul_, sub_), since "
            "new tensors never reach the caller",
            "not-in-place",
        )

    def simulate(mistake: str) -> torch.Tensor:
        p, m_, v_ = start.clone(), torch.zeros(6), torch.zeros(6)
        (b1, b2), lr, eps, wd = settings["betas"], settings["lr"], settings["eps"], settings["weight_decay"]
        for t, grad in enumerate(grads, start=1):
            if mistake == "l2":
                grad = grad + wd * p
            else:
                p = p * (1 - lr * wd)
            m_ = b1 * m_ + (1 - b1) * grad
            v_ = b2 * v_ + (1 - b2) * grad**2
            m_hat, v_hat = (m_, v_) if mistake == "no-correction" else (m_ / (1 - b1**t), v_ / (1 - b2**t))
            root = torch.sqrt(v_hat + eps) if mistake == "eps-inside" else v_hat.sqrt() + eps
            p = p - lr * m_hat / root
        return p

    _recognise(
        param,
        [
            (
                "no-bias-correction",
                lambda: simulate("no-correction"),
                "m and v are used without the bias correction: divide by (1 - beta1**t) and (1 - beta2**t), since "
                "both start at zero and are too small in the first steps",
            ),
            (
                "l2-not-decoupled",
                lambda: simulate("l2"),
                "the weight decay is added to the gradient (Adam with L2); AdamW decouples it: "
                "param *= 1 - lr * weight_decay, apart from the gradient step",
            ),
            (
                "eps-inside-sqrt",
                lambda: simulate("eps-inside"),
                "eps is added inside the square root; AdamW divides by sqrt(v_hat) + eps",
            ),
        ],
        atol=1e-6,
    )
    raise _diff("param after 5 steps (compared with torch.optim.AdamW)", param, want)


@_grades("lr_at", "warmup-from-zero", "no-warmup", "no-min-lr", "cosine-off-by-one")
def _check_lr_at(lr_at: Callable[..., float]) -> None:
    from llm_guide.train import TrainConfig
    from llm_guide.train import lr_at as reference

    config = TrainConfig(steps=30, lr=1e-2, min_lr=1e-3, warmup_steps=5, progress=False)
    steps = range(35)
    got = torch.tensor([float(lr_at(s, config)) for s in steps], dtype=torch.float64)
    want = torch.tensor([reference(s, config) for s in steps], dtype=torch.float64)
    if not _close(got, want, atol=1e-9, rtol=1e-6):
        lr, low, warm, n = config.lr, config.final_lr, config.warmup_steps, config.steps

        def schedule(first: Callable[[int], float], span: int) -> torch.Tensor:
            values = []
            for s in steps:
                if s < warm:
                    values.append(first(s))
                else:
                    progress = min(1.0, (s - warm) / span)
                    values.append(low + 0.5 * (1 + math.cos(math.pi * progress)) * (lr - low))
            return torch.tensor(values, dtype=torch.float64)

        def right(s: int) -> float:
            return lr * (s + 1) / warm

        _recognise(
            got,
            [
                (
                    "warmup-from-zero",
                    lambda: schedule(lambda s: lr * s / warm, n - warm - 1),
                    "the warm-up starts at 0, so the first step does not move the weights: lr * (step + 1) / warmup_steps",
                ),
                (
                    "no-warmup",
                    lambda: schedule(lambda s: lr, n - warm - 1),
                    "there is no warm-up: the first warmup_steps steps should climb to lr, lr * (step + 1) / warmup_steps",
                ),
                (
                    "cosine-off-by-one",
                    lambda: schedule(right, n - warm),
                    "the cosine reaches min_lr one step after the last (steps - 1): divide by steps - warmup_steps - 1",
                ),
                (
                    "cosine-off-by-one",
                    lambda: schedule(right, n - warm - 2),
                    "the cosine reaches min_lr one step before the last: divide by steps - warmup_steps - 1",
                ),
            ],
            atol=1e-9,
            rtol=1e-6,
        )
        if abs(got[config.steps - 1].item()) < 1e-12 or abs(got[-1].item()) < 1e-12:
            raise Wrong(
                "the cosine decays to 0; it ends at config.final_lr (min_lr, or lr / 10 when min_lr is None)",
                "no-min-lr",
            )
        raise _diff("the learning rates of steps 0 to 34", got, want)
    plain = TrainConfig(steps=10, lr=1e-3, progress=False)  # min_lr None: the cosine ends at lr / 10
    for s in (0, 9):
        try:
            value = float(lr_at(s, plain))
        except TypeError as error:
            if "NoneType" in str(error):
                raise Wrong("config.min_lr is None by default: use config.final_lr, which is lr / 10 then") from None
            raise
        if not math.isclose(value, reference(s, plain), rel_tol=1e-6):
            raise Wrong(
                f"with warmup_steps=0 and min_lr=None, step {s} gives {value:.6g}, expected {reference(s, plain):.6g}"
            )


def _tiny_gpt() -> nn.Module:
    from llm_guide.model import GPT, GPTConfig

    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=11, block_size=6, n_layer=1, n_head=2, n_embd=8))


def _train_variant(mistake: str, batches: list[tuple[torch.Tensor, torch.Tensor]], lr: float, clip: float):
    model = _tiny_gpt()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    norms = []
    for x, y in batches:
        if mistake != "lr-not-set":
            for group in optimizer.param_groups:
                group["lr"] = lr
        _, loss = model(x, y)
        if mistake != "no-zero-grad":
            optimizer.zero_grad()
        loss.backward()
        if mistake == "clip-after-step":
            optimizer.step()
        norm = nn.utils.clip_grad_norm_(model.parameters(), clip if mistake != "no-clipping" else math.inf)
        if mistake != "clip-after-step":
            optimizer.step()
        norms.append(min(norm.item(), clip) if mistake == "returns-clipped-norm" else norm.item())
    return torch.cat([p.detach().flatten() for p in model.parameters()]), norms


@_grades("train_step", "no-zero-grad", "lr-not-set", "no-clipping", "clip-after-step", "returns-clipped-norm")
def _check_train_step(train_step: Callable[..., tuple]) -> None:
    g = _gen(0)
    batches = [(torch.randint(0, 11, (4, 6), generator=g), torch.randint(0, 11, (4, 6), generator=g)) for _ in range(3)]
    lr, clip = 0.05, 0.1  # the optimizer is built with lr 0.5: the step must set lr itself
    model = _tiny_gpt()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    results = [_pair(train_step(model, optimizer, x, y, lr, clip), "train_step") for x, y in batches]
    for loss, norm in results:
        if not isinstance(loss, float) or not isinstance(norm, float):
            raise Wrong(
                f"train_step should return two Python floats (loss.item(), norm.item()), got "
                f"{_kind(loss)} and {_kind(norm)}"
            )
    weights = torch.cat([p.detach().flatten() for p in model.parameters()])
    want_weights, want_norms = _train_variant("", batches, lr, clip)
    if _close(weights, want_weights, atol=1e-6):
        norms = torch.tensor([n for _, n in results])
        if torch.allclose(norms, torch.tensor(want_norms), rtol=1e-4):
            return
        if torch.allclose(norms, torch.tensor(_train_variant("returns-clipped-norm", batches, lr, clip)[1])):
            raise Wrong(
                "the norm returned is the one after clipping (at most grad_clip); return the norm "
                "before, which clip_grad_norm_ returns",
                "returns-clipped-norm",
            )
        raise Wrong(f"the gradient norms returned are {norms.tolist()}, expected {want_norms}")
    messages = {
        "no-zero-grad": "the gradients are not cleared between steps, so they add up: optimizer.zero_grad() "
        "before loss.backward()",
        "lr-not-set": "the learning rate passed in is never used: set group['lr'] = lr for every group of "
        "optimizer.param_groups",
        "no-clipping": "the gradient is not clipped: torch.nn.utils.clip_grad_norm_(params, grad_clip) between "
        "backward() and step()",
    }
    if _close(weights, _train_variant("no-clipping", batches, lr, clip)[0], atol=1e-6):
        after = nn.utils.clip_grad_norm_([p for p in model.parameters() if p.grad is not None], math.inf)
        if after <= clip * 1.001:  # the gradients left behind were clipped, but only after they were used
            raise Wrong(
                "the gradient is clipped after optimizer.step(), when it has already been used: clip "
                "between backward() and step()",
                "clip-after-step",
            )
    _recognise(
        weights,
        [(m, lambda m=m: _train_variant(m, batches, lr, clip)[0], text) for m, text in messages.items()],
        atol=1e-6,
    )
    raise _diff("the weights after 3 steps", weights, want_weights)


# ----------------------------------------------------------------------------------
# Chapter 10: in-context learning
# ----------------------------------------------------------------------------------
@_grades("induction_targets", "future-visible", "off-by-one")
def _check_induction_targets(induction_targets: Callable[[torch.Tensor], torch.Tensor]) -> None:
    from llm_guide.icl import induction_targets as reference

    x = torch.tensor([[1, 2, 3, 1, 2, 3, 1], [4, 4, 5, 4, 6, 5, 4]])
    got = _tensor(induction_targets(x), "induction_targets of a (2, 7) x", (2, 7, 7))
    want = reference(x)
    if got.dtype == torch.bool and torch.equal(got, want):
        return
    same = x[:, :, None] == x[:, None, :]
    causal = torch.tril(torch.ones(7, 7, dtype=torch.bool))
    shifted = torch.zeros_like(same)
    shifted[:, :, 1:] = same[:, :, :-1]
    back = torch.zeros_like(same)
    back[:, :, :-1] = same[:, :, 1:]
    got = got.bool()
    if torch.equal(got, shifted):
        raise Wrong("targets after the query are kept: only keys s <= t count (and the causal mask)", "future-visible")
    if torch.equal(got, same & causal) or torch.equal(got, back & causal):
        raise Wrong(
            "the targets are the earlier occurrences themselves; the target is the token *after* "
            "an earlier occurrence, key s with x[s - 1] == x[t]",
            "off-by-one",
        )
    raise Wrong(
        f"induction_targets differs from the package's at query t = "
        f"{int((got != want).nonzero()[0][1])} of row {int((got != want).nonzero()[0][0])}"
    )


def _causal_weights(seed: int, layers: int = 2, B: int = 2, nh: int = 3, T: int = 8) -> list[torch.Tensor]:
    g = _gen(seed)
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    return [
        torch.softmax(torch.randn(B, nh, T, T, generator=g).masked_fill(~mask, float("-inf")), -1)
        for _ in range(layers)
    ]


@_grades("previous_token_scores", "wrong-diagonal")
def _check_previous_token_scores(previous_token_scores: Callable[..., torch.Tensor]) -> None:
    from llm_guide.icl import previous_token_scores as reference

    attn = _causal_weights(0)
    got = _tensor(previous_token_scores(attn), "previous_token_scores of 2 layers of 3 heads", (2, 3))
    want = reference(attn)
    if _close(got, want):
        return
    for offset in (0, 1):
        variant = torch.stack([w.diagonal(offset=offset, dim1=-2, dim2=-1).mean(dim=(0, 2)) for w in attn])
        if _close(got, variant):
            raise Wrong(
                f"it measures the diagonal with offset {offset} ({'the token itself' if offset == 0 else 'the next token'}); "
                "the previous token is key t - 1: diagonal(offset=-1)",
                "wrong-diagonal",
            )
    raise _diff("previous_token_scores", got, want)


@_grades("induction_scores", "all-queries-counted")
def _check_induction_scores(induction_scores: Callable[..., torch.Tensor]) -> None:
    from llm_guide.icl import induction_scores as reference
    from llm_guide.icl import induction_targets

    x = torch.tensor([[1, 2, 3, 1, 2, 3, 1, 2], [4, 5, 4, 6, 7, 5, 4, 6]])
    attn = _causal_weights(1)
    got = _tensor(induction_scores(attn, x), "induction_scores of 2 layers of 3 heads", (2, 3))
    want = reference(attn, x)
    if _close(got, want):
        return
    target = induction_targets(x)[:, None]
    every = torch.stack([(w * target).sum(-1).mean(dim=(0, 2)) for w in attn])
    if _close(got, every):
        raise Wrong(
            "the mean is over every query; average only over the queries that have an induction target "
            "(the others would count as 0)",
            "all-queries-counted",
        )
    raise _diff("induction_scores", got, want)


# ----------------------------------------------------------------------------------
# Chapter 11: putting it together
# ----------------------------------------------------------------------------------
@_grades("rhyme_gpt", "not-your-gpt", "loss-not-falling", "samples-wrong")
def _check_rhyme_gpt(rhyme_gpt: Callable[..., tuple], parts: dict[str, Any]) -> None:
    from llm_guide import corpora
    from llm_guide.workbook.rhyme import STARTS

    def run(**kwargs: int) -> tuple[nn.Module, list[float], dict[str, str]]:
        out = rhyme_gpt(**kwargs)
        if not isinstance(out, tuple) or len(out) != 3:
            raise Wrong(f"rhyme_gpt should return (model, losses, samples), got {_kind(out)}")
        model, losses, samples = out
        if not isinstance(model, nn.Module):
            raise Wrong(f"the first thing returned should be the model, got {_kind(model)}")
        yours = parts.get("GPT")
        if isinstance(yours, type) and not isinstance(model, yours):
            raise Wrong(
                f"the model is a {type(model).__module__}.{type(model).__name__}, not your own GPT "
                "(TODO 19): build it with the GPT of your 07_transformer_block.py",
                "not-your-gpt",
            )
        if not isinstance(samples, dict) or set(samples) != set(STARTS):
            raise Wrong(
                f"the samples should be a dict with one entry per start word, {list(STARTS)}, got {_kind(samples)}",
                "samples-wrong",
            )
        for start, text in samples.items():
            if not isinstance(text, str) or text.split()[:1] != [start] or len(text.split()) != 9:
                raise Wrong(
                    f"the sample for {start!r} should be the start word and 8 generated words, joined "
                    f"with spaces, got {text!r}",
                    "samples-wrong",
                )
        return model, list(losses), samples

    run(steps=2)  # the parts fit together (quick), before the real run
    _, losses, samples = run()
    if len(losses) != 150:
        raise Wrong(f"the default run should train for 150 steps and return every loss, got {len(losses)} losses")
    first, last = losses[0], sum(losses[-10:]) / 10
    if not last < 1.0:
        raise Wrong(
            f"the loss went from {first:.2f} to {last:.2f} (the mean of the last 10 steps); this rhyme is "
            "memorised to below 1.0 in 150 steps. Check get_batch's targets (TODO 7), lr_at (TODO 26) and "
            "train_step (TODO 27)",
            "loss-not-falling",
        )
    text = " ".join(line + " <END>" for line in corpora.mary_lamb_sentences()).split()
    known = set(zip(text, text[1:]))
    pairs = [pair for sample in samples.values() for pair in zip(sample.split(), sample.split()[1:])]
    share = sum(pair in known for pair in pairs) / len(pairs)
    if share < 0.75:
        raise Wrong(
            f"only {share:.0%} of the neighbouring words in the samples occur in the rhyme; a model "
            "that learned it continues its lines (is generate picking the last position?)",
            "samples-wrong",
        )


assert set(_CHECKS) == {t.name for t in TODOS}, sorted({t.name for t in TODOS} ^ set(_CHECKS))
