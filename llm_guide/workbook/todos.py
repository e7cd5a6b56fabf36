"""The workbook's TODOs, in chapter order, and the stub a reader starts from for each.

A TODO is one function or class of ``llm_guide`` that the reader writes again: its
signature (the part of the package's signature the checks use), a docstring with the
shapes, a hint that links the chapter section, and a body that raises
``NotImplementedError``. The reference solution of a TODO is the package object itself
(``Todo.solution``), so the workbook never holds a second copy of the chapters' code.

Later TODOs build on earlier ones: the reader's ``Block`` uses the reader's
``MultiHeadAttention``, the reader's ``GPT`` their ``Block`` and ``LayerNorm``, and the
last TODO trains the reader's GPT with the reader's ``get_batch``, ``lr_at`` and
``train_step``. Which earlier parts a TODO uses is read from its solution's source
(``llm_guide.workbook.files``), not listed here by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Chapter", "Todo", "CHAPTERS", "TODOS", "SITE", "find_todo", "find_chapter"]

#: Where the hints point: the published guide.
SITE = "https://llm-guide.github.io/llm-guide/"


@dataclass(frozen=True)
class Chapter:
    """One chapter's file of the workbook, ``DIR/<stem>.py``."""

    number: int
    slug: str  # the chapter page, docs/<slug>.md; also what --chapter takes
    title: str
    imports: str = ""  # lines the chapter's file needs beyond the common ones

    @property
    def stem(self) -> str:
        return f"{self.number:02d}_{self.slug.replace('-', '_')}"

    @property
    def filename(self) -> str:
        return f"{self.stem}.py"

    @property
    def url(self) -> str:
        return f"{SITE}{self.slug}/"

    def __str__(self) -> str:
        return f"Chapter {self.number}: {self.title}"


@dataclass(frozen=True)
class Todo:
    """One TODO: what the reader writes, where the chapter explains it, and its solution."""

    number: int
    name: str  # the function or class the reader defines in the chapter's file
    chapter: Chapter
    anchor: str  # the section the hint links to: "anchor" on the chapter's page, or "page#anchor"
    solution: str  # "module:qualname" of the package object that solves it
    stub: str  # the source the reader starts from; "@SEE@" becomes the section's address
    time_limit: float = 10.0  # seconds the check may take before it is stopped

    @property
    def url(self) -> str:
        """The address of the section that explains this TODO."""
        page, _, anchor = self.anchor.rpartition("#")
        return f"{SITE}{page or self.chapter.slug}/#{anchor}"

    def stub_source(self) -> str:
        """The stub as written into the reader's file."""
        return self.stub.replace("@SEE@", self.url).strip("\n") + "\n"

    def __str__(self) -> str:
        return f"TODO {self.number} {self.name}"


_C = [
    Chapter(1, "vocabulary", "Vocabulary", "import re\nfrom typing import Iterable, Sequence"),
    Chapter(2, "tokenization", "Tokenization", "from typing import Sequence"),
    Chapter(3, "tensors", "Tensors", "from typing import Sequence"),
    Chapter(4, "embeddings", "Embeddings"),
    Chapter(5, "positional-encoding", "Positional encoding"),
    Chapter(6, "attention", "Attention"),
    Chapter(7, "transformer-block", "The transformer block", "from llm_guide.model import GPTConfig"),
    Chapter(8, "weights", "Weights"),
    Chapter(9, "gradient-descent", "Gradient descent", "from llm_guide.train import TrainConfig"),
    Chapter(10, "in-context-learning", "In-context learning"),
    Chapter(
        11,
        "putting-it-together",
        "Putting it together",
        "from llm_guide import corpora\nfrom llm_guide.model import GPTConfig\n"
        "from llm_guide.train import TrainConfig, make_optimizer",
    ),
]
CHAPTERS: tuple[Chapter, ...] = tuple(_C)
(VOCAB, TOKENS, TENSORS, EMBED, POS, ATTN, BLOCK, WEIGHTS, GD, ICL, CAPSTONE) = CHAPTERS


