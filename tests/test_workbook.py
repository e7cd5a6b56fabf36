"""The workbook: stubs, solutions, the checks and their diagnoses, the command and the pages.

The solutions are written once (a module fixture) and checked once in full, as a reader
runs it (``python -m llm_guide workbook check`` in a subprocess, without the network). Every
diagnosis is then tested on its own: the mistake is planted in the package's solution of
one TODO (a text replacement in its source), and the in-process ``check`` must name it.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from llm_guide import workbook
from llm_guide.workbook import CHAPTERS, DIAGNOSED, DIAGNOSES, TODOS, check
from llm_guide.workbook.files import import_chapter, reader_modules, solution_object, solution_source
from llm_guide.workbook.grading import CheckTimeout, deadline

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    from llm_guide.__main__ import main

    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def solutions(tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    """The solutions folder and each chapter file's namespace, imported once."""
    folder = tmp_path_factory.mktemp("solutions")
    workbook.init(folder, solutions=True)
    with reader_modules(folder):
        namespaces = {c.stem: vars(import_chapter(c)) for c in CHAPTERS}
    return folder, namespaces


# ----------------------------------------------------------------------------------
# Stubs and solutions, end to end
# ----------------------------------------------------------------------------------
def test_fresh_stubs_are_all_not_yet_and_exit_nonzero(tmp_path, capsys):
    code, out, err = run_main(capsys, "workbook", "init", str(tmp_path / "mine"))
    assert code == 0 and err == ""
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == [c.filename for c in CHAPTERS]
    code, out, err = run_main(capsys, "workbook", "check", str(tmp_path / "mine"))
    lines = [line for line in out.splitlines() if "TODO" in line and not line.startswith("next")]
    assert len(lines) == len(TODOS) and all(line.split()[0:2] == ["not", "yet"] for line in lines)
    assert f"0/{len(TODOS)} done" in out and "Traceback" not in out + err
    assert code == 1


def test_solutions_pass_without_network_and_write_nothing(solutions, tmp_path):
    """The full check, as a reader runs it: a subprocess whose sockets fail, in an empty folder."""
    folder, _ = solutions
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    script = textwrap.dedent(f"""
        import socket, sys
        def refuse(*args, **kwargs):
            raise OSError("the workbook check must not use the network")
        socket.socket.connect = socket.socket.connect_ex = refuse
        socket.create_connection = socket.getaddrinfo = refuse
        from llm_guide.__main__ import main
        sys.exit(main(["workbook", "check", {str(folder)!r}]))
    """)
    env = dict(os.environ, HOME=str(home), TMPDIR=str(home), XDG_CACHE_HOME=str(home))
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(TODOS)}/{len(TODOS)} done" in result.stdout
    assert "Traceback" not in result.stderr
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before  # no __pycache__, no edits
    assert list(cwd.iterdir()) == [] and list(home.iterdir()) == []
    assert elapsed < 60, f"the full check took {elapsed:.1f} s"


def test_solutions_are_the_package_source(solutions):
    folder, _ = solutions
    block = (folder / "07_transformer_block.py").read_text(encoding="utf-8")
    assert inspect.getsource(solution_object(workbook.find_todo("LayerNorm"))).split("\n")[0] in block
    # the package's Block, running on the workbook's own attention from chapter 6
    assert 'MultiHeadAttention = import_module("06_attention").MultiHeadAttention' in block
    assert "--8<--" not in block
    for todo in TODOS:
        assert solution_source(todo) in (folder / todo.chapter.filename).read_text(encoding="utf-8")


