"""Chapter 1: the vocabulary."""

from __future__ import annotations

import re

import pytest

from llm_guide import corpora
from llm_guide.vocab import (
    EmptyCorpusError,
    UnknownIdError,
    UnknownSymbolError,
    Vocabulary,
    split_chars,
    split_words,
)


def test_character_vocabulary_of_hello_hello():
    vocab = Vocabulary.from_text("hello hello")
    assert vocab.itos == [" ", "e", "h", "l", "o"]
    assert vocab.stoi == {" ": 0, "e": 1, "h": 2, "l": 3, "o": 4}
    assert vocab.encode("hello hello") == [2, 1, 3, 3, 4, 0, 2, 1, 3, 3, 4]


def test_round_trip_and_maps_are_inverse():
    text = corpora.cat_story()
    vocab = Vocabulary.from_text(text)
    assert "".join(vocab.decode(vocab.encode(text))) == text
    assert all(vocab.stoi[s] == i for i, s in enumerate(vocab.itos))
    assert len(vocab) == len(set(text))


def test_word_vocabulary_with_an_end_token_first():
    sentences = [s + " <END>" for s in corpora.mary_lamb_sentences()]
    vocab = Vocabulary.from_text(" ".join(sentences), level="word", specials=["<END>"])
    assert vocab.itos[0] == "<END>"
    assert vocab.itos[1:] == sorted(vocab.itos[1:])
    assert "<END>" in vocab and "mary" in vocab and "Mary" not in vocab
    # 34 distinct words in the rhyme, plus the end token (counted here, not typed from the seed)
    assert len(vocab) == len(set(" ".join(corpora.mary_lamb_sentences()).split())) + 1


def test_specials_keep_their_ids_whatever_the_corpus():
    a = Vocabulary.from_text("abc", specials=["<PAD>", "<END>"])
    b = Vocabulary.from_text("xyz", specials=["<PAD>", "<END>"])
    assert a.stoi["<PAD>"] == b.stoi["<PAD>"] == 0
    assert a.stoi["<END>"] == b.stoi["<END>"] == 1
    assert a.specials == ("<PAD>", "<END>")


def test_split_words_keeps_punctuation_and_special_tokens():
    assert split_words("The cat sat. <END>") == ["The", "cat", "sat", ".", "<END>"]
    assert split_chars("a b") == ["a", " ", "b"]


def test_unknown_symbol_names_the_symbol_and_the_fix():
    vocab = Vocabulary.from_text("hello")
    with pytest.raises(UnknownSymbolError, match=r"symbol 'z' at position 2 .*rebuild the vocabulary"):
        vocab.encode("hez")
    assert issubclass(UnknownSymbolError, ValueError)


def test_unknown_id_names_the_id_and_the_size():
    vocab = Vocabulary.from_text("hello")
    with pytest.raises(UnknownIdError, match=r"id 9 is out of range for a vocabulary of size 4"):
        vocab.decode([0, 9])
    with pytest.raises(UnknownIdError, match=r"id -1"):
        vocab.decode([-1])


@pytest.mark.parametrize("level", ["char", "word"])
def test_empty_corpus_is_refused(level):
    with pytest.raises(EmptyCorpusError, match="empty corpus"):
        Vocabulary.from_text("" if level == "char" else "   \n", level=level)


def test_bad_level_is_refused():
    with pytest.raises(ValueError, match="level must be 'char' or 'word'"):
        Vocabulary.from_text("abc", level="byte")  # type: ignore[arg-type]


def test_repr_previews_symbols():
    assert repr(Vocabulary.from_text("ab")) == "Vocabulary(size=2, symbols=['a', 'b'])"


def test_corpora_ship_with_the_package():
    assert corpora.cat_story().startswith("The cat sat on the mat.")
    assert len(corpora.mary_lamb_sentences()) == 16
    docs = corpora.python_docs()
    assert len(docs) > 400_000 and corpora.python_docs(1000) == docs[:1000]


@pytest.mark.parametrize("bad", [1.7, "2", True, None])
def test_decode_refuses_ids_that_are_not_whole_numbers(bad):
    vocab = Vocabulary.from_text("abc")
    with pytest.raises(UnknownIdError, match=f"id {re.escape(repr(bad))} is not a whole number"):
        vocab.decode([bad])


def test_decode_takes_tensor_and_array_elements():
    import numpy as np
    import torch

    vocab = Vocabulary.from_text("abc")
    assert vocab.decode(torch.tensor([0, 2])) == ["a", "c"] == vocab.decode(np.array([0, 2]))


def test_an_empty_vocabulary_is_refused():
    with pytest.raises(EmptyCorpusError, match="needs at least one symbol"):
        Vocabulary([])
    assert len(Vocabulary([], specials=["<END>"])) == 1  # a special token alone is a symbol
