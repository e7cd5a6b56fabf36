"""Chapter 8: state dicts, safetensors files, bytes per parameter, LoRA."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from torch import nn

from llm_guide.model import GPT, GPTConfig
from llm_guide.weights import (
    BYTES_PER_PARAM,
    LoRALinear,
    TensorRow,
    add_lora,
    bytes_for,
    count_trainable,
    format_bytes,
    load_weights,
    merge_lora,
    read_metadata,
    save_weights,
    state_dict_table,
    tied_groups,
)


def assert_close(actual: torch.Tensor, expected: torch.Tensor, rtol: float = 1.3e-6, atol: float = 1e-5) -> None:
    """torch.allclose with the largest difference in the message (torch.testing's version costs ~1 s to import)."""
    assert torch.allclose(actual, expected, rtol=rtol, atol=atol), f"max |diff| = {(actual - expected).abs().max()}"


def tiny_gpt(seed: int = 0, **overrides) -> GPT:
    settings = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
    settings.update(overrides)
    torch.manual_seed(seed)
    return GPT(GPTConfig(**settings))


def test_table_lists_every_named_tensor():
    model = tiny_gpt()
    rows = state_dict_table(model)
    assert all(isinstance(r, TensorRow) for r in rows)
    by_name = {r.name: r for r in rows}
    assert by_name["transformer.embed.wte.weight"].shape == (11, 16)
    assert by_name["transformer.embed.wpe.weight"].shape == (8, 16)
    assert by_name["transformer.h.0.attn.c_attn.weight"].shape == (48, 16)
    assert by_name["lm_head.weight"].numel == 11 * 16
    assert by_name["transformer.ln_f.bias"].dtype == torch.float32
    assert [r.name for r in rows] == list(model.state_dict())
    assert all(r.numel == torch.Size(r.shape).numel() for r in rows)


def test_tied_weights_are_found_and_counted_once():
    model = tiny_gpt()
    assert tied_groups(model) == [["transformer.embed.wte.weight", "lm_head.weight"]]
    assert tied_groups(tiny_gpt(tie_weights=False)) == []
    table_total = sum(r.numel for r in state_dict_table(model) if r.name != "lm_head.weight")
    assert count_trainable(model) == sum(p.numel() for p in model.parameters()) == table_total


def test_safetensors_round_trip_is_bit_for_bit(tmp_path):
    model = tiny_gpt(seed=0)
    path = tmp_path / "tiny.safetensors"
    save_weights(model, path, metadata={"note": "hello"})

    # the tied copy is stored once; the file records the other name
    with safe_open(str(path), framework="pt") as f:
        assert "lm_head.weight" not in f.keys()
        assert json.loads(f.metadata()["llm_guide.tied"]) == {"lm_head.weight": "transformer.embed.wte.weight"}
    assert read_metadata(path) == {"note": "hello"}

    other = tiny_gpt(seed=1)
    assert not torch.equal(other.transformer.embed.wte.weight, model.transformer.embed.wte.weight)
    meta = load_weights(other, path)
    assert meta == {"note": "hello"}
    for (name, a), (name_b, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert name == name_b and torch.equal(a, b), name
    # the weights are still one tensor after loading
    assert other.lm_head.weight is other.transformer.embed.wte.weight
    idx = torch.randint(0, 11, (2, 8))
    assert torch.equal(model(idx)[0], other(idx)[0])


def test_untied_model_round_trips_too(tmp_path):
    model = tiny_gpt(seed=0, tie_weights=False)
    save_weights(model, tmp_path / "m.safetensors")
    other = tiny_gpt(seed=1, tie_weights=False)
    load_weights(other, tmp_path / "m.safetensors")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))


def test_shape_mismatch_names_the_tensor_and_both_shapes(tmp_path):
    save_weights(tiny_gpt(), tmp_path / "m.safetensors")
    wider = tiny_gpt(vocab_size=13)
    before = wider.transformer.embed.wpe.weight.clone()
    with pytest.raises(
        ValueError,
        match=r"shape mismatch for 'transformer\.embed\.wte\.weight': the model expects \(13, 16\) but the file holds \(11, 16\)",
    ):
        load_weights(wider, tmp_path / "m.safetensors")
    assert torch.equal(wider.transformer.embed.wpe.weight, before)  # nothing was copied


def test_missing_tensors_are_named(tmp_path):
    save_weights(tiny_gpt(n_layer=1), tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match=r"missing \['transformer\.h\.1\."):
        load_weights(tiny_gpt(n_layer=2), tmp_path / "m.safetensors")


