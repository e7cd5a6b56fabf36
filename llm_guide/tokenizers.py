"""Chapter 2: tokenizers, the step from text to the integers a model reads.

Three ways to cut text into tokens, from simplest to what GPT models use:

* ``CharTokenizer``: one token per character. Tiny vocabulary, long sequences.
* ``WordTokenizer``: one token per word or punctuation mark. Short sequences,
  but a huge vocabulary that still misses words it never saw.
* ``BPETokenizer``: byte-level byte-pair encoding. Start from the 256 possible
  bytes, so *any* text can be encoded, then learn merges of frequent neighbours
  so common words become single tokens. This is how GPT-2, GPT-4 and most
  modern models tokenize, and ``BPETokenizer.from_tiktoken`` loads OpenAI's
  cl100k_base merges and reproduces ``tiktoken``'s ids exactly, on any string
  (split patterns are compiled with tiktoken's Unicode version, 16.0: see
  ``compile_split_pattern``).
"""

from __future__ import annotations

import heapq
import json
import operator
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

# The GPT split patterns use Unicode classes such as \p{L} (any letter), which the
# standard library's `re` does not understand; `regex` (a tiktoken dependency) does.
import regex

from .checks import check_ids, check_num_merges, check_special_tokens, check_str
from .vocab import EmptyCorpusError, UnknownIdError, Vocabulary, split_chars, split_words

__all__ = [
    "CharTokenizer",
    "WordTokenizer",
    "BPETokenizer",
    "Merge",
    "TokenizerStats",
    "GPT2_SPLIT_PATTERN",
    "GPT4_SPLIT_PATTERN",
    "UNICODE_16_GAPS",
    "compile_split_pattern",
    "get_pair_counts",
    "merge",
    "compare_tokenizers",
    "join_words",
    "token_pieces",
]


# --8<-- [start:char_tokenizer]
class CharTokenizer:
    """One token per character, with a vocabulary learned from a corpus.

    Special tokens (such as ``"<END>"``) written in the text are kept whole
    instead of being spelled out letter by letter.
    """

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        # Longest first, so that a special token that contains another wins.
        specials = sorted(vocab.specials, key=len, reverse=True)
        self._special_re = re.compile("(" + "|".join(map(re.escape, specials)) + ")") if specials else None

    @classmethod
    def from_text(cls, text: str, specials: Sequence[str] = ()) -> "CharTokenizer":
        """Learn the vocabulary: every distinct character of ``text``, plus ``specials``."""
        return cls(Vocabulary.from_text(check_str(text, "text"), "char", specials))

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        """Text to ids. A character the vocabulary lacks raises ``UnknownSymbolError``."""
        check_str(text, "text")
        if self._special_re is None:
            return self.vocab.encode(split_chars(text))
        symbols: list[str] = []
        # re.split with a capturing group keeps the specials at the odd positions.
        for i, part in enumerate(self._special_re.split(text)):
            symbols.extend([part] if i % 2 else split_chars(part))
        return self.vocab.encode(symbols)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids to text: the characters, glued back together exactly."""
        return "".join(self.vocab.decode(check_ids(ids)))

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"


# --8<-- [end:char_tokenizer]


# --8<-- [start:word_tokenizer]
# Punctuation that hugs the word before it ("cat." not "cat .") or after it ("(cat").
_NO_SPACE_BEFORE = set(".,;:!?)]}%'")
_NO_SPACE_AFTER = set("([{$'")


def join_words(words: Sequence[str]) -> str:
    """Glue words back into a sentence: spaces between words, none before closing
    punctuation (``. , ; : ! ? ) ] } %``) or after opening brackets, and none
    around an apostrophe, so ``["don", "'", "t"]`` becomes ``"don't"``.

    Splitting into words threw the original spacing away, so this is a readable
    guess, not an exact inverse: ``"a  b"`` comes back as ``"a b"``.
    """
    out: list[str] = []
    for i, word in enumerate(words):
        glued = i == 0 or word in _NO_SPACE_BEFORE or words[i - 1] in _NO_SPACE_AFTER
        out.append(word if glued else " " + word)
    return "".join(out)


class WordTokenizer:
    """One token per word or punctuation mark (see ``llm_guide.vocab.split_words``)."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab

    @classmethod
    def from_text(cls, text: str, specials: Sequence[str] = ()) -> "WordTokenizer":
        """Learn the vocabulary: every distinct word of ``text``, plus ``specials``."""
        return cls(Vocabulary.from_text(check_str(text, "text"), "word", specials))

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        """Text to ids. A word the vocabulary lacks raises ``UnknownSymbolError``."""
        return self.vocab.encode(split_words(check_str(text, "text")))

    def decode(self, ids: Iterable[int]) -> str:
        """Ids to text, joined by ``join_words`` (the original spacing is lost)."""
        return join_words(self.vocab.decode(check_ids(ids)))

    def __repr__(self) -> str:
        return f"WordTokenizer(vocab_size={self.vocab_size})"