def test_stub_signatures_fit_the_solutions(tmp_path):
    """Each stub's parameters are the solution's, in the same places with the same defaults."""
    workbook.init(tmp_path)
    with reader_modules(tmp_path):
        for todo in TODOS:
            stub = getattr(import_chapter(todo.chapter), todo.name)
            pairs = [(stub, solution_object(todo))]
            if inspect.isclass(stub):
                pairs = [
                    (stub.__dict__[m], getattr(solution_object(todo), m))
                    for m in stub.__dict__
                    if inspect.isfunction(stub.__dict__[m])
                ]
            for mine, theirs in pairs:
                ours, full = inspect.signature(mine).parameters, list(inspect.signature(theirs).parameters.values())
                for position, (name, parameter) in enumerate(ours.items()):
                    match = inspect.signature(theirs).parameters.get(name)
                    assert match is not None, f"{todo}: {mine.__qualname__} has {name}, the solution does not"
                    if parameter.kind is not parameter.KEYWORD_ONLY:
                        assert full[position].name == name, f"{todo}: {name} is not parameter {position}"
                    assert match.default == parameter.default, f"{todo}: default of {name}"


# ----------------------------------------------------------------------------------
# Every diagnosis, planted in a solution
# ----------------------------------------------------------------------------------
# (TODO, diagnosis, [(text in the solution's source, its replacement), ...])
PLANTS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("split_words", "whitespace-split", [("return _WORD.findall(text)", "return text.split()")]),
    ("split_words", "special-split", [("_WORD.findall(text)", r're.findall(r"\w+|[^\w\s]", text)')]),
    (
        "Vocabulary",
        "not-sorted",
        [
            (
                "learned = sorted(set(symbols) - set(specials))",
                "learned = [s for s in dict.fromkeys(symbols) if s not in specials]",
            )
        ],
    ),
    (
        "Vocabulary",
        "specials-not-first",
        [("list(dict.fromkeys(specials)) + learned", "learned + list(dict.fromkeys(specials))")],
    ),
    (
        "Vocabulary",
        "duplicate-ids",
        [
            (
                "learned = sorted(set(symbols) - set(specials))",
                "learned = sorted(s for s in symbols if s not in specials)",
            )
        ],
    ),
    (
        "Vocabulary",
        "unknown-symbol-accepted",
        [
            ("if symbol not in self.stoi:", "if False:"),
            ("ids.append(self.stoi[symbol])", "ids.append(self.stoi.get(symbol, 0))"),
        ],
    ),
    ("get_pair_counts", "wraps-around", [("zip(ids, ids[1:])", "zip(ids, list(ids[1:]) + list(ids[:1]))")]),
    ("get_pair_counts", "skips-overlaps", [("zip(ids, ids[1:])", "zip(ids[::2], ids[1::2])")]),
    (
        "merge",
        "first-only",
        [("out.append(new_id)\n", "out.append(new_id)\n            return out + list(ids[i + 2:])\n")],
    ),
    ("merge", "overlapping-merge", [("i += 2", "i += 1")]),
    ("merge", "last-dropped", [("while i < len(ids):", "while i < len(ids) - 1:")]),
    (
        "windows",
        "window-count",
        [("return data.unfold(0, block_size + 1, 1)", "return data.unfold(0, block_size + 1, 1)[:-1]")],
    ),
    ("windows", "window-length", [("data.unfold(0, block_size + 1, 1)", "data.unfold(0, block_size, 1)")]),
    (
        "windows",
        "window-step",
        [("data.unfold(0, block_size + 1, 1)", "data.unfold(0, block_size + 1, block_size + 1)")],
    ),
    ("xy_pairs", "targets-not-shifted", [("return w[:, :-1], w[:, 1:]", "return w[:, :-1], w[:, :-1]")]),
    ("xy_pairs", "shifted-wrong-way", [("return w[:, :-1], w[:, 1:]", "return w[:, 1:], w[:, :-1]")]),
    (
        "get_batch",
        "targets-not-shifted",
        [("y = torch.stack([data[i + 1 : i + block_size + 1] for i in starts])", "y = x.clone()")],
    ),
    (
        "get_batch",
        "shifted-wrong-way",
        [
            ("data[i : i + block_size]", "data[i + 1 : i + block_size + 1]"),
            (
                "y = torch.stack([data[i + 1 : i + block_size + 1] for i in starts])",
                "y = torch.stack([data[i : i + block_size] for i in starts])",
            ),
        ],
    ),
    (
        "get_batch",
        "last-window-never-drawn",
        [("torch.randint(len(data) - block_size,", "torch.randint(len(data) - block_size - 1,")],
    ),
    ("get_batch", "generator-ignored", [("(batch_size,), generator=generator)", "(batch_size,))")]),
    ("relu", "changes-input", [("return torch.where(x > 0, x, torch.zeros_like(x))", "x[x < 0] = 0\n    return x")]),
    ("gelu", "gelu-is-silu", [("phi = 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))", "phi = torch.sigmoid(x)")]),
    ("gelu", "gelu-missing-sqrt2", [("torch.erf(x / math.sqrt(2.0))", "torch.erf(x)")]),
    ("gelu", "approximate-ignored", [('if approximate == "none":', "if True:")]),
    (
        "sinusoidal_positions",
        "sin-cos-swapped",
        [
            ("pe[:, 0::2] = torch.sin(angles)", "pe[:, 0::2] = torch.cos(angles)"),
            ("pe[:, 1::2] = torch.cos(angles)", "pe[:, 1::2] = torch.sin(angles)"),
        ],
    ),
    (
        "sinusoidal_positions",
        "halves-not-interleaved",
        [
            ("pe[:, 0::2] = torch.sin(angles)\n", "pe = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)\n"),
            ("    pe[:, 1::2] = torch.cos(angles)\n", ""),
        ],
    ),
    (
        "sinusoidal_positions",
        "frequency-exponent",
        [("w = _frequencies(C, base)", "w = base ** (-torch.arange(0, C // 2, dtype=torch.float64) / C)")],
    ),
    (
        "TokenAndPositionEmbedding",
        "positions-missing",
        [("return self.wte(idx) + self.position_table()", "return self.wte(idx)  #")],
    ),
    (
        "TokenAndPositionEmbedding",
        "position-by-token",
        [("return self.wte(idx) + self.position_table()", "return self.wte(idx) + self.wpe(idx)  #")],
    ),
    (
        "TokenAndPositionEmbedding",
        "positions-not-cropped",
        [("return self.wte(idx) + self.position_table()", "return self.wte(idx) + self.position_table()  #")],
    ),
    ("TokenAndPositionEmbedding", "parameter-names", [("self.wte = nn.Embedding(", "self.tokens = nn.Embedding(")]),
    ("softmax", "softmax-axis", [("dim=dim", "dim=-1")]),
    ("softmax", "softmax-overflow", [("x = x - x.amax(dim=dim, keepdim=True).detach()", "x = x")]),
    ("softmax", "sum-without-keepdim", [("return e / e.sum(dim=dim, keepdim=True)", "return e / e.sum(dim=dim)")]),
    ("causal_mask", "mask-not-bool", [("dtype=torch.bool", "dtype=torch.float32")]),
    ("causal_mask", "future-visible", [("torch.tril(", "torch.triu(")]),
    ("causal_mask", "diagonal-hidden", [("diagonal=past)", "diagonal=past - 1)")]),
    (
        "causal_mask",
        "past-hidden",
        [("return torch.tril(", "return torch.eye(T, dtype=torch.bool) if True else torch.tril(")],
    ),
    ("scaled_dot_product_attention", "missing-scale", [(" / math.sqrt(d)", "")]),
    ("scaled_dot_product_attention", "scale-by-d", [("/ math.sqrt(d)", "/ d")]),
    ("scaled_dot_product_attention", "softmax-axis", [("softmax(scores, dim=-1)", "softmax(scores, dim=-2)")]),
    (
        "scaled_dot_product_attention",
        "future-visible",
        [("~causal_mask(T, device=q.device)", "~causal_mask(T, device=q.device).T")],
    ),
    (
        "scaled_dot_product_attention",
        "mask-after-softmax",
        [
            ('scores = scores.masked_fill(~causal_mask(T, device=q.device), float("-inf"))', "pass"),
            (
                "weights = softmax(scores, dim=-1)",
                "weights = softmax(scores, dim=-1) * (causal_mask(scores.size(-1)) if causal else 1)",
            ),
        ],
    ),
    (
        "scaled_dot_product_attention",
        "mask-with-zero",
        [('~causal_mask(T, device=q.device), float("-inf"))', "~causal_mask(T, device=q.device), 0.0)")],
    ),
    ("MultiHeadAttention", "parameter-names", [("self.c_attn = nn.Linear(", "self.qkv = nn.Linear(")]),
    (
        "MultiHeadAttention",
        "heads-not-transposed",
        [
            ("q = q.view(B, T, nh, hs).transpose(1, 2)", "q = q.reshape(B, nh, T, hs)"),
            ("k = k.view(B, T, nh, hs).transpose(1, 2)", "k = k.reshape(B, nh, T, hs)"),
            ("v = v.view(B, T, nh, hs).transpose(1, 2)", "v = v.reshape(B, nh, T, hs)"),
        ],
    ),
    (
        "MultiHeadAttention",
        "heads-merged-wrong",
        [("y = y.transpose(1, 2).contiguous().view(B, T, C)", "y = y.reshape(B, T, C)")],
    ),
    ("MultiHeadAttention", "future-visible", [("causal, mask = self.causal, None", "causal, mask = False, None")]),
    (
        "MultiHeadAttention",
        "missing-projection",
        [("return self.resid_dropout(self.c_proj(y))", "return self.resid_dropout(y)")],
    ),
    (
        "LayerNorm",
        "unbiased-variance",
        [("var = (centred**2).mean(dim=-1, keepdim=True)", "var = x.var(dim=-1, keepdim=True)")],
    ),
    (
        "LayerNorm",
        "eps-outside-sqrt",
        [("centred / torch.sqrt(var + self.eps)", "centred / (torch.sqrt(var) + self.eps)")],
    ),
    ("LayerNorm", "normalised-wrong-axis", [("dim=-1", "dim=0")]),
    ("LayerNorm", "no-affine", [("y = x_hat * self.weight", "return x_hat")]),
    ("LayerNorm", "parameter-names", [("self.weight = nn.Parameter(", "self.gamma = nn.Parameter(")]),
    ("FeedForward", "no-activation", [("self.c_proj(self.act(self.c_fc(x)))", "self.c_proj(self.c_fc(x))")]),
    ("FeedForward", "exact-gelu", [('gelu(x, approximate="tanh")', "gelu(x)")]),
    ("FeedForward", "parameter-names", [("self.c_fc = nn.Linear(", "self.fc = nn.Linear(")]),
    ("Block", "residual-replaces", [("x = x + self.attn(", "x = self.attn(")]),
    ("Block", "post-norm", [('norm: Literal["pre", "post"] = "pre"', 'norm: Literal["pre", "post"] = "post"')]),
    (
        "Block",
        "norm-on-stream",
        [
            ("x = x + self.attn(self.ln_1(x)", "x = self.ln_1(x)\n            x = x + self.attn((x)"),
            ("x = x + self.mlp(self.ln_2(x))", "x = self.ln_2(x)\n                x = x + self.mlp(x)"),
        ],
    ),
    ("Block", "missing-mlp", [("x = x + self.mlp(self.ln_2(x))", "x = x")]),
    ("Block", "parameter-names", [("self.ln_1 = LayerNorm(", "self.norm_1 = LayerNorm(")]),
    ("GPT", "untied-weights", [("self.lm_head.weight = self.transformer.embed.wte.weight", "pass")]),
    ("GPT", "missing-final-norm", [("x = self.transformer.ln_f(x)", "x = x")]),
    (
        "GPT",
        "loss-on-probabilities",
        [
            (
                "next_token_loss(logits, targets)",
                "F.cross_entropy(torch.softmax(logits, -1).flatten(0, 1), targets.flatten())",
            )
        ],
    ),
    (
        "GPT",
        "targets-shifted-twice",
        [
            (
                "next_token_loss(logits, targets)",
                "F.cross_entropy(logits[:, :-1].flatten(0, 1), targets[:, 1:].flatten())",
            )
        ],
    ),
    ("GPT", "parameter-names", [("h=nn.ModuleList(", "blocks=nn.ModuleList(")]),
    (
        "next_token_distribution",
        "temperature-multiplied",
        [("logits = logits / temperature", "logits = logits * temperature")],
    ),
    (
        "next_token_distribution",
        "softmax-axis",
        [("return torch.softmax(logits, dim=-1)", "return torch.softmax(logits, dim=0)")],
    ),
    ("next_token_distribution", "top-k-off-by-one", [("values[..., -1:]", "values[..., -2:-1]")]),
    ("next_token_distribution", "top-k-ignored", [("if top_k is not None and top_k < logits.size(-1):", "if False:")]),
    ("generate", "context-not-cropped", [("idx[:, -block_size:]", "idx")]),
    ("generate", "prompt-dropped", [("    return idx\n", "    return idx[:, -max_new_tokens:]\n")]),
    ("generate", "last-position-ignored", [("last = logits[:, -1, :]", "last = logits[:, 0, :]")]),
    ("generate", "generator-ignored", [("num_samples=1, generator=generator)", "num_samples=1)")]),
    (
        "generate",
        "temperature-multiplied",
        [("next_token_distribution(last, temperature,", "next_token_distribution(last, 1 / temperature,")],
    ),
    (
        "LoRALinear",
        "lora-b-not-zero",
        [("torch.zeros(base.out_features, rank, **like)", "torch.randn(base.out_features, rank, **like)")],
    ),
    (
        "LoRALinear",
        "lora-a-zero",
        [("self.lora_A = nn.Parameter(A)", "self.lora_A = nn.Parameter(torch.zeros_like(A))")],
    ),
    ("LoRALinear", "base-not-frozen", [("self.base.requires_grad_(False)", "self.base.requires_grad_(True)")]),
    ("LoRALinear", "lora-scale", [("self.scale = alpha / rank", "self.scale = alpha")]),
    (
        "LoRALinear",
        "lora-shapes",
        [("torch.randn(rank, base.in_features, **like)", "torch.randn(base.in_features, rank, **like)")],
    ),
    (
        "count_trainable",
        "counts-tied-twice",
        [
            (
                "sum(p.numel() for p in model.parameters() if p.requires_grad)",
                "sum(t.numel() for t in model.state_dict().values())",
            )
        ],
    ),
    ("count_trainable", "counts-frozen", [(" if p.requires_grad)", ")")]),
    ("sgd_step", "gradient-ascent", [("param.sub_(lr * velocity)", "param.add_(lr * velocity)")]),
    ("sgd_step", "momentum-ignored", [("param.sub_(lr * velocity)", "param.sub_(lr * grad)")]),
    (
        "sgd_step",
        "velocity-damped",
        [("velocity.mul_(momentum).add_(grad)", "velocity.mul_(momentum).add_(grad, alpha=1 - momentum)")],
    ),
    ("sgd_step", "not-in-place", [("param.sub_(lr * velocity)", "param = param - lr * velocity")]),
    (
        "adamw_step",
        "no-bias-correction",
        [("m_hat = m / (1 - beta1**t)", "m_hat = m"), ("v_hat = v / (1 - beta2**t)", "v_hat = v")],
    ),
    ("adamw_step", "l2-not-decoupled", [("param.mul_(1 - lr * weight_decay)", "grad = grad + weight_decay * param")]),
    ("adamw_step", "eps-inside-sqrt", [("(v_hat.sqrt() + eps)", "(v_hat + eps).sqrt()")]),
    (
        "adamw_step",
        "not-in-place",
        [("m.mul_(beta1).add_(grad, alpha=1 - beta1)", "m = m * beta1 + (1 - beta1) * grad")],
    ),
    (
        "lr_at",
        "warmup-from-zero",
        [("config.lr * (step + 1) / config.warmup_steps", "config.lr * step / config.warmup_steps")],
    ),
    ("lr_at", "no-warmup", [("return config.lr * (step + 1) / config.warmup_steps", "return config.lr")]),
    (
        "lr_at",
        "no-min-lr",
        [("return config.final_lr + cosine * (config.lr - config.final_lr)", "return cosine * config.lr")],
    ),
    (
        "lr_at",
        "cosine-off-by-one",
        [("decay_steps = config.steps - config.warmup_steps - 1", "decay_steps = config.steps - config.warmup_steps")],
    ),
    ("train_step", "no-zero-grad", [("optimizer.zero_grad(set_to_none=True)", "pass")]),
    ("train_step", "lr-not-set", [('group["lr"] = lr', "pass")]),
    (
        "train_step",
        "no-clipping",
        [('clip_grad_norm_(params, grad_clip or float("inf"))', 'clip_grad_norm_(params, float("inf"))')],
    ),
    (
        "train_step",
        "clip-after-step",
        [
            ("    optimizer.step()\n", ""),
            ("    norm = nn.utils.clip_grad_norm_(", "    optimizer.step()\n    norm = nn.utils.clip_grad_norm_("),
        ],
    ),
    (
        "train_step",
        "returns-clipped-norm",
        [("return loss.item(), norm.item()", 'return loss.item(), min(norm.item(), grad_clip or float("inf"))')],
    ),
    ("induction_targets", "future-visible", [("return target & causal_mask(T, device=x.device)", "return target  #")]),
    ("induction_targets", "off-by-one", [("target[:, :, 1:] = same[:, :, :-1]", "target = same.clone()")]),
    ("previous_token_scores", "wrong-diagonal", [("offset=-1", "offset=0")]),
    (
        "induction_scores",
        "all-queries-counted",
        [("on_target.sum(dim=(0, 2)) / has_target.sum()", "on_target.mean(dim=(0, 2))")],
    ),
    ("rhyme_gpt", "not-your-gpt", [("model = GPT(", "model = PackageGPT(")]),
    ("rhyme_gpt", "samples-wrong", [("]), 8, greedy=True)", "]), 4, greedy=True)")]),
    ("rhyme_gpt", "loss-not-falling", [("lr=1e-2", "lr=1e-6")]),
]


