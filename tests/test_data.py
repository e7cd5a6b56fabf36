"""Chapter 3: windows, X/Y pairs, the train/validation split and random batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from llm_guide.data import get_batch, train_val_split, windows, xy_pairs
from llm_guide.vocab import Vocabulary

HELLO = [2, 1, 3, 3, 4, 0, 2, 1, 3, 3, 4]  # "hello hello" with the vocabulary " ehlo"


def test_hello_hello_gives_the_seven_windows_of_the_seed():
    vocab = Vocabulary.from_text("hello hello")
    ids = vocab.encode("hello hello")
    assert ids == HELLO
    X, Y = xy_pairs(ids, block_size=4)
    assert X.shape == Y.shape == (7, 4)
    assert X.dtype == Y.dtype == torch.long
    assert X.tolist() == [
        [2, 1, 3, 3],
        [1, 3, 3, 4],
        [3, 3, 4, 0],
        [3, 4, 0, 2],
        [4, 0, 2, 1],
        [0, 2, 1, 3],
        [2, 1, 3, 3],
    ]
    assert Y.tolist() == [
        [1, 3, 3, 4],
        [3, 3, 4, 0],
        [3, 4, 0, 2],
        [4, 0, 2, 1],
        [0, 2, 1, 3],
        [2, 1, 3, 3],
        [1, 3, 3, 4],
    ]
    assert ["".join(vocab.decode(row)) for row in X[:2]] == ["hell", "ello"]
    # the target is the input shifted left by one
    assert torch.equal(X[:, 1:], Y[:, :-1])


def test_windows_are_overlapping_views_of_length_block_plus_one():
    data = torch.arange(10)
    w = windows(data, block_size=3)
    assert w.shape == (7, 4)
    assert torch.equal(w[0], torch.tensor([0, 1, 2, 3]))
    assert torch.equal(w[-1], torch.tensor([6, 7, 8, 9]))
    assert w.data_ptr() == data.data_ptr()  # unfold copies nothing
    assert w.stride() == (1, 1)


@pytest.mark.parametrize("ids", [HELLO, np.array(HELLO), torch.tensor(HELLO, dtype=torch.int32)])
def test_lists_arrays_and_tensors_all_work(ids):
    X, Y = xy_pairs(ids, 4)
    assert X.dtype == torch.long and X.shape == (7, 4)
    assert X[0].tolist() == [2, 1, 3, 3]


def test_shortest_corpus_gives_exactly_one_window():
    X, Y = xy_pairs([5, 6, 7], block_size=2)
    assert X.tolist() == [[5, 6]] and Y.tolist() == [[6, 7]]


def test_too_short_corpus_is_an_error_naming_the_lengths():
    with pytest.raises(ValueError, match=r"has 4 tokens.*block_size \+ 1 = 5.*at most 3"):
        xy_pairs([1, 2, 3, 4], block_size=4)


@pytest.mark.parametrize("block_size", [0, -1, 2.5, True])
def test_block_size_must_be_a_positive_whole_number(block_size):
    with pytest.raises(ValueError, match="block_size must be a positive integer"):
        windows(HELLO, block_size)


def test_two_dimensional_or_float_data_is_refused():
    with pytest.raises(ValueError, match=r"1-D .* got shape \(2, 3\).*flatten"):
        windows(torch.zeros(2, 3, dtype=torch.long), 1)
    with pytest.raises(ValueError, match="integer token ids, got dtype torch.float32"):
        windows(torch.zeros(5), 1)


def test_train_val_split_is_one_cut_in_order():
    data = torch.arange(100)
    train, val = train_val_split(data, val_fraction=0.1)
    assert torch.equal(train, torch.arange(90))
    assert torch.equal(val, torch.arange(90, 100))
    train, val = train_val_split(list(range(10)), 0.25)
    assert len(train) + len(val) == 10 and train.tolist() == list(range(7))


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_val_fraction_must_be_between_zero_and_one(fraction):
    with pytest.raises(ValueError, match="val_fraction must be between 0 and 1"):
        train_val_split(torch.arange(100), fraction)


def test_split_that_would_leave_a_side_empty_is_refused():
    with pytest.raises(ValueError, match="one side would be empty"):
        train_val_split([1, 2], 0.9)


def test_get_batch_shapes_and_shift():
    data = torch.arange(50)
    x, y = get_batch(data, block_size=8, batch_size=4, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 8)
    assert x.dtype == torch.long
    # data is 0, 1, 2, ... so each row counts up by one and y is x + 1
    assert torch.equal(y, x + 1)
    assert torch.equal(x[:, 1:] - x[:, :-1], torch.ones(4, 7, dtype=torch.long))


def test_get_batch_is_reproducible_with_a_seeded_generator():
    data = torch.randint(0, 20, (200,))
    a = get_batch(data, 16, 8, torch.Generator().manual_seed(123))
    b = get_batch(data, 16, 8, torch.Generator().manual_seed(123))
    c = get_batch(data, 16, 8, torch.Generator().manual_seed(124))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_get_batch_reaches_every_window_including_the_last():
    data = torch.arange(12)
    x, y = get_batch(data, block_size=4, batch_size=2000, generator=torch.Generator().manual_seed(0))
    assert set(x[:, 0].tolist()) == set(range(8))  # 12 - 4 = 8 possible starts
    assert y.max().item() == 11  # the last token is a target


def test_get_batch_errors_name_the_bad_value():
    data = torch.arange(10)
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        get_batch(data, 4, 0)
    with pytest.raises(ValueError, match=r"block_size must be a positive integer, got 0"):
        get_batch(data, 0, 4)
    with pytest.raises(ValueError, match=r"data has 10 tokens.*needs block_size \+ 1 = 11"):
        get_batch(data, 10, 4)
    with pytest.raises(ValueError, match=r"data must be a 1-D .* shape \(2, 5\)"):
        get_batch(data.view(2, 5), 2, 4)


def test_as_ids_converts_and_checks():
    from llm_guide.data import as_ids

    assert as_ids([1, 2, 3]).dtype == torch.long
    assert as_ids(np.array([], dtype=np.int64)).shape == (0,)
    with pytest.raises(ValueError, match=r"tokens must be a 1-D sequence of token ids, got shape \(\)"):
        as_ids(torch.tensor(3), name="tokens")
