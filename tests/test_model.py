"""GPTConfig, GPT, parameter counts and tables."""

import math

import pytest
import torch
import torch.nn.functional as F

from llm_guide.model import GPT, GPTConfig, ParamRow, component_totals, parameter_table

ATOL = 1e-6


def small_config(**overrides):
    return GPTConfig(**({"vocab_size": 11, "block_size": 8, "n_layer": 2, "n_head": 2, "n_embd": 16} | overrides))


@pytest.fixture
def model():
    torch.manual_seed(0)
    return GPT(small_config()).eval()


def ids(*rows):
    return torch.tensor(rows, dtype=torch.long)


# --- GPTConfig -------------------------------------------------------------------


def test_config_defaults():
    c = GPTConfig(vocab_size=5, block_size=4)
    assert (c.n_layer, c.n_head, c.n_embd, c.n_hidden, c.head_size) == (1, 2, 16, 64, 8)
    assert (c.norm, c.activation, c.tie_weights, c.bias, c.dropout, c.fast) == (
        "pre",
        "gelu",
        True,
        True,
        0.0,
        False,
    )
    assert GPTConfig(vocab_size=5, block_size=4, n_hidden=24).n_hidden == 24


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"n_embd": 16, "n_head": 3}, r"n_embd=16 must be divisible by n_head=3"),
        ({"vocab_size": 0}, r"vocab_size must be a positive integer, got 0"),
        ({"block_size": -1}, r"block_size must be a positive integer, got -1"),
        ({"n_layer": 1.5}, r"n_layer must be a positive integer, got 1.5"),
        ({"n_hidden": 0}, r"n_hidden must be a positive integer, got 0"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
        ({"dropout": -0.1}, r"dropout must be in \[0, 1\), got -0.1"),
        ({"norm": "Pre"}, r"norm must be one of \['pre', 'post'\], got 'Pre'"),
        ({"activation": "tanh"}, r"activation must be one of \['gelu', 'relu'\], got 'tanh'"),
    ],
)
def test_config_validation_names_value_and_rule(overrides, message):
    with pytest.raises(ValueError, match=message):
        small_config(**overrides)


def test_gpt2_presets():
    c = GPTConfig.gpt2()
    assert (c.vocab_size, c.block_size, c.n_layer, c.n_head, c.n_embd, c.n_hidden) == (50257, 1024, 12, 12, 768, 3072)
    assert (c.norm, c.activation, c.tie_weights) == ("pre", "gelu", True)
    assert (GPTConfig.gpt2("xl").n_layer, GPTConfig.gpt2("xl").n_embd) == (48, 1600)
    assert GPTConfig.gpt2(block_size=256).block_size == 256
    with pytest.raises(ValueError, match="size must be one of.*got 'huge'"):
        GPTConfig.gpt2("huge")


def test_tiny_gpt_preset():
    c = GPTConfig.tiny_gpt()
    assert (c.vocab_size, c.block_size, c.n_layer, c.n_head, c.n_embd, c.n_hidden) == (5, 4, 1, 2, 16, 32)
    assert (c.norm, c.activation, c.bias, c.tie_weights) == ("post", "relu", True, False)


# --- parameter counts ------------------------------------------------------------

KERAS_TABLE = {
    "token embedding": 80,
    "position embedding": 64,
    "LayerNorm 1": 32,
    "attention Q": 272,
    "attention K": 272,
    "attention V": 272,
    "attention output": 272,
    "LayerNorm 2": 32,
    "feed-forward in": 544,
    "feed-forward out": 528,
    "lm_head": 85,
}


def test_tiny_gpt_has_2453_parameters_like_the_keras_model():
    model = GPT(GPTConfig.tiny_gpt())
    assert model.num_params() == 2453
    rows = parameter_table(model, split_qkv=True)
    assert all(isinstance(r, ParamRow) for r in rows)
    assert component_totals(rows) == KERAS_TABLE
    assert sum(r.count for r in rows) == 2453
    assert ParamRow("attention Q", "transformer.h.0.attn.c_attn.weight[q]", (16, 16), 256) in rows
    assert ParamRow("lm_head", "lm_head.bias", (5,), 5) in rows


def test_parameter_table_fused_qkv_and_every_row_matches_its_tensor():
    model = GPT(GPTConfig.tiny_gpt())
    rows = parameter_table(model)
    totals = component_totals(rows)
    assert totals["attention QKV"] == 816 and "attention Q" not in totals
    params = dict(model.named_parameters())
    for r in rows:
        assert tuple(params[r.name].shape) == r.shape and params[r.name].numel() == r.count