def planted(namespaces: dict[str, dict], name: str, edits: list[tuple[str, str]]):
    """The package's solution of TODO ``name`` with ``edits`` made, defined in its chapter file's namespace."""
    todo = workbook.find_todo(name)
    source = solution_source(todo)
    for old, new in edits:
        assert old in source, f"the solution of {name} no longer contains {old!r}: update the plant"
        source = source.replace(old, new)
    from llm_guide.model import GPT as PackageGPT

    namespace = dict(namespaces[todo.chapter.stem], PackageGPT=PackageGPT)
    exec(compile(source, f"<{name} with a planted mistake>", "exec"), namespace)
    return namespace[todo.name]


@pytest.mark.parametrize("name, diagnosis, edits", PLANTS, ids=[f"{n}-{d}" for n, d, _ in PLANTS])
def test_a_planted_mistake_gets_its_diagnosis(solutions, name, diagnosis, edits):
    _, namespaces = solutions
    parts = {"GPT": namespaces["07_transformer_block"]["GPT"]} if name == "rhyme_gpt" else None
    result = check(name, planted(namespaces, name, edits), parts=parts)
    assert (result.status, result.diagnosis) == ("wrong", diagnosis), str(result)
    assert "Traceback" not in result.message


def test_every_diagnosis_has_a_planted_mistake():
    planted_pairs = {(name, diagnosis) for name, diagnosis, _ in PLANTS}
    declared = {(name, d) for name, diagnoses in DIAGNOSED.items() for d in diagnoses}
    assert planted_pairs == declared
    used = {d for _, d in declared} | {"timeout"}
    assert used == set(DIAGNOSES), set(DIAGNOSES) ^ used