# --8<-- [end:word_tokenizer]


# --8<-- [start:split_patterns]
# Before BPE sees the text, a regular expression cuts it into chunks: words with
# their leading space, runs of digits, runs of punctuation, runs of whitespace.
# Merges never cross a chunk boundary, so "dog." and "dog!" share the token " dog"
# instead of each spending a vocabulary slot on "dog." and "dog!".
GPT2_SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

# GPT-4's cl100k_base, exactly as tiktoken ships it: case-insensitive
# contractions, numbers in groups of at most three digits, newlines kept apart.
GPT4_SPLIT_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
# --8<-- [end:split_patterns]


# --8<-- [start:unicode_version]
# Which characters are letters (\p{L}) and numbers (\p{N}) depends on the Unicode
# version, and each new version assigns more. tiktoken's Rust regex engine has
# Unicode 16.0's tables (tiktoken 0.14 is built with regex-syntax 0.8.11); the
# `regex` module follows newer versions. Left alone, `regex` calls U+32780 (a CJK
# ideograph of Unicode 17) a letter where tiktoken sees an unassigned code point,
# so "a\U00032780's" is cut into other chunks and gets other ids. Below are the
# gaps of Unicode 16.0 (runs of code points it leaves unassigned) in which later
# versions put letters or digits: taking them out of \p{L} and \p{N} gives back
# Unicode 16.0's classes. Whole gaps are listed, so a future version's additions
# inside them stay out as well.
# (Computed from regex-syntax's Unicode 16 tables against the `regex` module's;
# tests/test_tokenizers.py checks every code point against tiktoken.)
UNICODE_16_GAPS = (
    r"\u0557-\u0558\u058B-\u058C\u088F\u0C5B-\u0C5C\u0CD7-\u0CDC\u208F\u209D-\u209F"
    r"\uA7CE-\uA7CF\uA7D2\uA7D4\uA7DD-\uA7F1\uAB6C-\uAB6F"
    r"\U000107BB-\U000107FF\U00010940-\U0001097F\U00010EC5-\U00010EFB"
    r"\U00011B0A-\U00011BBF\U00011DAA-\U00011EDF\U0001246F\U00012475-\U0001247F"
    r"\U00012544-\U00012F8F\U00016E9B-\U00016EFF\U00016FF2-\U00016FFF"
    r"\U000187F8-\U000187FF\U00018CD6-\U00018CFE\U00018D09-\U0001AFEF"
    r"\U0001B123-\U0001B131\U0001B168-\U0001B16F\U0001D6A6-\U0001D6A7"
    r"\U0001DF1F-\U0001DF24\U0001DF2B-\U0001DFFF\U0001E600-\U0001E7DF"
    r"\U0002B73A-\U0002B73F\U0002B81E-\U0002B81F\U0002CEA2-\U0002CEAF"
    r"\U000323B0-\U000E0000"  # CJK extension J (Unicode 17), later ideographs, planes 4 to 13
)