def test_bytes_for_common_dtypes():
    assert bytes_for(124_439_808, "float32") == 497_759_232
    assert bytes_for(124_439_808, torch.float16) == 248_879_616
    assert bytes_for(7_000_000_000, "bfloat16") == 14_000_000_000
    assert bytes_for(3, "int4") == 2  # half a byte each, rounded up
    assert bytes_for(10, torch.int8) == 10
    assert BYTES_PER_PARAM["float32"] == torch.float32.itemsize
    with pytest.raises(ValueError, match=r"unknown dtype 'fp8'; use a torch.dtype or one of"):
        bytes_for(10, "fp8")
    with pytest.raises(ValueError, match="n_params must be >= 0, got -1"):
        bytes_for(-1)


def test_format_bytes():
    assert format_bytes(512) == "512 B"
    assert format_bytes(497_759_232) == "497.8 MB"
    assert format_bytes(14_000_000_000) == "14.0 GB"
    assert format_bytes(2.5e12) == "2.5 TB"


def test_lora_layer_starts_equal_to_its_base():
    torch.manual_seed(0)
    base = nn.Linear(16, 48)
    lora = LoRALinear(base, rank=4, alpha=8)
    x = torch.randn(2, 5, 16)
    assert torch.equal(lora(x), base(x))
    assert lora.lora_A.shape == (4, 16) and lora.lora_B.shape == (48, 4)
    assert lora.scale == 2.0 and lora.in_features == 16 and lora.out_features == 48
    assert not base.weight.requires_grad and not base.bias.requires_grad
    assert count_trainable(lora) == 4 * (16 + 48)
    assert lora.lora_A.abs().sum() > 0 and lora.lora_B.abs().sum() == 0
    assert "rank=4, alpha=8" in repr(lora)


def test_lora_output_is_base_plus_low_rank_update():
    torch.manual_seed(0)
    lora = LoRALinear(nn.Linear(6, 5), rank=2, alpha=3)
    with torch.no_grad():
        lora.lora_B.normal_()
    x = torch.randn(4, 6)
    full = x @ (lora.base.weight + lora.delta_weight()).T + lora.base.bias
    assert_close(lora(x), full)
    assert torch.linalg.matrix_rank(lora.delta_weight()) == 2


@pytest.mark.parametrize("rank", [0, -1, 17, 2.0])
def test_lora_rank_out_of_range_is_refused(rank):
    with pytest.raises(ValueError, match=r"LoRA rank must be .*min\(in_features, out_features\) = min\(16, 48\) = 16"):
        LoRALinear(nn.Linear(16, 48), rank=rank)


def test_lora_alpha_must_be_positive():
    with pytest.raises(ValueError, match="alpha must be > 0, got 0"):
        LoRALinear(nn.Linear(4, 4), rank=1, alpha=0)


def test_add_lora_freezes_the_model_and_counts_the_adapters():
    model = tiny_gpt(n_layer=2, n_embd=16)
    idx = torch.randint(0, 11, (2, 8))
    before = model(idx)[0]
    total = count_trainable(model)
    replaced = add_lora(model, rank=4, alpha=4)
    assert replaced == ["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"]
    assert isinstance(model.transformer.h[0].attn.c_attn, LoRALinear)
    # each c_attn maps 16 -> 48: rank * (in + out) = 4 * (16 + 48) = 256 per layer
    assert count_trainable(model) == 2 * 4 * (16 + 3 * 16) == 512
    assert count_trainable(model) < total / 5
    assert {n for n, p in model.named_parameters() if p.requires_grad} == {
        f"transformer.h.{i}.attn.c_attn.lora_{m}" for i in range(2) for m in "AB"
    }
    assert torch.equal(model(idx)[0], before)  # B = 0: nothing changed yet


def test_add_lora_with_several_targets():
    model = tiny_gpt(n_layer=1, n_embd=16)
    replaced = add_lora(model, rank=2, targets=("c_attn", "mlp.c_proj"))
    assert replaced == ["transformer.h.0.attn.c_attn", "transformer.h.0.mlp.c_proj"]
    hidden = model.transformer.h[0].mlp.c_proj.in_features
    assert count_trainable(model) == 2 * (16 + 48) + 2 * (hidden + 16)


def test_add_lora_errors():
    with pytest.raises(
        ValueError, match=r"no nn.Linear layer matches targets=\('q_proj',\); the model's linear layers are \["
    ):
        add_lora(tiny_gpt(), rank=2, targets=("q_proj",))
    with pytest.raises(ValueError, match=r"'lm_head' shares its weight with another layer \(tied weights\)"):
        add_lora(tiny_gpt(), rank=2, targets=("lm_head",))