# Each stub below is code written into a reader's file. The hints say *how*, without
# giving the answer away; the linked section shows the package's own version.
_TODOS = [
    # ------------------------------------------------------------------ 1. vocabulary
    Todo(
        1,
        "split_words",
        VOCAB,
        "characters-or-words",
        "llm_guide.vocab:split_words",
        r'''
def split_words(text: str) -> list[str]:
    r"""Split a text into word-level symbols.

    Runs of letters and digits are words, every punctuation mark is a symbol on its
    own, whitespace is dropped, and a special token written like ``<END>`` stays whole:

        split_words("mary had a lamb. <END>") == ["mary", "had", "a", "lamb", ".", "<END>"]

    Hint: one regular expression with three alternatives, tried left to right, and
    ``re.findall``: ``<...>`` without spaces inside, ``\w+``, and "anything that is
    neither a word character nor a space".
    See @SEE@
    """
    raise NotImplementedError("TODO 1: split_words")
''',
    ),
    Todo(
        2,
        "Vocabulary",
        VOCAB,
        "the-guides-vocabulary",
        "llm_guide.vocab:Vocabulary",
        r'''
class Vocabulary:
    """A fixed, ordered list of symbols and the two maps between symbols and ids.

    ``itos`` (id to symbol) is a list: the special tokens first, in the order given,
    then every other distinct symbol in sorted order, so the same text always gives
    the same ids. ``stoi`` (symbol to id) is the dict that inverts it.

        v = Vocabulary("hello", specials=["<END>"])
        v.itos == ["<END>", "e", "h", "l", "o"]   and   v.encode("hole") == [2, 4, 3, 1]

    ``encode`` raises a ValueError (or KeyError) for a symbol it has never seen, and
    ``decode`` one for an id outside 0 .. len(v) - 1.

    Hint: ``sorted(set(symbols) - set(specials))``, and a dict comprehension over
    ``enumerate(self.itos)``.
    See @SEE@
    """

    def __init__(self, symbols: Iterable[str], specials: Sequence[str] = ()) -> None:
        # set self.itos (list[str]) and self.stoi (dict[str, int])
        raise NotImplementedError("TODO 2: Vocabulary.__init__")

    def __len__(self) -> int:
        raise NotImplementedError("TODO 2: Vocabulary.__len__")

    def encode(self, symbols: Iterable[str]) -> list[int]:
        """Symbols to ids (a string is encoded character by character)."""
        raise NotImplementedError("TODO 2: Vocabulary.encode")

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids back to the list of symbols they stand for."""
        raise NotImplementedError("TODO 2: Vocabulary.decode")
''',
    ),
    # ---------------------------------------------------------------- 2. tokenization
    Todo(
        3,
        "get_pair_counts",
        TOKENS,
        "byte-pair-encoding-by-hand",
        "llm_guide.tokenizers:get_pair_counts",
        r'''
def get_pair_counts(ids: Sequence[int]) -> dict[tuple[int, int], int]:
    """Count each pair of neighbours in ``ids``.

        get_pair_counts([1, 2, 3, 1, 2]) == {(1, 2): 2, (2, 3): 1, (3, 1): 1}

    Every neighbouring pair counts, overlapping ones too: [7, 7, 7] holds (7, 7) twice.

    Hint: ``zip(ids, ids[1:])`` walks over the neighbours.
    See @SEE@
    """
    raise NotImplementedError("TODO 3: get_pair_counts")
''',
    ),
    Todo(
        4,
        "merge",
        TOKENS,
        "byte-pair-encoding-by-hand",
        "llm_guide.tokenizers:merge",
        r'''
def merge(ids: Sequence[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of ``pair``, scanning left to right, by ``new_id``.

        merge([1, 2, 3, 1, 2], (1, 2), 4) == [4, 3, 4]
        merge([7, 7, 7], (7, 7), 9) == [9, 7]        # a merged id is not used twice

    Hint: a while loop with an index: on a match append new_id and jump two places,
    otherwise append the id and move one.
    See @SEE@
    """
    raise NotImplementedError("TODO 4: merge")
''',
    ),
    # --------------------------------------------------------------------- 3. tensors
    Todo(
        5,
        "windows",
        TENSORS,
        "blocks-the-context-window",
        "llm_guide.data:windows",
        r'''
def windows(ids: Sequence[int] | torch.Tensor, block_size: int) -> torch.Tensor:
    """Every run of ``block_size + 1`` consecutive ids, one per row.

    Returns a long tensor of shape (N, T + 1), T = block_size, N = len(ids) - T:
    row i is ids[i : i + T + 1] (the block and the token that follows it).

        windows([5, 6, 7, 8], 2) == tensor([[5, 6, 7], [6, 7, 8]])

    Hint: ``torch.as_tensor(ids)``, then ``Tensor.unfold(0, size, step)``, or a
    stack of slices.
    See @SEE@
    """
    raise NotImplementedError("TODO 5: windows")
''',
    ),
    Todo(
        6,
        "xy_pairs",
        TENSORS,
        "one-window-many-examples",
        "llm_guide.data:xy_pairs",
        r'''
def xy_pairs(ids: Sequence[int] | torch.Tensor, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All sliding-window training pairs: inputs X and targets Y, both (N, T).

    Y is X shifted left by one: Y[i, t] is the token that comes after X[i, : t + 1],
    the thing the model must learn to predict.

        xy_pairs([5, 6, 7, 8], 2) == (tensor([[5, 6], [6, 7]]), tensor([[6, 7], [7, 8]]))

    Hint: your ``windows`` (TODO 5) gives rows of T + 1 ids; cut off the last column
    for X and the first for Y.
    See @SEE@
    """
    raise NotImplementedError("TODO 6: xy_pairs")
''',
    ),
    Todo(
        7,
        "get_batch",
        TENSORS,
        "random-batches-of-shape-b-t",
        "llm_guide.data:get_batch",
        r'''
def get_batch(
    data: torch.Tensor,
    block_size: int,
    batch_size: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A random batch of windows of the 1-D token tensor ``data``: x and y, both (B, T).

    Each row starts at a random offset; y is x shifted left by one. Every start that
    leaves room for the target's last token must be possible, from 0 up to and
    including len(data) - block_size - 1, and the same seeded ``generator`` must give
    the same batch.

    Hint: ``torch.randint(high, (batch_size,), generator=generator)``: high is
    exclusive. Then ``torch.stack`` the slices.
    See @SEE@
    """
    raise NotImplementedError("TODO 7: get_batch")
''',
    ),
    # ------------------------------------------------------------------ 4. embeddings
    Todo(
        8,
        "relu",
        EMBED,
        "neurons-the-building-blocks",
        "llm_guide.activations:relu",
        r'''
def relu(x: torch.Tensor) -> torch.Tensor:
    """max(0, x), elementwise, for a tensor of any shape (...,) -> (...,).

    Return a new tensor: the caller's ``x`` must not change.

    Hint: ``torch.where(condition, a, b)``.
    See @SEE@
    """
    raise NotImplementedError("TODO 8: relu")
''',
    ),
    Todo(
        9,
        "gelu",
        EMBED,
        "neurons-the-building-blocks",
        "llm_guide.activations:gelu",
        r'''
def gelu(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    """GELU(x) = x * Phi(x), elementwise, (...,) -> (...,).

    Phi is the standard normal's cumulative distribution, 0.5 * (1 + erf(x / sqrt(2))).
    approximate="tanh" is the formula GPT-2 was trained with:
    Phi(x) ~ 0.5 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3))).

    Hint: ``torch.erf`` and ``torch.tanh``; ``math.sqrt`` and ``math.pi``.
    See @SEE@
    """
    raise NotImplementedError("TODO 9: gelu")
''',
    ),
    # --------------------------------------------------------- 5. positional encoding
    Todo(
        10,
        "sinusoidal_positions",
        POS,
        "sinusoidal-positions",
        "llm_guide.embeddings:sinusoidal_positions",
        r'''
def sinusoidal_positions(T: int, C: int, base: float = 10000.0) -> torch.Tensor:
    """The (T, C) sinusoidal encoding of Vaswani et al. (2017), one row per position.

        PE[p, 2i]     = sin(p * w_i)
        PE[p, 2i + 1] = cos(p * w_i),    w_i = base ** (-2i / C),   i = 0 .. C/2 - 1

    Columns alternate sin, cos, sin, cos, ...; position p counts from 0. C is even.
    Return float32.

    Hint: ``torch.arange(0, C, 2) / C`` gives 2i / C; an outer product of positions
    and frequencies gives all the angles; ``pe[:, 0::2]`` selects the even columns.
    See @SEE@
    """
    raise NotImplementedError("TODO 10: sinusoidal_positions")
''',
    ),
    Todo(
        11,
        "TokenAndPositionEmbedding",
        POS,
        "adding-positions-to-token-embeddings",
        "llm_guide.embeddings:TokenAndPositionEmbedding",
        r'''
class TokenAndPositionEmbedding(nn.Module):
    """Token ids (B, T) -> vectors (B, T, C): a token's embedding plus its position's.

    ``self.wte = nn.Embedding(vocab_size, n_embd)`` holds one row per token id and
    ``self.wpe = nn.Embedding(block_size, n_embd)`` one row per position (GPT's learned
    positions). Keep these names: they are GPT-2's, and the check compares weights by name.

    Hint: ``self.wpe.weight[:T]`` are the first T position vectors; adding a (T, C)
    table to (B, T, C) broadcasts over the batch.
    See @SEE@
    """

    def __init__(self, vocab_size: int, block_size: int, n_embd: int) -> None:
        super().__init__()
        raise NotImplementedError("TODO 11: TokenAndPositionEmbedding.__init__")

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """idx: (B, T) integer ids, T <= block_size -> (B, T, C)."""
        raise NotImplementedError("TODO 11: TokenAndPositionEmbedding.forward")
''',
    ),
    # ------------------------------------------------------------------- 6. attention
    Todo(
        12,
        "softmax",
        ATTN,
        "embeddings#softmax-scores-into-probabilities",
        "llm_guide.attention:softmax",
        r'''
def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Scores into probabilities along ``dim``: exp(x_i) / sum_j exp(x_j). Same shape as x.

    It must not overflow for large scores (x = 1000), and a score of -inf must come
    out as a probability of exactly 0.

    Hint: subtracting the maximum along ``dim`` changes nothing mathematically;
    ``keepdim=True`` keeps the axis so the division broadcasts the right way.
    (Chapter 4 explains it; attention, in this chapter, is where it is used.)
    See @SEE@
    """
    raise NotImplementedError("TODO 12: softmax")
''',
    ),
    Todo(
        13,
        "causal_mask",
        ATTN,
        "the-causal-mask",
        "llm_guide.attention:causal_mask",
        r'''
def causal_mask(T: int, device: torch.device | str | None = None) -> torch.Tensor:
    """A (T, T) boolean matrix: entry [i, j] is True when position i may attend to j.

    Token i sees itself and every earlier token (j <= i), never a later one.
    True means "may attend", as in torch.nn.functional.scaled_dot_product_attention.

    Hint: ``torch.tril`` of a matrix of ones, with ``dtype=torch.bool``.
    See @SEE@
    """
    raise NotImplementedError("TODO 13: causal_mask")
''',
    ),
    Todo(
        14,
        "scaled_dot_product_attention",
        ATTN,
        "the-same-in-pytorch",
        "llm_guide.attention:scaled_dot_product_attention",
        r'''
def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q @ k^T / sqrt(d) [+ causal mask]) @ v.

    q, k: (..., T, d); v: (..., T, d_v). Returns (out (..., T, d_v), weights (..., T, T)),
    where each row of weights sums to 1. With causal=True, position i gives weight 0
    to every later position j > i.

    Hint: ``k.transpose(-2, -1)``; ``scores.masked_fill(~mask, float("-inf"))`` with
    your ``causal_mask`` (TODO 13), then your ``softmax`` (TODO 12) over the keys.
    See @SEE@
    """
    raise NotImplementedError("TODO 14: scaled_dot_product_attention")
''',
    ),
    Todo(
        15,
        "MultiHeadAttention",
        ATTN,
        "many-heads-split-attend-merge-project",
        "llm_guide.attention:MultiHeadAttention",
        r'''
class MultiHeadAttention(nn.Module):
    """Causal multi-head self-attention with GPT-2's layout: x (B, T, C) -> (B, T, C).

    ``self.c_attn = nn.Linear(n_embd, 3 * n_embd)`` makes q, k and v for all heads at
    once (in that order along the last axis); each of the n_head heads attends in its
    own hs = C // n_head slice; the heads' outputs are put side by side again and
    mixed by ``self.c_proj = nn.Linear(n_embd, n_embd)``. Keep these names.

    Hint: ``q.view(B, T, nh, hs).transpose(1, 2)`` gives (B, nh, T, hs): split the
    channels first, then move the head axis. Your ``scaled_dot_product_attention``
    (TODO 14) with causal=True, then undo the transpose before ``view(B, T, C)``.
    See @SEE@
    """

    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        raise NotImplementedError("TODO 15: MultiHeadAttention.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        raise NotImplementedError("TODO 15: MultiHeadAttention.forward")
''',
    ),
    # ---------------------------------------------------------- 7. transformer block
    Todo(
        16,
        "LayerNorm",
        BLOCK,
        "layernorm-from-scratch",
        "llm_guide.block:LayerNorm",
        r'''
class LayerNorm(nn.Module):
    """Normalise each position's vector to mean 0 and variance 1, then rescale: (..., C) -> (..., C).

        y = (x - mean) / sqrt(var + eps) * weight + bias

    mean and var are taken over the last axis (the C features of one token); var is
    the biased variance (divide by C, as nn.LayerNorm does). ``self.weight`` starts as
    ones and ``self.bias`` as zeros, both nn.Parameter of shape (C,).

    Hint: ``x.mean(dim=-1, keepdim=True)``; ``x.var`` divides by C - 1 unless told otherwise.
    See @SEE@
    """

    def __init__(self, ndim: int, eps: float = 1e-5) -> None:
        super().__init__()
        raise NotImplementedError("TODO 16: LayerNorm.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., C) -> (..., C)."""
        raise NotImplementedError("TODO 16: LayerNorm.forward")
''',
    ),
    Todo(
        17,
        "FeedForward",
        BLOCK,
        "the-feed-forward-network",
        "llm_guide.block:FeedForward",
        r'''
class FeedForward(nn.Module):
    """Expand each position to n_hidden features, apply GELU, contract back: (B, T, C) -> (B, T, C).

    ``self.c_fc = nn.Linear(n_embd, n_hidden)`` expands, ``self.c_proj =
    nn.Linear(n_hidden, n_embd)`` contracts. The GELU is your ``gelu`` (TODO 9) with
    approximate="tanh", the form GPT-2 was trained with.

    Hint: three calls, one inside the other.
    See @SEE@
    """

    def __init__(self, n_embd: int, n_hidden: int) -> None:
        super().__init__()
        raise NotImplementedError("TODO 17: FeedForward.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        raise NotImplementedError("TODO 17: FeedForward.forward")
''',
    ),
    Todo(
        18,
        "Block",
        BLOCK,
        "the-block-pre-norm-and-post-norm",
        "llm_guide.block:Block",
        r'''
class Block(nn.Module):
    """One pre-norm transformer block (GPT-2's): x (B, T, C) -> (B, T, C).

        x = x + attn(ln_1(x))
        x = x + mlp(ln_2(x))

    Parts, with these names: ``ln_1`` and ``ln_2`` (your LayerNorm, TODO 16), ``attn``
    (your MultiHeadAttention, TODO 15) and ``mlp`` (your FeedForward with n_hidden =
    4 * n_embd, TODO 17).

    Hint: the residual stream x is never normalised itself: each sub-layer reads a
    normalised copy and *adds* its output to the stream.
    See @SEE@
    """

    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        raise NotImplementedError("TODO 18: Block.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        raise NotImplementedError("TODO 18: Block.forward")
''',
    ),
    Todo(
        19,
        "GPT",
        BLOCK,
        "stacking-blocks-into-a-gpt",
        "llm_guide.model:GPT",
        r'''
class GPT(nn.Module):
    """A GPT built from your own parts: token ids (B, T) -> (logits (B, T, V), loss).

    Keep ``self.config = config`` and GPT-2's names:

        self.transformer = nn.ModuleDict(dict(
            embed=...,  # your TokenAndPositionEmbedding (TODO 11)
            h=...,      # nn.ModuleList of config.n_layer of your Blocks (TODO 18)
            ln_f=...,   # your LayerNorm (TODO 16), after the last block
        ))
        self.lm_head = nn.Linear(C, V, bias=False)   # its weight *is* embed.wte.weight

    forward returns the logits and, when ``targets`` (B, T) is given, the mean
    cross-entropy of predicting targets[b, t] from logits[b, t] (else None).

    Hint: tie the head by assigning the embedding's Parameter to ``self.lm_head.weight``.
    ``F.cross_entropy`` wants (N, V) logits and (N,) targets: flatten batch and time.
    Optional: GPT-2's initialisation (normal weights with std 0.02, zero biases)
    makes the first loss close to ln V.
    See @SEE@
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        raise NotImplementedError("TODO 19: GPT.__init__")

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx: (B, T) token ids -> (logits (B, T, V), loss or None)."""
        raise NotImplementedError("TODO 19: GPT.forward")
''',
    ),
    Todo(
        20,
        "next_token_distribution",
        BLOCK,
        "generating-text",
        "llm_guide.generate:next_token_distribution",
        r'''
def next_token_distribution(
    logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None
) -> torch.Tensor:
    """Turn logits (..., V) into the probabilities (..., V) sampling draws from.

    First divide by the temperature (T < 1 sharpens the distribution, T > 1 flattens
    it); then, with top_k, keep the k largest logits and give every other token
    probability 0; then softmax over the vocabulary (the last axis).

    Hint: ``torch.topk(logits, k, dim=-1).values[..., -1:]`` is the k-th largest;
    ``masked_fill`` the smaller ones with -inf.
    See @SEE@
    """
    raise NotImplementedError("TODO 20: next_token_distribution")
''',
    ),
    Todo(
        21,
        "generate",
        BLOCK,
        "generating-text",
        "llm_guide.generate:generate",
        r'''
@torch.no_grad()
def generate(
    model: nn.Module,
    idx: torch.Tensor,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    greedy: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Extend each sequence of idx (B, T) by max_new_tokens: returns (B, T + max_new_tokens).

    One token at a time: run the model on (at most) the last
    ``model.config.block_size`` tokens, take the logits of the last position, pick a
    token (the argmax if greedy, else a sample from your
    ``next_token_distribution``, TODO 20, drawn with ``generator``), append it.

    Hint: ``idx[:, -block_size:]``; ``torch.multinomial(probs, 1, generator=generator)``;
    ``torch.cat(..., dim=1)``. Put the model in eval mode while generating.
    See @SEE@
    """
    raise NotImplementedError("TODO 21: generate")
''',
    ),
    # --------------------------------------------------------------------- 8. weights
    Todo(
        22,
        "LoRALinear",
        WEIGHTS,
        "fine-tuning-and-lora",
        "llm_guide.weights:LoRALinear",
        r'''
class LoRALinear(nn.Module):
    """A frozen nn.Linear plus a trainable low-rank correction: x (..., in) -> (..., out).

        y = base(x) + (x @ A.T @ B.T) * (alpha / rank)

    ``self.base`` is the layer given, frozen (requires_grad False);
    ``self.lora_A`` (rank, in) starts random and ``self.lora_B`` (out, rank) starts at
    zero, both nn.Parameter, so before training the layer gives exactly what base gave.

    Hint: ``base.requires_grad_(False)``; ``torch.randn(rank, in) / math.sqrt(in)``.
    See @SEE@
    """

    def __init__(self, base: nn.Linear, rank: int, alpha: float = 1.0) -> None:
        super().__init__()
        raise NotImplementedError("TODO 22: LoRALinear.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., in) -> (..., out)."""
        raise NotImplementedError("TODO 22: LoRALinear.forward")
''',
    ),
    Todo(
        23,
        "count_trainable",
        WEIGHTS,
        "fine-tuning-and-lora",
        "llm_guide.weights:count_trainable",
        r'''
def count_trainable(model: nn.Module) -> int:
    """How many numbers the optimizer will change: parameters with requires_grad True.

    A tied weight (GPT's lm_head and token embedding share one matrix) counts once,
    and frozen parameters (a LoRA base layer) don't count.

    Hint: ``model.parameters()`` yields a shared tensor once; ``state_dict()`` lists it
    under every name it has. ``p.numel()`` is a tensor's number of elements.
    See @SEE@
    """
    raise NotImplementedError("TODO 23: count_trainable")
''',
    ),
    # ------------------------------------------------------------ 9. gradient descent
    Todo(
        24,
        "sgd_step",
        GD,
        "better-steps-momentum-and-adamw",
        "llm_guide.train:sgd_step",
        r'''
@torch.no_grad()
def sgd_step(
    param: torch.Tensor, grad: torch.Tensor, velocity: torch.Tensor, lr: float = 0.1, momentum: float = 0.9
) -> None:
    """One step of gradient descent with momentum, in place, as torch.optim.SGD does it:

        velocity = momentum * velocity + grad
        param    = param - lr * velocity

    ``velocity`` starts as zeros shaped like ``param``; all three have the same shape.

    Hint: in-place methods end in an underscore: ``mul_``, ``add_``, ``sub_``.
    See @SEE@
    """
    raise NotImplementedError("TODO 24: sgd_step")
''',
    ),
    Todo(
        25,
        "adamw_step",
        GD,
        "better-steps-momentum-and-adamw",
        "llm_guide.train:adamw_step",
        r'''
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
    """One AdamW update of ``param``, in place; ``m`` and ``v`` (shaped like param) are its state.

        param = param * (1 - lr * weight_decay)          # decoupled weight decay
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        m_hat = m / (1 - beta1**t);  v_hat = v / (1 - beta2**t)
        param = param - lr * m_hat / (sqrt(v_hat) + eps)

    ``t`` counts updates from 1. The result must equal torch.optim.AdamW's.

    Hint: update ``param``, ``m`` and ``v`` in place (``mul_``, ``add_``,
    ``addcmul_``, ``sub_``): the caller keeps those tensors for the next step.
    See @SEE@
    """
    raise NotImplementedError("TODO 25: adamw_step")
''',
    ),
    Todo(
        26,
        "lr_at",
        GD,
        "warm-up-and-cosine-decay",
        "llm_guide.train:lr_at",
        r'''
def lr_at(step: int, config: TrainConfig) -> float:
    """The learning rate of step ``step`` (counted from 0): linear warm-up, then cosine decay.

    For step < config.warmup_steps: config.lr * (step + 1) / warmup_steps, so the first
    step already moves and step warmup_steps - 1 reaches config.lr. After that a
    half cosine from config.lr down to config.final_lr, reached exactly at the last
    step, config.steps - 1, and kept after it.

    Hint: progress = (step - warmup) / (steps - warmup - 1), capped at 1;
    cosine = 0.5 * (1 + cos(pi * progress)).
    See @SEE@
    """
    raise NotImplementedError("TODO 26: lr_at")
''',
    ),
    Todo(
        27,
        "train_step",
        GD,
        "the-training-loop",
        "llm_guide.train:train_step",
        r'''
def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    grad_clip: float | None = 1.0,
) -> tuple[float, float]:
    """One update of ``model`` on the batch (x, y), both (B, T). Returns (loss, gradient norm).

    Set every parameter group's learning rate to ``lr``; compute the loss with
    ``model(x, y)``; clear the old gradients and backpropagate; clip the gradient's
    norm to ``grad_clip`` (None: don't clip); let the optimizer step. Return the loss
    and the norm *before* clipping, as Python floats.

    Hint: ``optimizer.param_groups``; ``optimizer.zero_grad()``;
    ``torch.nn.utils.clip_grad_norm_`` returns the norm before clipping.
    See @SEE@
    """
    raise NotImplementedError("TODO 27: train_step")
''',
    ),
    # -------------------------------------------------------- 10. in-context learning
    Todo(
        28,
        "induction_targets",
        ICL,
        "finding-the-heads",
        "llm_guide.icl:induction_targets",
        r'''
def induction_targets(x: torch.Tensor) -> torch.Tensor:
    """Where an induction head should look: x (B, T) token ids -> (B, T, T) bool.

    Entry [b, t, s] is True when s <= t and x[b, s - 1] == x[b, t] (s >= 1): key s is
    "the token after an earlier occurrence of the current token".

    Hint: ``x[:, :, None] == x[:, None, :]`` compares every pair; shift it one key to
    the right; your ``causal_mask`` (TODO 13) keeps s <= t.
    See @SEE@
    """
    raise NotImplementedError("TODO 28: induction_targets")
''',
    ),
    Todo(
        29,
        "previous_token_scores",
        ICL,
        "finding-the-heads",
        "llm_guide.icl:previous_token_scores",
        r'''
def previous_token_scores(attn: list[torch.Tensor]) -> torch.Tensor:
    """Each head's mean attention on the token just before the query.

    ``attn`` has one (B, nh, T, T) tensor of attention weights per layer (row t of a
    head: how much query t draws on each key). Returns (n_layer, nh): the mean over
    batch and queries t >= 1 of the weight on key t - 1.

    Hint: ``w.diagonal(offset=-1, dim1=-2, dim2=-1)`` is (B, nh, T - 1).
    See @SEE@
    """
    raise NotImplementedError("TODO 29: previous_token_scores")
''',
    ),
    Todo(
        30,
        "induction_scores",
        ICL,
        "finding-the-heads",
        "llm_guide.icl:induction_scores",
        r'''
def induction_scores(attn: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Each head's mean attention on its induction targets: (n_layer, nh).

    ``attn`` as in ``previous_token_scores``; x (B, T) the tokens. For each query that
    has at least one induction target (your ``induction_targets``, TODO 28), add up
    the weight it puts on its targets; average over those queries only.

    Hint: multiply the weights by the (B, 1, T, T) target mask and sum over keys.
    See @SEE@
    """
    raise NotImplementedError("TODO 30: induction_scores")
''',
    ),
    # -------------------------------------------------------- 11. putting it together
    Todo(
        31,
        "rhyme_gpt",
        CAPSTONE,
        "gradient-descent#a-word-level-model-of-the-nursery-rhyme",
        "llm_guide.workbook.rhyme:rhyme_gpt",
        r'''
#: The start words the samples continue.
STARTS = ("mary", "the", "it", "little", "lamb")


def rhyme_gpt(steps: int = 150, seed: int = 0) -> tuple[nn.Module, list[float], dict[str, str]]:
    """Your GPT, from your own parts, trained on the nursery rhyme; then it continues STARTS.

    1. The text: ``" ".join(line + " <END>" for line in corpora.mary_lamb_sentences())``;
       your ``split_words`` and ``Vocabulary`` (TODOs 1 and 2, specials=["<END>"]) turn
       it into a 1-D tensor of token ids.
    2. ``torch.manual_seed(seed)``, then your ``GPT`` (TODO 19) with
       ``GPTConfig(vocab_size=len(vocab), block_size=6, n_layer=2, n_head=4, n_embd=32)``.
    3. ``config = TrainConfig(steps=steps, lr=1e-2, warmup_steps=20, progress=False)``,
       ``optimizer = make_optimizer(model, config)``, and a ``torch.Generator`` seeded
       with ``seed``; then ``steps`` times: your ``get_batch`` (TODO 7, 16 rows), and
       your ``train_step`` (TODO 27) at the learning rate of your ``lr_at`` (TODO 26).
    4. For each start word, your ``generate`` (TODO 21), greedy, 8 new tokens, decoded
       and joined with spaces: ``{"mary": "mary had a little lamb <END> ...", ...}``.

    Returns (model, the loss of every step, the samples). It trains for a few seconds.
    Hint: chapter 9 trains the package's GPT on this rhyme the same way.
    See @SEE@
    """
    raise NotImplementedError("TODO 31: rhyme_gpt")
''',
        time_limit=120.0,
    ),
]