def compile_split_pattern(pattern: str) -> regex.Pattern:
    r"""Compile a split pattern so that it classifies characters as tiktoken does.

    ``\p{L}`` and ``\p{N}`` become ``[\p{L}--[gaps]]`` and ``[\p{N}--[gaps]]``
    (``UNICODE_16_GAPS``): set differences, which `regex` supports in its VERSION1
    mode, and which work inside other classes too (``[^\r\n\p{L}\p{N}]``). VERSION1
    would also switch ``(?i:...)`` to full case folding (``(?i:ss)`` matching "ß");
    ``(?-f)`` keeps the simple case folding that Rust's regex uses. ``\s`` needs no
    change: both engines use the White_Space property, unchanged since Unicode 6.3.
    Only these two classes, written as ``\p{L}`` and ``\p{N}``, are rewritten: the
    ones GPT split patterns use. In VERSION1, ``--``, ``&&``, ``||``, ``~~`` and a
    ``[`` inside a class are set operations; GPT split patterns contain none.
    """
    # `regex` tries the ranges of a set one by one. Intersecting them with one range
    # that spans them all lets ASCII (and everything else below U+0557) skip the
    # list, which keeps English text splitting as fast as with the plain pattern.
    gaps = rf"[\u0557-\U000E0000]&&[{UNICODE_16_GAPS}]"
    pinned = pattern.replace(r"\p{L}", rf"[\p{{L}}--[{gaps}]]").replace(r"\p{N}", rf"[\p{{N}}--[{gaps}]]")
    return regex.compile("(?-f)" + pinned, regex.VERSION1)


# --8<-- [end:unicode_version]


# --8<-- [start:get_pair_counts]
def get_pair_counts(
    ids: Sequence[int], counts: dict[tuple[int, int], int] | None = None, weight: int = 1
) -> dict[tuple[int, int], int]:
    """Count each pair of neighbours in ``ids``: [1, 2, 3, 1, 2] -> {(1, 2): 2, (2, 3): 1, (3, 1): 1}.

    ``counts`` lets several sequences add to one tally; ``weight`` counts a
    sequence that occurs ``weight`` times in the text (a negative weight takes
    it back out, which is how training updates the tally cheaply).
    """
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + weight
    return counts


# --8<-- [end:get_pair_counts]


