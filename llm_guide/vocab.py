"""Chapter 1: the vocabulary, a two-way map between symbols and integer ids.

A language model never sees letters or words, only integers. The vocabulary is
the agreement about which integer stands for which symbol: ``stoi`` maps a
symbol to its id ("string to integer") and ``itos`` maps it back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

__all__ = [
    "Vocabulary",
    "VocabularyError",
    "UnknownSymbolError",
    "UnknownIdError",
    "EmptyCorpusError",
    "split_chars",
    "split_words",
]


# --8<-- [start:errors]
class VocabularyError(ValueError):
    """Base class for the vocabulary's errors (all are ``ValueError``\\s)."""


class UnknownSymbolError(VocabularyError):
    """A symbol to encode is not in the vocabulary."""


class UnknownIdError(VocabularyError):
    """An id to decode is outside ``0 .. len(vocab) - 1``."""


class EmptyCorpusError(VocabularyError):
    """The text a vocabulary was asked to learn from has no symbols."""


# --8<-- [end:errors]


# --8<-- [start:split]
def split_chars(text: str) -> list[str]:
    """Character level: every character, spaces and newlines included, is a symbol."""
    return list(text)


_WORD = re.compile(r"<[^<>\s]+>|\w+|[^\w\s]")


def split_words(text: str) -> list[str]:
    """Word level: runs of letters and digits, each punctuation mark on its own,
    and special tokens written like ``<END>`` kept whole. Whitespace is dropped."""
    return _WORD.findall(text)


# --8<-- [end:split]


# --8<-- [start:vocabulary]
class Vocabulary:
    """A fixed, ordered list of symbols and the two maps between symbols and ids.

    Special tokens (such as ``"<END>"``) come first, so they keep the same small
    ids whatever the corpus; the symbols learned from text follow in sorted order,
    so the same text always gives the same ids.
    """

    def __init__(self, symbols: Iterable[str], specials: Sequence[str] = ()) -> None:
        learned = sorted(set(symbols) - set(specials))
        if not learned and not specials:
            raise EmptyCorpusError(
                "a vocabulary needs at least one symbol, got none; pass the symbols of a corpus "
                "(or use Vocabulary.from_text(text))"
            )
        self.itos: list[str] = list(dict.fromkeys(specials)) + learned
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(self.itos)}
        self.specials: tuple[str, ...] = tuple(dict.fromkeys(specials))

    @classmethod
    def from_text(
        cls,
        text: str,
        level: Literal["char", "word"] = "char",
        specials: Sequence[str] = (),
    ) -> "Vocabulary":
        """Learn a vocabulary from a corpus: every distinct character or word in it."""
        if level not in ("char", "word"):
            raise ValueError(f"level must be 'char' or 'word', not {level!r}")
        symbols = split_chars(text) if level == "char" else split_words(text)
        if not symbols:
            raise EmptyCorpusError(
                f"cannot build a {level}-level vocabulary from an empty corpus "
                f"(got {text!r}); pass a text with at least one "
                f"{'character' if level == 'char' else 'word'}"
            )
        return cls(symbols, specials)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self.stoi

    def __repr__(self) -> str:
        preview = ", ".join(repr(s) for s in self.itos[:8])
        more = ", ..." if len(self) > 8 else ""
        return f"Vocabulary(size={len(self)}, symbols=[{preview}{more}])"

    def encode(self, symbols: Iterable[str]) -> list[int]:
        """Symbols to ids. A symbol the vocabulary has never seen is an error."""
        ids = []
        for position, symbol in enumerate(symbols):
            if symbol not in self.stoi:
                raise UnknownSymbolError(
                    f"symbol {symbol!r} at position {position} is not in the vocabulary "
                    f"of {len(self)} symbols; rebuild the vocabulary from a corpus that "
                    f"contains it, or map unseen symbols to a special token such as "
                    f"'<UNK>' before encoding"
                )
            ids.append(self.stoi[symbol])
        return ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids back to symbols. An id outside ``0 .. len(self) - 1`` is an error."""
        symbols = []
        for i in ids:
            if getattr(i, "ndim", None) == 0:
                i = i.item()  # one element of a tensor or an array: a plain Python number
            if isinstance(i, bool) or not isinstance(i, int):
                # int(1.7) would quietly decode id 1; an id is a whole number or a mistake
                raise UnknownIdError(
                    f"id {i!r} is not a whole number: decode takes integer ids, as encode returns them"
                )
            if not 0 <= i < len(self):
                raise UnknownIdError(
                    f"id {i} is out of range for a vocabulary of size {len(self)} (valid ids are 0 to {len(self) - 1})"
                )
            symbols.append(self.itos[i])
        return symbols


# --8<-- [end:vocabulary]
