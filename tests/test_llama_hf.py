"""Chapter 12's Llama is Hugging Face's LlamaForCausalLM: the same state dict gives the same logits.

The reference models are built locally from a config, with random weights; nothing is
downloaded. Kept apart from tests/test_llama.py because importing transformers takes seconds.
"""

import pytest
import torch

from llm_guide.generate import generate
from llm_guide.llama import Llama, LlamaConfig

transformers = pytest.importorskip("transformers")

V, CONTEXT = 64, 16
SHAPES = {  # name: (layers, width, heads, key/value heads, tied head, Qwen2)
    "multi-head, untied": (2, 32, 4, 4, False, False),
    "grouped-query, tied": (2, 48, 6, 2, True, False),
    "multi-query, untied": (1, 32, 4, 1, False, False),
    "qwen2 (q, k, v biases)": (2, 32, 4, 2, True, True),
}


def hf_model(n_layer, n_embd, n_head, n_kv_head, tied, qwen, **extra):
    kind = "Qwen2" if qwen else "Llama"
    config = getattr(transformers, f"{kind}Config")(
        vocab_size=V,
        hidden_size=n_embd,
        intermediate_size=2 * n_embd + 8,
        num_hidden_layers=n_layer,
        num_attention_heads=n_head,
        num_key_value_heads=n_kv_head,
        max_position_embeddings=CONTEXT,
        tie_word_embeddings=tied,
        rms_norm_eps=1e-5,
        attn_implementation="eager",
        **extra,
    )
    torch.manual_seed(0)
    model = getattr(transformers, f"{kind}ForCausalLM")(config).eval()
    with torch.no_grad():
        # HF sets norms to 1 and biases to 0, and std 0.02 keeps logits near 0: perturb and
        # scale up, so that every weight matters and the logits are of order 1
        for name, p in model.named_parameters():
            if "norm" in name or name.endswith("bias"):
                p.add_(torch.randn_like(p) * 0.2)
            else:
                p.mul_(5)
    return model


@pytest.fixture(scope="module", params=list(SHAPES))
def pair(request):
    hf = hf_model(*SHAPES[request.param])
    ours = Llama.from_hf_state_dict(hf.state_dict(), LlamaConfig.from_hf(hf.config)).eval()
    return hf, ours


def test_config_from_hf(pair):
    hf, ours = pair
    c, h = ours.config, hf.config
    assert (c.vocab_size, c.block_size, c.n_layer, c.n_embd, c.n_hidden) == (
        V,
        CONTEXT,
        h.num_hidden_layers,
        h.hidden_size,
        h.intermediate_size,
    )
    assert (c.n_head, c.n_kv_head, c.tie_weights, c.norm_eps) == (
        h.num_attention_heads,
        h.num_key_value_heads,
        h.tie_word_embeddings,
        1e-5,
    )
    assert c.qkv_bias == (h.model_type == "qwen2")


@pytest.mark.parametrize("B, T", [(1, 1), (3, 7), (2, CONTEXT)])
def test_same_logits_as_hugging_face(pair, B, T):
    hf, ours = pair
    idx = torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(T))
    with torch.no_grad():
        theirs = hf(idx).logits
        assert theirs.abs().max() > 1  # the comparison is not between two near-zero tensors
        assert (ours(idx)[0] - theirs).abs().max() < 1e-4
        fast = Llama.from_hf_state_dict(hf.state_dict(), LlamaConfig.from_hf(hf.config, fast=True)).eval()
        assert (fast(idx)[0] - theirs).abs().max() < 1e-4


def test_same_greedy_tokens_as_hugging_face_with_the_cache(pair):
    hf, ours = pair
    idx = torch.randint(0, V, (2, 4), generator=torch.Generator().manual_seed(5))
    theirs = hf.generate(
        idx, max_new_tokens=8, do_sample=False, pad_token_id=0, eos_token_id=None, attention_mask=torch.ones_like(idx)
    )
    assert torch.equal(generate(ours, idx, 8, greedy=True, kv_cache=True), theirs)


def test_unsupported_settings_are_refused():
    base = dict(vocab_size=V, hidden_size=32, num_attention_heads=4, num_hidden_layers=1, intermediate_size=40)
    with pytest.raises(ValueError, match=r"rope scaling .* is not supported"):
        LlamaConfig.from_hf(
            transformers.LlamaConfig(
                **base, rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0}
            )
        )
    with pytest.raises(ValueError, match=r"attention_bias and mlp_bias are not supported"):
        LlamaConfig.from_hf(transformers.LlamaConfig(**base, attention_bias=True))
    with pytest.raises(ValueError, match=r"model_type='gpt2' is not supported"):
        LlamaConfig.from_hf(transformers.GPT2Config())


def test_a_state_dict_that_does_not_fit_is_refused_before_anything_is_copied():
    hf = hf_model(*SHAPES["multi-head, untied"])
    sd = hf.state_dict()
    with pytest.raises(ValueError, match=r"missing \['model.layers.1.input_layernorm.weight'"):
        Llama.from_hf_state_dict({k: v for k, v in sd.items() if "layers.1." not in k}, LlamaConfig.from_hf(hf.config))
    with pytest.raises(
        ValueError,
        match=r"model.layers.0.self_attn.k_proj.weight has shape \(32, 32\) in the "
        r"checkpoint but \(16, 32\) here",
    ):
        Llama.from_hf_state_dict(sd, LlamaConfig.from_hf(hf.config, n_kv_head=2))
    with pytest.raises(ValueError, match=r"lm_head.weight differs from embed_tokens; use tie_weights=False"):
        Llama.from_hf_state_dict(sd, LlamaConfig.from_hf(hf.config, tie_weights=True))