# --8<-- [start:merge]
def merge(ids: Sequence[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of ``pair``, scanning left to right, by ``new_id``:
    merge([1, 2, 3, 1, 2], (1, 2), 4) -> [4, 3, 4]."""
    out: list[int] = []
    i = 0
    while i < len(ids):
        if ids[i] == pair[0] and i + 1 < len(ids) and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


# --8<-- [end:merge]


# --8<-- [start:merge_record]
@dataclass(frozen=True)
class Merge:
    """One step of BPE training: ``pair`` occurred ``count`` times and became ``new_id``."""

    pair: tuple[int, int]
    new_id: int
    count: int
    token: bytes  # the bytes the new token stands for

    def __str__(self) -> str:
        text = self.token.decode("utf-8", errors="replace")
        return f"{self.pair[0]:>4} + {self.pair[1]:>4} -> {self.new_id:>4}  {text!r:<16} ({self.count} times)"


# --8<-- [end:merge_record]


# --8<-- [start:tokenizer_stats]
class TokenizerStats(NamedTuple):
    """One row of the chapter's comparison table."""

    name: str
    vocab_size: int
    n_tokens: int
    chars_per_token: float


# --8<-- [end:tokenizer_stats]


# --8<-- [start:bpe_helpers]
_NEVER = float("inf")  # the rank of a pair that was never merged
SpecialPolicy = Literal["all", "none", "none_raise"] | AbstractSet[str]

# A surrogate (U+D800 to U+DFFF) is half of a UTF-16 pair, not a character.
_SURROGATE = regex.compile(r"[\ud800-\udfff]")


def _replace_surrogates(text: str) -> str:
    """Repair a ``str`` with surrogates as tiktoken does: a valid pair becomes the
    character it encodes, a lone surrogate becomes U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _alternation(names: Sequence[str]) -> regex.Pattern:
    """A regex matching any of ``names`` literally, captured so ``split`` keeps them."""
    return regex.compile("(" + "|".join(map(regex.escape, names)) + ")")


# --8<-- [end:bpe_helpers]


# --8<-- [start:bpe_class]
# --8<-- [start:bpe_class_line]
class BPETokenizer:
    # --8<-- [end:bpe_class_line]
    """Byte-level byte-pair encoding.

    A tokenizer is four things, all visible as attributes:

    * ``byte_ids``: the id of each of the 256 bytes (``byte_ids[b]``). A trained
      tokenizer uses ids 0-255 for bytes 0-255; cl100k_base shuffles them; SmolLM2's
      (chapter 13) has no token (None) for 21 bytes, 13 of which UTF-8 never uses.
    * ``merges``: ``{(left_id, right_id): new_id}``, in the order they were learned.
      A smaller ``new_id`` means an earlier merge, which has priority when encoding.
    * ``pattern``: the regex that pre-splits text into chunks (``None``: no split).
    * ``special_tokens``: ``{"<|endoftext|>": id, ...}``, strings that become one
      id and are never split or merged.

    ``vocab`` (id -> bytes) is derived from these; ``history`` holds the
    ``Merge`` records of training (empty for a loaded tokenizer).
    """

    # --8<-- [end:bpe_class]

    def __init__(
        self,
        merges: Mapping[tuple[int, int], int] | None = None,
        pattern: str | None = GPT4_SPLIT_PATTERN,
        special_tokens: Mapping[str, int] | None = None,
        byte_ids: Sequence[int | None] | None = None,
    ) -> None:
        byte_ids = range(256) if byte_ids is None else byte_ids
        self.byte_ids: tuple[int | None, ...] = tuple(None if i is None else operator.index(i) for i in byte_ids)
        present = [i for i in self.byte_ids if i is not None]
        self._no_token = frozenset(b for b, i in enumerate(self.byte_ids) if i is None)
        if len(self.byte_ids) != 256 or len(set(present)) != len(present):
            raise ValueError(
                f"byte_ids must be 256 ids, one per byte, distinct (None for a byte with no token); "
                f"got {len(self.byte_ids)} with {len(set(present))} distinct ids"
            )
        # Sorting by new id replays the merges in the order they were learned.
        merges = sorted((merges or {}).items(), key=lambda item: item[1])
        self.merges: dict[tuple[int, int], int] = dict(merges)
        self.pattern = pattern
        self.special_tokens: dict[str, int] = dict(special_tokens or {})
        self.history: list[Merge] = []
        self.chat_template: str | None = None  # a chat model's conversation format (chapter 13)

        self.vocab: dict[int, bytes] = {i: bytes([b]) for b, i in enumerate(self.byte_ids) if i is not None}
        for (left, right), new_id in self.merges.items():
            if left not in self.vocab or right not in self.vocab or new_id in self.vocab:
                raise ValueError(
                    f"merge ({left}, {right}) -> {new_id} is inconsistent: both parts must be "
                    f"existing tokens made by earlier merges, and {new_id} must be a new id"
                )
            self.vocab[new_id] = self.vocab[left] + self.vocab[right]
        for name, i in self.special_tokens.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"special token names must be non-empty strings, got {name!r}")
            if i in self.vocab or list(self.special_tokens.values()).count(i) > 1:
                raise ValueError(f"special token {name!r} has id {i}, which is already taken")
        self.inverse_special_tokens = {i: name for name, i in self.special_tokens.items()}
        self._vocab_size = max(max(self.vocab), max(self.special_tokens.values(), default=-1)) + 1

        self._split = compile_split_pattern(pattern) if pattern is not None else None
        # Longest first, so that a special token that contains another wins.
        names = sorted(self.special_tokens, key=len, reverse=True)
        self._special_split = _alternation(names) if names else None
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        """One more than the largest id (as ``tiktoken``'s ``n_vocab``); ids in
        between that are no token, as in cl100k_base, cannot be decoded."""
        return self._vocab_size

    def __repr__(self) -> str:
        return (
            f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)}, "
            f"special_tokens={list(self.special_tokens)})"
        )

    # ------------------------------------------------------------------ training

    # --8<-- [start:train]
    @classmethod
    def train(
        cls,
        text: str,
        vocab_size: int | None = None,
        *,
        num_merges: int | None = None,
        special_tokens: Sequence[str] = ("<|endoftext|>",),
        pattern: str | None = GPT4_SPLIT_PATTERN,
        verbose: bool = False,
    ) -> "BPETokenizer":
        """Learn merges from ``text`` until the vocabulary has ``vocab_size`` tokens
        (256 bytes + merges + special tokens), or for exactly ``num_merges`` merges.

        Each step merges the most frequent pair of neighbouring tokens. Ties go to
        the smallest pair, comparing ids, so training is deterministic. Training
        stops early if no pair is left (every chunk has become a single token).
        The steps are recorded in ``history`` and printed if ``verbose``.
        """
        check_str(text, "text")
        special_tokens = check_special_tokens(special_tokens)
        num_merges = check_num_merges(vocab_size, num_merges, len(special_tokens))

        # 1. Chunks. Special tokens are cut out first so no merge learns from them,
        # then the pattern splits the rest. Most chunks repeat (" the" thousands of
        # times), so we train on the distinct chunks, each weighted by its count.
        pieces = regex.split("|".join(map(regex.escape, special_tokens)), text) if special_tokens else [text]
        split = compile_split_pattern(pattern).findall if pattern is not None else lambda piece: [piece]
        chunk_counts = Counter(chunk for piece in pieces for chunk in split(piece) if chunk)
        if not chunk_counts:
            raise EmptyCorpusError(f"cannot train BPE on an empty text (got {text[:40]!r}); pass some text")
        chunks = [list(chunk.encode("utf-8")) for chunk in chunk_counts]
        freqs = list(chunk_counts.values())

        # 2. Count every pair once, and remember which chunks contain it.
        counts: dict[tuple[int, int], int] = {}
        chunks_with: defaultdict[tuple[int, int], set[int]] = defaultdict(set)
        for k, ids in enumerate(chunks):
            get_pair_counts(ids, counts, freqs[k])
            for pair in zip(ids, ids[1:]):
                chunks_with[pair].add(k)

        # 3. Merge. Only the chunks containing the chosen pair change, so only their
        # pairs are re-counted: take such a chunk's pairs out, merge, put them back.
        merges: dict[tuple[int, int], int] = {}
        vocab = {i: bytes([i]) for i in range(256)}
        history: list[Merge] = []
        for new_id in range(256, 256 + num_merges):
            if not counts:
                break
            pair = min(counts, key=lambda p: (-counts[p], p))  # most frequent, then smallest
            count = counts[pair]
            for k in chunks_with.pop(pair):
                get_pair_counts(chunks[k], counts, -freqs[k])
                chunks[k] = merge(chunks[k], pair, new_id)
                get_pair_counts(chunks[k], counts, freqs[k])
                for p in zip(chunks[k], chunks[k][1:]):
                    chunks_with[p].add(k)
            counts = {p: n for p, n in counts.items() if n > 0}  # forget pairs that vanished
            merges[pair] = new_id
            vocab[new_id] = vocab[pair[0]] + vocab[pair[1]]
            history.append(Merge(pair, new_id, count, vocab[new_id]))
            if verbose:
                print(f"merge {len(history):>4}/{num_merges}: {history[-1]}")

        first_special = 256 + len(merges)
        tokenizer = cls(merges, pattern, {s: first_special + k for k, s in enumerate(special_tokens)})
        tokenizer.history = history
        return tokenizer

    # --8<-- [end:train]

    # ------------------------------------------------------------------ encoding

    # --8<-- [start:encode_chunk]
    def encode_chunk_simple(self, chunk: bytes) -> list[int]:
        """BPE on one chunk: start from its bytes and keep applying the earliest
        learned merge (smallest new id) among the neighbouring pairs present.

        Every round rescans the whole chunk, so a chunk of n bytes can take n rounds
        of n steps: fine for a word, slow for a run of 3,000 CJK characters with no
        space to cut at. ``encode_chunk`` gives the same ids in O(n log n)."""
        ids = [self.byte_ids[b] for b in chunk]
        while len(ids) >= 2:
            # Pairs that were never merged rank after every real merge.
            pair = min(zip(ids, ids[1:]), key=lambda p: self.merges.get(p, _NEVER))
            if pair not in self.merges:
                break  # no pair left that training ever merged
            ids = merge(ids, pair, self.merges[pair])
        return ids

    # --8<-- [end:encode_chunk]

    # --8<-- [start:encode_chunk_fast]
    def encode_chunk(self, chunk: bytes) -> list[int]:
        """The same merges as ``encode_chunk_simple``, in the same order, without rescanning.

        A heap holds every mergeable pair of neighbours as ``(rank, position)``, so
        the earliest merge, and among equal ones the leftmost, is always on top. The
        parts live in a doubly linked list over their start positions, so a merge
        is a constant-time splice, and it creates at most two new pairs (with the
        left and right neighbours) to push. Entries whose pair has since been merged
        away are left in the heap and skipped when they surface. That is O(n log n)
        for n bytes instead of O(n^2).
        """
        ranks = self.merges  # (left id, right id) -> new id; a smaller id merges first
        ids = [self.byte_ids[b] for b in chunk]
        pair_ranks = map(ranks.get, zip(ids, ids[1:]))  # None: a pair never merged
        heap = [(rank, i) for i, rank in enumerate(pair_ranks) if rank is not None]
        if not heap:
            return ids  # nothing to merge: the common case for short chunks
        heapq.heapify(heap)
        n = len(ids)
        parts: list[int | None] = list(ids)  # parts[i]: the token starting at byte i, None inside one
        after = list(range(1, n + 1))  # after[i]: start of the next part (n: none)
        before = list(range(-1, n - 1))  # before[i]: start of the previous part (-1: none)
        while heap:
            rank, i = heapq.heappop(heap)
            left, j = parts[i], after[i]
            # Stale entry: the part at i was merged into its left neighbour, or the pair
            # starting at i is no longer the one pushed (a merge id belongs to one pair).
            if left is None or j == n or ranks.get((left, parts[j])) != rank:
                continue
            parts[i], parts[j] = rank, None  # the pair becomes one part, at i
            k = after[i] = after[j]
            if k < n:
                before[k] = i
                if (new := ranks.get((rank, parts[k]))) is not None:
                    heapq.heappush(heap, (new, i))
            if (h := before[i]) >= 0 and (new := ranks.get((parts[h], rank))) is not None:
                heapq.heappush(heap, (new, h))
        return [part for part in parts if part is not None]

    # --8<-- [end:encode_chunk_fast]

    # --8<-- [start:encode]
    def encode_ordinary(self, text: str) -> list[int]:
        """Encode ``text``, treating special-token strings as ordinary text.

        A ``str`` may hold surrogates, which are not characters and have no UTF-8.
        As in tiktoken, a surrogate pair becomes the character it encodes and a lone
        surrogate becomes U+FFFD "�", so the ids still match tiktoken's (and
        decoding gives back the repaired text)."""
        check_str(text, "text")
        if _SURROGATE.search(text):
            text = _replace_surrogates(text)
        chunks = self._split.findall(text) if self._split is not None else [text]
        ids: list[int] = []
        cache = self._cache  # the same chunks recur constantly (" the", ".\n"): remember them
        for chunk in chunks:
            chunk_ids = cache.get(chunk)
            if chunk_ids is None:
                if len(cache) >= 100_000:
                    cache.clear()  # a bound on memory; the common chunks come back at once
                data = chunk.encode("utf-8")
                if self._no_token and not self._no_token.isdisjoint(data):
                    # a vocabulary built from text may lack bytes that text rarely holds
                    bad = next(c for c in chunk if not self._no_token.isdisjoint(c.encode("utf-8")))
                    raise ValueError(f"{bad!r} (U+{ord(bad):04X}) needs a byte this tokenizer has no token for")
                chunk_ids = cache[chunk] = self.encode_chunk(data)
            ids.extend(chunk_ids)
        return ids

    def encode(self, text: str, allowed_special: SpecialPolicy = "none_raise") -> list[int]:
        """Text to ids. ``allowed_special`` says which special tokens written in the
        text become their single id: ``"all"``, a set of names, ``"none"`` (encode
        them as ordinary text) or ``"none_raise"`` (the default: refuse, since a
        special token in user text is usually a mistake or an injection)."""
        check_str(text, "text")
        if allowed_special == "all":
            allowed = set(self.special_tokens)
        elif allowed_special in ("none", "none_raise"):
            allowed = set()
            if allowed_special == "none_raise" and self._special_split is not None:
                found = self._special_split.search(text)
                if found:
                    raise ValueError(
                        f"the text contains the special token {found.group()!r}; pass "
                        f"allowed_special='all' (or a set of names) to encode it as its id, "
                        f"or allowed_special='none' to encode it as ordinary text"
                    )
        elif isinstance(allowed_special, AbstractSet):
            allowed = set(allowed_special)
            unknown = allowed - set(self.special_tokens)
            if unknown:
                raise ValueError(
                    f"unknown special tokens {sorted(unknown)}; this tokenizer has {list(self.special_tokens)}"
                )
        else:
            raise TypeError(f"allowed_special must be 'all', 'none', 'none_raise' or a set, not {allowed_special!r}")
        if not allowed:
            return self.encode_ordinary(text)

        parts = _alternation(sorted(allowed, key=len, reverse=True)).split(text)
        ids: list[int] = []
        for i, part in enumerate(parts):
            # The capturing group puts the special tokens at the odd positions.
            ids.extend([self.special_tokens[part]] if i % 2 else self.encode_ordinary(part))
        return ids

    # --8<-- [end:encode]

    # --8<-- [start:decode]
    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """Ids to the raw bytes they stand for."""
        out = []
        for i in check_ids(ids):
            if i in self.vocab:
                out.append(self.vocab[i])
            elif i in self.inverse_special_tokens:
                out.append(self.inverse_special_tokens[i].encode("utf-8"))
            else:
                unused = self.vocab_size - len(self.vocab) - len(self.special_tokens)
                raise UnknownIdError(
                    f"id {i} is not a token of this tokenizer: vocab_size is {self.vocab_size}, "
                    f"so valid ids are 0 to {self.vocab_size - 1}"
                    + (f", except {unused} unused ids in between" if unused else "")
                )
        return b"".join(out)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids to text. Ids from ``encode`` always give back the exact text (with
        surrogates repaired, see ``encode_ordinary``). An
        arbitrary id sequence may cut a multi-byte character in half (an emoji is
        4 bytes, often 2 or more tokens); such invalid UTF-8 becomes U+FFFD "�"
        rather than an error, so a model's raw output can always be printed."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    # --8<-- [end:decode]

    # ------------------------------------------------------------------ files

    # --8<-- [start:save_load]
    def save(self, path: str | Path) -> None:
        """Write the tokenizer as readable JSON: merges as ``[left, right, new]`` ids."""
        data = {
            "format": "llm_guide.BPETokenizer",
            "version": 1,
            "pattern": self.pattern,
            "special_tokens": self.special_tokens,
            "byte_ids": list(self.byte_ids),
            "merges": [[left, right, new_id] for (left, right), new_id in self.merges.items()],
        }
        Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "BPETokenizer":
        """Read a tokenizer written by ``save``."""
        not_ours = f"{path} is not a tokenizer saved by BPETokenizer.save"
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{not_ours} (it is not JSON text: {error})") from None
        if not isinstance(data, dict) or data.get("format") != "llm_guide.BPETokenizer":
            raise ValueError(not_ours)
        merges = {(left, right): new_id for left, right, new_id in data["merges"]}
        return cls(merges, data["pattern"], data["special_tokens"], data["byte_ids"])

    # --8<-- [end:save_load]

    # ------------------------------------------------------------------ production tokenizers

    # --8<-- [start:from_ranks]
    @classmethod
    def from_ranks(
        cls,
        mergeable_ranks: Mapping[bytes, int],
        pattern: str,
        special_tokens: Mapping[str, int] | None = None,
    ) -> "BPETokenizer":
        """Build a tokenizer from tiktoken-style ranks: ``{token_bytes: id}``.

        tiktoken stores only the tokens, not the merges that made them. Each merge
        can be recovered: replay the merges found so far (all of lower rank) on a
        token's bytes; BPE stops at exactly two pieces, and those two were merged.

        The ids then equal tiktoken's on any string: the pattern is compiled with
        tiktoken's Unicode version (``compile_split_pattern``), so both cut the same
        chunks, and BPE replays the same merges in the same order.
        """
        byte_ids = [0] * 256
        singles = {token: rank for token, rank in mergeable_ranks.items() if len(token) == 1}
        if len(singles) != 256:
            raise ValueError(f"the ranks must include all 256 single bytes, found {len(singles)}")
        for token, rank in singles.items():
            byte_ids[token[0]] = rank
        partial = cls({}, None, byte_ids=byte_ids)  # learns one merge at a time, in rank order
        for token, rank in sorted(mergeable_ranks.items(), key=lambda item: item[1]):
            if len(token) == 1:
                continue
            pieces = partial.encode_chunk(token)
            if len(pieces) != 2:
                raise ValueError(f"token {token!r} (rank {rank}) is not a merge of two lower-ranked tokens")
            partial.merges[(pieces[0], pieces[1])] = rank
        return cls(partial.merges, pattern, special_tokens, byte_ids)

    @classmethod
    def from_tiktoken(cls, encoding: Any) -> "BPETokenizer":
        """Rebuild a ``tiktoken.Encoding`` (e.g. cl100k_base) with the guide's own BPE.

        Uses the encoding's ``_mergeable_ranks``, ``_pat_str`` and ``_special_tokens``:
        private attributes, but the only place tiktoken exposes its raw data."""
        return cls.from_ranks(encoding._mergeable_ranks, encoding._pat_str, encoding._special_tokens)

    # --8<-- [end:from_ranks]


# --8<-- [start:token_pieces]
def token_pieces(tokenizer: Any, ids: Iterable[int]) -> list[str | bytes]:
    """Each token as the text it stands for, or as its bytes if it is part of a
    character (a fragment of an emoji's four bytes has no text of its own).

    Accepts the guide's ``BPETokenizer`` and ``tiktoken`` encodings: both have
    ``decode_bytes``."""
    out: list[str | bytes] = []
    for i in ids:
        data = tokenizer.decode_bytes([i])
        try:
            out.append(data.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(data)
    return out


# --8<-- [end:token_pieces]


# --8<-- [start:compare_tokenizers]
def compare_tokenizers(text: str, tokenizers: Mapping[str, Any]) -> list[TokenizerStats]:
    """Encode the same text with each tokenizer: how many tokens, and how many
    characters each token covers on average. Accepts the guide's tokenizers and
    ``tiktoken`` encodings (which call their vocabulary size ``n_vocab``)."""
    rows = []
    for name, tokenizer in tokenizers.items():
        size = tokenizer.vocab_size if hasattr(tokenizer, "vocab_size") else tokenizer.n_vocab
        n_tokens = len(tokenizer.encode(text))
        rows.append(TokenizerStats(name, size, n_tokens, len(text) / n_tokens if n_tokens else 0.0))
    return rows


# --8<-- [end:compare_tokenizers]