TODOS: tuple[Todo, ...] = tuple(_TODOS)

assert [t.number for t in TODOS] == list(range(1, len(TODOS) + 1)), "TODOs are numbered 1, 2, 3, ... in order"
assert len({t.name for t in TODOS}) == len(TODOS), "TODO names are unique"


def find_todo(key: str | int) -> Todo:
    """A TODO by name (``"causal_mask"``) or number (``13``); ValueError naming the choices otherwise."""
    for todo in TODOS:
        if key == todo.name or key == todo.number or (isinstance(key, str) and key.strip() == str(todo.number)):
            return todo
    names = ", ".join(t.name for t in TODOS)
    raise ValueError(f"there is no TODO {key!r}; the TODOs are {names} (or their numbers 1 to {len(TODOS)})")


def find_chapter(key: str | int) -> Chapter:
    """A chapter by slug (``"attention"``), number (``6``) or file stem (``"06_attention"``)."""
    for chapter in CHAPTERS:
        text = str(key).strip().removesuffix(".py")
        if text in (chapter.slug, chapter.stem, str(chapter.number), f"{chapter.number:02d}"):
            return chapter
    slugs = ", ".join(c.slug for c in CHAPTERS)
    raise ValueError(f"there is no chapter {key!r} in the workbook; choose one of {slugs} (or its number)")