def test_merge_lora_gives_the_same_outputs_with_plain_linear_layers():
    model = tiny_gpt(n_layer=2)
    add_lora(model, rank=4, alpha=8, targets=("c_attn", "c_fc"))
    torch.manual_seed(1)
    with torch.no_grad():  # pretend training moved the adapters
        for module in model.modules():
            if isinstance(module, LoRALinear):
                module.lora_B.normal_(std=0.1)
    model.eval()
    idx = torch.randint(0, 11, (3, 8))
    with_adapters = model(idx)[0]
    merged = merge_lora(model)
    assert len(merged) == 4
    assert not any(isinstance(m, LoRALinear) for m in model.modules())
    assert type(model.transformer.h[0].attn.c_attn) is nn.Linear
    assert_close(model(idx)[0], with_adapters, rtol=1e-5, atol=1e-5)
    assert set(model.state_dict()) == set(tiny_gpt(n_layer=2).state_dict())
    assert merge_lora(model) == []  # nothing left to merge


def test_parameter_groups_add_up_and_count_a_tied_head_once():
    from llm_guide.weights import GROUPS, parameter_groups

    model = tiny_gpt()
    groups = parameter_groups(model)
    assert tuple(groups) == GROUPS
    assert sum(groups.values()) == model.num_params()
    assert groups["head"] == 0  # tied: the head is the token embedding
    C, V, T, L = 16, 11, 8, 2
    assert groups["embeddings"] == V * C + T * C
    assert groups["attention"] == L * (C * 3 * C + 3 * C + C * C + C)
    assert groups["feed-forward"] == L * (C * 4 * C + 4 * C + 4 * C * C + C)
    assert groups["norms"] == L * 4 * C + 2 * C


def test_parameter_groups_of_an_untied_post_norm_model_and_gpt2_small():
    from llm_guide.weights import parameter_groups

    tiny = GPT(GPTConfig.tiny_gpt())
    groups = parameter_groups(tiny)
    assert groups["head"] == 16 * 5 + 5  # its own weight and bias
    assert sum(groups.values()) == tiny.num_params() == 2453
    with torch.device("meta"):
        small = GPT(GPTConfig.gpt2())
    groups = parameter_groups(small)
    assert sum(groups.values()) == 124_439_808
    assert groups["feed-forward"] == 12 * (8 * 768 * 768 + 5 * 768)


def test_parameter_groups_put_lora_adapters_under_attention_and_refuse_unknown_names():
    from llm_guide.weights import group_of, parameter_groups

    model = tiny_gpt()
    before = parameter_groups(model)
    add_lora(model, rank=2)
    after = parameter_groups(model)
    assert after["attention"] - before["attention"] == 2 * 2 * (16 + 48)
    with pytest.raises(ValueError, match="cannot tell"):
        group_of("encoder.weight")


@pytest.mark.parametrize("content", [b"just some text\n", b"\x80\x02}q\x00.", b""])
def test_a_file_that_is_not_safetensors_names_the_file_and_the_fix(tmp_path, content):
    from llm_guide.train import load_checkpoint
    from llm_guide.weights import load_weights, read_metadata

    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    for call in (lambda: load_weights(tiny_gpt(), path), lambda: read_metadata(path), lambda: load_checkpoint(path)):
        with pytest.raises(
            ValueError, match=r"notes\.txt' is not a safetensors file .*written by save_weights or save_checkpoint"
        ):
            call()
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_weights(tiny_gpt(), tmp_path / "missing.safetensors")


@pytest.mark.parametrize("targets", [("c_attn",), ("c_attn", "c_fc", "mlp.c_proj")])
def test_a_refused_add_lora_leaves_the_model_as_it_was(targets):
    from llm_guide.weights import add_lora

    model = tiny_gpt()
    before = {
        n: (type(m), tuple(p.requires_grad for p in m.parameters(recurse=False))) for n, m in model.named_modules()
    }
    with pytest.raises(ValueError, match="LoRA rank must be at most"):
        add_lora(model, rank=17, targets=targets)  # c_attn is 16 -> 48: rank 17 is too large
    after = {
        n: (type(m), tuple(p.requires_grad for p in m.parameters(recurse=False))) for n, m in model.named_modules()
    }
    assert after == before
    assert all(p.requires_grad for p in model.parameters())