def test_parameter_table_groups_layers_and_counts_tied_weight_once(model):
    rows = parameter_table(model)
    totals = component_totals(rows)
    assert "lm_head" not in totals  # tied: the head is the token embedding
    assert totals["attention QKV"] == 2 * (16 * 48 + 48)  # two layers, one component
    assert totals["final LayerNorm"] == 32
    assert sum(totals.values()) == model.num_params()


@pytest.mark.parametrize(
    "size, expected",
    [("small", 124_439_808), ("medium", 354_823_168), ("large", 774_030_080), ("xl", 1_557_611_200)],
)
def test_gpt2_parameter_counts_on_meta_device(size, expected):
    with torch.device("meta"):
        model = GPT(GPTConfig.gpt2(size))
    assert model.lm_head.weight.is_meta
    assert model.num_params() == expected
    assert sum(r.count for r in parameter_table(model)) == expected


def test_untied_gpt2_small_adds_one_embedding_table():
    with torch.device("meta"):
        model = GPT(GPTConfig.gpt2(tie_weights=False, bias=True))
    assert model.lm_head.bias is not None  # untied + bias: the head has a bias (like a Keras Dense)
    assert model.num_params() == 124_439_808 + 50257 * 768 + 50257


# --- structure and init -----------------------------------------------------------


def test_module_names_follow_gpt2(model):
    names = {n for n, _ in model.named_parameters()}
    assert {
        "transformer.embed.wte.weight",
        "transformer.embed.wpe.weight",
        "transformer.ln_f.weight",
        "transformer.h.1.attn.c_attn.weight",
        "transformer.h.0.mlp.c_proj.bias",
    } <= names
    assert model.lm_head.weight is model.transformer.embed.wte.weight
    assert model.lm_head.bias is None


def test_post_norm_has_no_final_layer_norm():
    model = GPT(GPTConfig.tiny_gpt())
    assert "ln_f" not in model.transformer
    assert "ln_f" in GPT(small_config()).transformer


def test_gpt2_style_init():
    torch.manual_seed(0)
    model = GPT(small_config(n_embd=64, n_layer=4, vocab_size=500))
    wte = model.transformer.embed.wte.weight
    assert abs(wte.std().item() - 0.02) < 0.002
    c_proj = model.transformer.h[0].attn.c_proj.weight
    assert abs(c_proj.std().item() - 0.02 / math.sqrt(8)) < 0.002  # scaled for 2 * n_layer residual adds
    assert (model.transformer.h[0].mlp.c_fc.bias == 0).all()
    assert (model.transformer.h[0].ln_1.weight == 1).all()


def test_initial_loss_is_close_to_uniform_guessing(model):
    g = torch.Generator().manual_seed(0)
    idx, targets = torch.randint(0, 11, (2, 16, 8), generator=g)
    _, loss = model(idx, targets)
    assert abs(loss.item() - math.log(11)) < 0.1


# --- forward ----------------------------------------------------------------------


