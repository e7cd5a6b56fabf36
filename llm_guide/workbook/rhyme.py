"""The workbook's last TODO, solved with the package's own parts.

``rhyme_gpt`` is chapter 9's word-level model of the nursery rhyme written as one
function: the vocabulary of chapter 1, ``get_batch`` of chapter 3, the ``GPT`` and
``generate`` of chapter 7, ``lr_at`` and ``train_step`` of chapter 9. The workbook's
solution for TODO 31 is this function's source, put in a file whose names are the
reader's own parts, so there it trains the reader's GPT with the reader's loop.
"""

from __future__ import annotations

import torch
from torch import nn

from llm_guide import corpora
from llm_guide.data import get_batch
from llm_guide.generate import generate
from llm_guide.model import GPT, GPTConfig
from llm_guide.train import TrainConfig, lr_at, make_optimizer, train_step
from llm_guide.vocab import Vocabulary, split_words

__all__ = ["STARTS", "rhyme_gpt"]

# --8<-- [start:starts]
#: The start words the samples continue.
STARTS = ("mary", "the", "it", "little", "lamb")
# --8<-- [end:starts]


# --8<-- [start:rhyme_gpt]
def rhyme_gpt(steps: int = 150, seed: int = 0) -> tuple[nn.Module, list[float], dict[str, str]]:
    """Train a word-level GPT on "Mary Had a Little Lamb" and continue each of ``STARTS``.

    Returns (the model, the loss of every step, {start word: greedy continuation}).
    150 steps take about a second with the written-out model; the loss falls from
    about ln 35 (a uniform guess over the rhyme's 35 words) to well below 1.
    """
    rhyme = " ".join(line + " <END>" for line in corpora.mary_lamb_sentences())
    words = split_words(rhyme)
    vocab = Vocabulary(words, specials=["<END>"])
    data = torch.tensor(vocab.encode(words))  # (N,) token ids of the whole rhyme

    torch.manual_seed(seed)  # the model's initial weights
    model = GPT(GPTConfig(vocab_size=len(vocab), block_size=6, n_layer=2, n_head=4, n_embd=32))
    config = TrainConfig(steps=steps, lr=1e-2, warmup_steps=20, progress=False)
    optimizer = make_optimizer(model, config)
    generator = torch.Generator().manual_seed(seed)  # the batches
    model.train()
    losses = []
    for step in range(steps):
        x, y = get_batch(data, 6, 16, generator)  # (16, 6) each
        loss, _ = train_step(model, optimizer, x, y, lr_at(step, config), config.grad_clip)
        losses.append(loss)

    samples = {}
    for start in STARTS:
        out = generate(model, torch.tensor([vocab.encode([start])]), 8, greedy=True)  # (1, 9)
        samples[start] = " ".join(vocab.decode(out[0].tolist()))
    return model, losses, samples


# --8<-- [end:rhyme_gpt]
