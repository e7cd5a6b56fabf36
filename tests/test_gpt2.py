"""The GPT is GPT-2 exactly: a Hugging Face GPT-2 state dict gives the same logits.

The reference model is built locally with random weights; nothing is downloaded.
"""

import dataclasses

import pytest
import torch

from llm_guide.generate import generate
from llm_guide.model import GPT, GPTConfig, load_gpt2_state_dict

transformers = pytest.importorskip("transformers")

HF_SHAPE = dict(n_layer=2, n_head=4, n_embd=64, vocab_size=100, n_positions=32)


def hf_gpt2(**overrides):
    """A randomly initialised GPT2LMHeadModel with the plain (eager) attention, in eval mode."""
    config = transformers.GPT2Config(
        **(HF_SHAPE | overrides), bos_token_id=None, eos_token_id=None, attn_implementation="eager"
    )
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config).eval()
    # HF zero-initialises biases and sets LayerNorm to identity: randomise them so they are checked too
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                p.add_(torch.randn_like(p) * 0.1)
    return model


@pytest.fixture(scope="module")
def hf_model():
    return hf_gpt2()


@pytest.fixture(scope="module")
def idx():
    return torch.randint(0, 100, (3, 32), generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def hf_logits(hf_model, idx):
    with torch.no_grad():
        return hf_model(idx).logits


def test_config_from_hf(hf_model):
    c = GPTConfig.from_hf(hf_model.config)
    assert (c.vocab_size, c.block_size, c.n_layer, c.n_head, c.n_embd, c.n_hidden) == (100, 32, 2, 4, 64, 256)
    assert (c.norm, c.activation, c.tie_weights, c.bias, c.dropout) == ("pre", "gelu", True, True, 0.1)
    assert GPTConfig.from_hf(hf_model.config, dropout=0.0).dropout == 0.0


def test_config_from_real_gpt2_config_matches_preset():
    assert GPTConfig.from_hf(transformers.GPT2Config(), dropout=0.0) == GPTConfig.gpt2()


def test_logits_match_hugging_face(hf_model, idx, hf_logits):
    ours = GPT.from_hf_state_dict(hf_model.state_dict(), GPTConfig.from_hf(hf_model.config)).eval()
    with torch.no_grad():
        logits, _ = ours(idx)
    assert logits.shape == hf_logits.shape == (3, 32, 100)
    assert (logits - hf_logits).abs().max().item() < 1e-4
    assert ours.lm_head.weight is ours.transformer.embed.wte.weight  # still tied after loading


def test_fast_path_logits_match_hugging_face(hf_model, idx, hf_logits):
    config = GPTConfig.from_hf(hf_model.config, fast=True)
    ours = GPT.from_hf_state_dict(hf_model.state_dict(), config).eval()
    with torch.no_grad():
        assert (ours(idx)[0] - hf_logits).abs().max().item() < 1e-4


def test_loss_matches_hugging_face(hf_model, idx):
    ours = GPT.from_hf_state_dict(hf_model.state_dict(), GPTConfig.from_hf(hf_model.config)).eval()
    with torch.no_grad():
        # HF shifts the labels itself; here the shift is explicit
        expected = hf_model(idx, labels=idx).loss
        _, loss = ours(idx[:, :-1], idx[:, 1:])
    assert abs(loss.item() - expected.item()) < 1e-5


def test_greedy_generation_matches_hugging_face_logits(hf_model):
    ours = GPT.from_hf_state_dict(hf_model.state_dict(), GPTConfig.from_hf(hf_model.config))
    out = generate(ours, torch.tensor([[5, 6, 7]]), 4, greedy=True)
    with torch.no_grad():
        for t in range(3, 7):  # each new token is HF's argmax given everything before it
            assert out[0, t].item() == hf_model(out[:, :t]).logits[0, -1].argmax().item()


def test_loads_base_model_keys_without_prefix(hf_model, idx, hf_logits):
    base_sd = hf_model.transformer.state_dict()  # GPT2Model layout: "h.0...", "wte.weight", no head
    assert "wte.weight" in base_sd and "lm_head.weight" not in base_sd
    ours = GPT.from_hf_state_dict(base_sd, GPTConfig.from_hf(hf_model.config)).eval()
    with torch.no_grad():
        assert (ours(idx)[0] - hf_logits).abs().max().item() < 1e-4


def test_skips_causal_mask_buffers_of_older_checkpoints(hf_model):
    sd = dict(hf_model.state_dict())
    sd["transformer.h.0.attn.bias"] = torch.tril(torch.ones(1, 1, 32, 32))
    sd["transformer.h.0.attn.masked_bias"] = torch.tensor(-1e4)
    ours = GPT.from_hf_state_dict(sd, GPTConfig.from_hf(hf_model.config))
    torch.testing.assert_close(ours.transformer.h[0].attn.c_attn.bias, hf_model.transformer.h[0].attn.c_attn.bias)


def test_conv1d_weights_are_transposed(hf_model):
    ours = GPT.from_hf_state_dict(hf_model.state_dict(), GPTConfig.from_hf(hf_model.config))
    hf_w = hf_model.transformer.h[1].mlp.c_fc.weight  # Conv1D: (in, out) = (64, 256)
    assert hf_w.shape == (64, 256)
    assert torch.equal(ours.transformer.h[1].mlp.c_fc.weight, hf_w.T)


def test_untied_checkpoint(idx):
    hf_model = hf_gpt2(tie_word_embeddings=False)
    assert not torch.equal(hf_model.lm_head.weight, hf_model.transformer.wte.weight)
    config = GPTConfig.from_hf(hf_model.config)
    assert config.tie_weights is False
    ours = GPT.from_hf_state_dict(hf_model.state_dict(), config).eval()
    # GPT-2's head has no bias; the untied head here has one (config.bias), loaded as zeros
    assert torch.equal(ours.lm_head.bias, torch.zeros(100))
    assert not torch.equal(ours.lm_head.weight, ours.transformer.embed.wte.weight)
    with torch.no_grad():
        assert (ours(idx)[0] - hf_model(idx).logits).abs().max().item() < 1e-4
    tied = dataclasses.replace(config, tie_weights=True)
    with pytest.raises(ValueError, match="differs from wte.weight; use tie_weights=False"):
        GPT.from_hf_state_dict(hf_model.state_dict(), tied)


def test_mismatched_config_leaves_model_untouched(hf_model):
    model = GPT(GPTConfig.from_hf(hf_model.config, n_layer=1))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"unexpected \['transformer.h.1"):
        load_gpt2_state_dict(model, hf_model.state_dict())
    wide = GPT(GPTConfig.from_hf(hf_model.config, n_hidden=128))
    with pytest.raises(ValueError, match=r"mlp.c_fc.weight has shape \(256, 64\) in the checkpoint but \(128, 64\)"):
        load_gpt2_state_dict(wide, hf_model.state_dict())
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_unsupported_hf_settings_raise():
    with pytest.raises(ValueError, match="activation_function='gelu' is not supported"):
        GPTConfig.from_hf(transformers.GPT2Config(activation_function="gelu"))
    with pytest.raises(ValueError, match="layer_norm_epsilon=0.001"):
        GPTConfig.from_hf(transformers.GPT2Config(layer_norm_epsilon=1e-3))
    with pytest.raises(ValueError, match="1/sqrt"):
        GPTConfig.from_hf(transformers.GPT2Config(scale_attn_by_inverse_layer_idx=True))