def test_the_unplanted_solution_passes_each_check(solutions):
    """The same in-process path as the plants, without a mistake (the full run is the subprocess above)."""
    _, namespaces = solutions
    for name in ("causal_mask", "LayerNorm", "GPT", "train_step"):
        assert check(name, planted(namespaces, name, [])).done


# ----------------------------------------------------------------------------------
# Time limits, and files that do not import
# ----------------------------------------------------------------------------------
def endless(T, device=None):
    while True:
        pass


def test_an_endless_loop_is_stopped_and_reported():
    start = time.perf_counter()
    result = check("causal_mask", endless, time_limit=0.3)
    assert (result.status, result.diagnosis) == ("wrong", "timeout") and "0.3 s" in result.message
    assert time.perf_counter() - start < 5
    assert check("causal_mask", lambda T, device=None: torch.ones(T, T).tril().bool()).done  # later checks still run


def test_the_watchdog_thread_stops_a_loop_too():
    """The path used where SIGALRM does not exist (Windows) or off the main thread."""
    with pytest.raises(CheckTimeout):
        with deadline(0.3, use_signal=False):
            while True:
                pass
    with deadline(0.2, use_signal=False):  # and a block that finishes in time is left alone
        total = sum(range(1000))
    time.sleep(0.5)
    assert total == 499500