def test_forward_shapes_and_loss_is_averaged_cross_entropy(model):
    idx = ids([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    targets = ids([2, 3, 4, 5, 6], [7, 8, 9, 10, 0])
    logits, loss = model(idx, targets)
    assert logits.shape == (2, 5, 11)
    expected = F.cross_entropy(logits.reshape(10, 11), targets.reshape(10))
    torch.testing.assert_close(loss, expected)
    no_targets_logits, no_loss = model(idx)
    assert no_loss is None
    torch.testing.assert_close(no_targets_logits, logits)


def test_the_same_token_at_another_position_gets_other_logits(model):
    # without position vectors, causal attention over copies of one token averages
    # identical vectors, and every position would predict the same thing
    logits = model(ids([3, 3, 3, 3]))[0]
    assert not torch.allclose(logits[0, 0], logits[0, 1], atol=1e-4)
    assert not torch.allclose(logits[0, 1], logits[0, 3], atol=1e-4)


def test_forward_accepts_int32_ids(model):
    idx = ids([1, 2, 3])
    torch.testing.assert_close(model(idx.int(), idx.int())[0], model(idx)[0])


@pytest.mark.parametrize("config", [small_config(), GPTConfig.tiny_gpt(), small_config(fast=True)])
def test_gpt_is_causal(config):
    torch.manual_seed(0)
    model = GPT(config).eval()
    T = config.block_size
    idx = torch.randint(0, config.vocab_size, (1, T), generator=torch.Generator().manual_seed(1))
    changed = idx.clone()
    changed[0, -1] = (idx[0, -1] + 1) % config.vocab_size
    a, b = model(idx)[0], model(changed)[0]
    torch.testing.assert_close(a[:, :-1], b[:, :-1], atol=ATOL, rtol=0)
    assert not torch.allclose(a[:, -1], b[:, -1])


def test_fast_path_gives_the_same_logits(model):
    fast = GPT(small_config(fast=True)).eval()
    fast.load_state_dict(model.state_dict())
    idx = ids([1, 2, 3, 4, 5, 6, 7, 8])
    torch.testing.assert_close(fast(idx)[0], model(idx)[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("activation", ["gelu", "relu"])
@pytest.mark.parametrize("norm", ["pre", "post"])
@pytest.mark.parametrize("mlp", [True, False])
def test_fast_path_is_the_same_model_with_the_same_logits_and_gradients(activation, norm, mlp):
    """fast=True changes how each module computes, not which modules or weights there are."""
    shape = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16, activation=activation, norm=norm, mlp=mlp)
    torch.manual_seed(0)
    teaching = GPT(GPTConfig(**shape))
    torch.manual_seed(0)
    fast = GPT(GPTConfig(**shape, fast=True))
    assert [type(m) for m in teaching.modules()] == [type(m) for m in fast.modules()]
    assert list(teaching.state_dict()) == list(fast.state_dict())
    for (name, a), b in zip(teaching.state_dict().items(), fast.state_dict().values()):
        assert torch.equal(a, b), name
    x = torch.randint(11, (3, 8), generator=torch.Generator().manual_seed(1))
    (logits_t, loss_t), (logits_f, loss_f) = teaching(x, x), fast(x, x)
    torch.testing.assert_close(logits_f, logits_t, atol=1e-5, rtol=0)
    loss_t.backward()
    loss_f.backward()
    for (name, a), b in zip(teaching.named_parameters(), fast.parameters()):
        torch.testing.assert_close(b.grad, a.grad, atol=1e-5, rtol=1e-4, msg=name)


def test_fast_path_really_calls_the_fused_kernels(monkeypatch):
    """Each switch is a branch where the computation happens: count the fused calls."""
    import torch.nn.functional as F

    calls = []
    for name in ("scaled_dot_product_attention", "layer_norm", "gelu"):
        original = getattr(F, name)
        monkeypatch.setattr(F, name, lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k))
    GPT(small_config())(ids([1, 2, 3]))
    assert calls == []  # the teaching path runs the chapters' code only
    GPT(small_config(fast=True))(ids([1, 2, 3]))
    # 2 layers: per block two LayerNorms, one attention, one GELU; then ln_f
    assert sorted(calls) == sorted(["layer_norm"] * 5 + ["scaled_dot_product_attention"] * 2 + ["gelu"] * 2)


def test_dropout_only_in_training_mode():
    torch.manual_seed(0)
    model = GPT(small_config(dropout=0.5))
    idx = ids([1, 2, 3, 4])
    model.train()
    assert not torch.allclose(model(idx)[0], model(idx)[0])
    model.eval()
    torch.testing.assert_close(model(idx)[0], model(idx)[0])


def test_every_parameter_gets_a_gradient(model):
    idx = ids([1, 2, 3, 4])
    _, loss = model(idx, ids([2, 3, 4, 5]))
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


# --- errors -----------------------------------------------------------------------


def test_sequence_longer_than_context_says_how_to_crop():
    model = GPT(small_config(block_size=64))
    with pytest.raises(
        ValueError,
        match=r"sequence of length 70 is longer than the context length block_size=64: .* crop to the last 64 tokens",
    ):
        model(torch.zeros(1, 70, dtype=torch.long))


@pytest.mark.parametrize(
    "idx, message",
    [
        (ids([1, 11, 3]), r"idx contains token id 11, outside \[0, 11\) for vocab_size=11"),
        (ids([1, -1, 3]), r"idx contains token id -1, outside \[0, 11\)"),
        (torch.tensor([[1.0, 2.0]]), r"integer token ids.*got dtype torch.float32; use idx.long\(\)"),
        (torch.tensor([1, 2, 3]), r"shape \(B, T\), got shape \(3,\); for one sequence use idx.unsqueeze\(0\)"),
        (torch.zeros(1, 2, 3, dtype=torch.long), r"shape \(B, T\), got shape \(1, 2, 3\)"),
        (torch.zeros(2, 0, dtype=torch.long), r"shape \(2, 0\): give at least one token"),
        ([[1, 2, 3]], r"idx must be a torch.Tensor of token ids, got list"),
    ],
)
def test_bad_idx_raises_value_error_naming_the_value(model, idx, message):
    with pytest.raises(ValueError, match=message):
        model(idx)


def test_bad_targets_raise_value_error(model):
    idx = ids([1, 2, 3])
    with pytest.raises(ValueError, match=r"targets must have the same shape as idx \(1, 3\), got \(1, 2\)"):
        model(idx, ids([1, 2]))
    with pytest.raises(ValueError, match=r"targets contains token id 12"):
        model(idx, ids([1, 2, 12]))