def test_broken_files_get_one_line_each_and_the_rest_still_runs(tmp_path, capsys):
    workbook.init(tmp_path)
    attention = tmp_path / "06_attention.py"
    attention.write_text(attention.read_text(encoding="utf-8") + "\ndef oops(:\n", encoding="utf-8")
    tokens = tmp_path / "02_tokenization.py"
    tokens.write_text(tokens.read_text(encoding="utf-8") + "\nundefined_name\n", encoding="utf-8")
    embeddings = tmp_path / "04_embeddings.py"
    embeddings.write_text(embeddings.read_text(encoding="utf-8") + "\nwhile True:\n    pass\n", encoding="utf-8")
    code, out, err = run_main(capsys, "workbook", "check", str(tmp_path), "--time-limit", "0.5")
    assert code == 2
    line = attention.read_text(encoding="utf-8").count("\n")
    assert err.strip().splitlines() == [f"llm-guide workbook: error: 06_attention.py, line {line}: invalid syntax"]
    assert "Traceback" not in out + err
    lines = {
        line.split(" TODO ")[1].split()[1].rstrip(":"): line
        for line in out.splitlines()
        if " TODO " in line and not line.startswith("next")
    }
    assert lines["split_words"].split()[:2] == ["not", "yet"]  # chapter 1 is checked as usual
    assert (
        "NameError" in lines["merge"]
        and f"02_tokenization.py, line {tokens.read_text().count(chr(10))}" in lines["merge"]
    )
    assert "longer than 0.5 s" in lines["relu"]
    assert "syntax error at line" in lines["causal_mask"]
    assert "longer than 0.5 s (04_embeddings.py, line" in lines["Block"]  # chapter 7 imports chapter 4's gelu
    assert "it imports 06_attention.py, which has a syntax error" in lines["induction_targets"]
    assert lines["LoRALinear"].split()[:2] == ["not", "yet"]


def test_init_never_overwrites_without_force(tmp_path, capsys):
    first = tmp_path / "01_vocabulary.py"
    assert run_main(capsys, "workbook", "init", str(tmp_path))[0] == 0
    first.write_text("# my work\n", encoding="utf-8")
    code, out, err = run_main(capsys, "workbook", "init", str(tmp_path), "--solutions")
    assert code == 2 and "--force" in err and len(err.strip().splitlines()) == 1
    assert first.read_text(encoding="utf-8") == "# my work\n"
    assert run_main(capsys, "workbook", "init", str(tmp_path), "--solutions", "--force")[0] == 0
    assert "def split_words" in first.read_text(encoding="utf-8")


def test_missing_unwritable_or_wrong_folders_get_one_line_and_exit_2(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder", encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    for args in (
        ["check", str(tmp_path / "missing")],
        ["check", str(a_file)],
        ["check", str(empty)],
        ["init", str(a_file)],
        ["init", str(a_file / "inside")],
        ["check", str(empty), "--time-limit", "0"],
    ):
        code, out, err = run_main(capsys, "workbook", *args)
        assert code == 2 and out == "", args
        assert err.startswith("llm-guide workbook: error: ") and len(err.strip().splitlines()) == 1, err
    workbook.init(empty)
    code, _, err = run_main(capsys, "workbook", "check", str(empty), "--chapter", "nope")
    assert code == 2 and "positional-encoding" in err


def test_help_of_the_workbook_commands(capsys):
    from llm_guide.__main__ import main

    for args in (["workbook", "--help"], ["workbook", "init", "--help"], ["workbook", "check", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            main(args)
        assert exit_.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: llm-guide {' '.join(args[:-1])}")


# ----------------------------------------------------------------------------------
# The notebook API
# ----------------------------------------------------------------------------------
def test_check_in_a_notebook_names_the_mistake_and_keeps_the_random_state():
    def my_causal_mask(T: int) -> torch.Tensor:
        i = torch.arange(T)
        return i[:, None] <= i[None, :]  # the mistake: j >= i

    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    result = check("causal_mask", my_causal_mask)
    assert torch.equal(torch.rand(3), expected)
    assert (result.status, result.diagnosis) == ("wrong", "future-visible")
    assert str(result).startswith("causal_mask: wrong: the mask lets the future in")
    assert check(13, my_causal_mask).diagnosis == "future-visible"
    with pytest.raises(ValueError, match="there is no TODO"):
        check("causal_masks", my_causal_mask)


def test_a_todo_waiting_for_an_earlier_one_says_which(solutions):
    _, namespaces = solutions

    def attention_with_a_stub(q, k, v, causal=False):
        raise NotImplementedError("TODO 12: softmax")

    result = check("scaled_dot_product_attention", attention_with_a_stub)
    assert result.status == "not yet" and "softmax (TODO 12)" in result.message


# ----------------------------------------------------------------------------------
# The TODO list, its hints, and the pages
# ----------------------------------------------------------------------------------
def _anchors(page: Path) -> set[str]:
    from markdown.extensions.toc import slugify

    headings = re.findall(r"^#{1,6} (.+?)\s*$", page.read_text(encoding="utf-8"), flags=re.M)
    return {slugify(re.sub(r"[`*]", "", h), "-") for h in headings}


def test_todos_are_in_chapter_order_and_every_hint_links_a_real_section(tmp_path):
    assert [t.chapter.number for t in TODOS] == sorted(t.chapter.number for t in TODOS)
    assert {t.chapter for t in TODOS} == set(CHAPTERS)
    workbook.init(tmp_path)
    site = "https://llm-guide.github.io/llm-guide/"
    for path in tmp_path.iterdir():
        for page, anchor in re.findall(re.escape(site) + r"([\w-]+)/#([\w-]+)", path.read_text(encoding="utf-8")):
            assert anchor in _anchors(DOCS / f"{page}.md"), f"{path.name}: {page}#{anchor}"
    for todo in TODOS:
        assert todo.url in todo.stub_source(), todo


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.slug for c in CHAPTERS])
def test_each_chapter_page_has_a_your_turn_section(chapter):
    text = (DOCS / f"{chapter.slug}.md").read_text(encoding="utf-8")
    assert "\n## Your turn\n" in text and text.index("\n## Your turn\n") < text.index("\n## Recap\n")
    section = text[text.index("\n## Your turn\n") : text.index("\n## Recap\n")]
    for todo in TODOS:
        if todo.chapter == chapter:
            assert f"`{todo.name}`" in section, todo
    assert f"`{chapter.filename}`" in section
    assert f"llm-guide workbook check my-gpt --chapter {chapter.slug}" in section
    assert re.search(r"```python[^\n]*\n(?:(?!```).)*workbook\.check\(", section, flags=re.S), (
        "a python block calls check"
    )
    assert "(workbook.md)" in section


def test_the_workbook_page_and_reference_are_in_the_nav():
    nav = (REPO / "mkdocs.yml").read_text(encoding="utf-8").split("nav:")[1].split("\n\n")[0]
    lines = [line.strip() for line in nav.splitlines()]
    workbook_line = lines.index("- Workbook: workbook.md")
    chapters = [i for i, line in enumerate(lines) if re.match(r'- "\d+\. ', line)]
    assert chapters and max(chapters) < workbook_line  # after the last chapter, whichever it is
    assert workbook_line < lines.index("- Glossary: glossary.md")
    assert "- llm_guide.workbook: reference/workbook.md" in lines
    assert (DOCS / "reference" / "workbook.md").read_text(encoding="utf-8").strip() == "::: llm_guide.workbook"
    assert "[`llm_guide.workbook`](workbook.md)" in (DOCS / "reference" / "index.md").read_text(encoding="utf-8")
