"""Chapter 9: the learning-rate schedule, AdamW by hand, the training loop, checkpoints."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from llm_guide import corpora
from llm_guide.data import train_val_split
from llm_guide.model import GPT, GPTConfig
from llm_guide.train import (
    EvalPoint,
    TrainConfig,
    TrainingDivergedError,
    TrainResult,
    adamw_step,
    estimate_loss,
    load_checkpoint,
    lr_at,
    make_optimizer,
    save_checkpoint,
    sgd_step,
    train,
)
from llm_guide.vocab import Vocabulary


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These models are tiny: one thread beats two fighting over a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def assert_close(actual: torch.Tensor, expected: torch.Tensor, rtol: float = 1.3e-6, atol: float = 1e-5) -> None:
    """torch.allclose with the largest difference in the message (torch.testing's version costs ~1 s to import)."""
    assert torch.allclose(actual, expected, rtol=rtol, atol=atol), f"max |diff| = {(actual - expected).abs().max()}"


def tiny_gpt(vocab_size: int, block_size: int = 8, seed: int = 0, **overrides) -> GPT:
    settings = dict(vocab_size=vocab_size, block_size=block_size, n_layer=1, n_head=2, n_embd=16)
    settings.update(overrides)
    torch.manual_seed(seed)
    return GPT(GPTConfig(**settings))


def hello_data() -> tuple[Vocabulary, torch.Tensor]:
    vocab = Vocabulary.from_text("hello hello")
    return vocab, torch.tensor(vocab.encode("hello hello"))


# --- the learning-rate schedule -------------------------------------------------------


def test_lr_schedule_warms_up_linearly_then_decays_by_cosine_to_min_lr():
    config = TrainConfig(steps=110, lr=1e-3, min_lr=1e-4, warmup_steps=10)
    lrs = [lr_at(s, config) for s in range(110)]
    # warm-up: equal steps up to the peak
    assert lrs[:10] == pytest.approx([1e-3 * (s + 1) / 10 for s in range(10)])
    assert max(lrs) == pytest.approx(1e-3) and lrs[9] == pytest.approx(1e-3) == lrs[10]
    # decay: never rises, halfway down at the middle, at min_lr on the last step
    assert all(b <= a for a, b in zip(lrs[10:], lrs[11:]))
    middle = 10 + 99 // 2
    assert lrs[middle] == pytest.approx((1e-3 + 1e-4) / 2, rel=0.02)
    assert lrs[-1] == pytest.approx(1e-4)
    assert lr_at(500, config) == pytest.approx(1e-4)  # past the end it stays at min_lr
    # the cosine shape: lr - min_lr follows (1 + cos(pi * progress)) / 2
    assert lrs[10 + 33] == pytest.approx(1e-4 + 9e-4 * (1 + math.cos(math.pi / 3)) / 2)


def test_lr_schedule_defaults_and_constant_rate():
    assert lr_at(0, TrainConfig(steps=100, lr=1e-2)) == pytest.approx(1e-2)  # no warm-up by default
    assert lr_at(99, TrainConfig(steps=100, lr=1e-2)) == pytest.approx(1e-3)  # min_lr defaults to lr / 10
    constant = TrainConfig(steps=50, lr=3e-3, min_lr=3e-3)
    assert [lr_at(s, constant) for s in range(50)] == pytest.approx([3e-3] * 50)
    assert lr_at(0, TrainConfig(steps=1, lr=0.5)) == pytest.approx(0.05)  # a single step ends at min_lr


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(lr=0.0), r"lr must be a positive number, got 0.0"),
        (dict(lr=-1e-3), r"lr must be a positive number, got -0.001"),
        (dict(steps=0), r"steps must be a positive integer, got 0"),
        (dict(batch_size=0), r"batch_size must be a positive integer, got 0 \(or None to use every window"),
        (dict(lr=1e-3, min_lr=1e-2), r"min_lr must be between 0 and lr = 0.001, got 0.01"),
        (dict(warmup_steps=-1), r"warmup_steps must be a whole number >= 0, got -1"),
        (dict(grad_clip=0.0), r"grad_clip must be > 0, or None for no clipping"),
        (dict(eval_interval=0), r"eval_interval must be a positive integer, got 0"),
        (dict(weight_decay=-0.1), r"weight_decay must be >= 0"),
        (dict(block_size=0), r"block_size must be a positive integer, got 0 \(or None"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(settings, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**settings)


# --- the update rules written out ---------------------------------------------------


def test_adamw_step_equals_torch_adamw_for_five_steps():
    torch.manual_seed(0)
    mine = [torch.randn(4, 3), torch.randn(3)]
    theirs = [nn.Parameter(p.clone()) for p in mine]
    settings = dict(lr=0.05, betas=(0.8, 0.95), eps=1e-8, weight_decay=0.1)
    optimizer = torch.optim.AdamW(theirs, **settings)
    m = [torch.zeros_like(p) for p in mine]
    v = [torch.zeros_like(p) for p in mine]
    for t in range(1, 6):
        grads = [torch.randn_like(p) for p in mine]
        for p, g in zip(theirs, grads):
            p.grad = g.clone()
        optimizer.step()
        for p, g, m_i, v_i in zip(mine, grads, m, v):
            adamw_step(p, g, m_i, v_i, t, **settings)
        for a, b in zip(mine, theirs):
            assert_close(a, b.detach(), rtol=1e-6, atol=1e-7)
    # the weights really moved, and the state matches torch's too
    assert not torch.allclose(mine[0], theirs[0].detach() * 0)
    assert_close(m[0], optimizer.state[theirs[0]]["exp_avg"])
    assert_close(v[0], optimizer.state[theirs[0]]["exp_avg_sq"])


def test_first_adam_step_moves_every_weight_by_about_lr():
    # bias correction makes m_hat / sqrt(v_hat) = g / |g| = +-1 on step 1
    p, g = torch.zeros(5), torch.tensor([1e-4, -3.0, 7.0, 0.5, -2e3])
    adamw_step(p, g, torch.zeros(5), torch.zeros(5), t=1, lr=0.01, weight_decay=0.0)
    assert_close(p, -0.01 * g.sign(), rtol=1e-3, atol=0)


def test_sgd_step_with_momentum_equals_torch_sgd():
    torch.manual_seed(0)
    mine = torch.randn(6)
    theirs = nn.Parameter(mine.clone())
    optimizer = torch.optim.SGD([theirs], lr=0.1, momentum=0.9)
    velocity = torch.zeros(6)
    for _ in range(5):
        g = torch.randn(6)
        theirs.grad = g.clone()
        optimizer.step()
        sgd_step(mine, g, velocity, lr=0.1, momentum=0.9)
        assert_close(mine, theirs.detach())
    plain = torch.ones(2)
    sgd_step(plain, torch.tensor([1.0, -2.0]), torch.zeros(2), lr=0.5, momentum=0.0)
    assert plain.tolist() == [0.5, 2.0]


# --- the training loop ------------------------------------------------------------------


def test_make_optimizer_decays_only_matrices():
    model = tiny_gpt(5)
    optimizer = make_optimizer(model, TrainConfig(weight_decay=0.2))
    decayed, plain = optimizer.param_groups
    assert decayed["weight_decay"] == 0.2 and plain["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decayed["params"]) and all(p.dim() < 2 for p in plain["params"])
    n_unique = len(list(model.parameters()))  # the tied embedding appears once
    assert len(decayed["params"]) + len(plain["params"]) == n_unique


def test_training_on_hello_hello_with_every_window_in_each_step():
    vocab, data = hello_data()
    model = tiny_gpt(len(vocab), block_size=4)
    config = TrainConfig(steps=150, batch_size=None, lr=1e-2, eval_interval=50, progress=False)
    result = train(model, data, config=config)
    assert isinstance(result, TrainResult)
    assert len(result.losses) == len(result.lrs) == len(result.grad_norms) == 150
    assert [e.step for e in result.evals] == [0, 50, 100, 150]
    assert all(isinstance(e, EvalPoint) and e.val_loss is None for e in result.evals)
    # from about ln(5) = 1.6 (a uniform guess) to nearly sure of every next character
    assert result.evals[0].train_loss > 1.2
    assert result.final_loss < 0.25 * result.evals[0].train_loss
    assert result.lrs[0] == pytest.approx(1e-2) and result.lrs[-1] == pytest.approx(1e-3)
    assert result.elapsed > 0
    # the model ended in training mode and predicts "hell" -> "ello"
    assert model.training
    model.eval()
    logits, _ = model(torch.tensor([vocab.encode("hell")]))
    assert "".join(vocab.decode(logits.argmax(-1)[0].tolist())) == "ello"


def test_training_lowers_validation_loss_on_a_real_text():
    text = corpora.python_docs(max_chars=20_000)
    vocab = Vocabulary.from_text(text)
    train_data, val_data = train_val_split(torch.tensor(vocab.encode(text)), 0.1)
    model = tiny_gpt(len(vocab), block_size=16, n_embd=32, fast=True)
    config = TrainConfig(
        steps=150, batch_size=16, lr=3e-3, warmup_steps=15, eval_interval=50, eval_steps=5, progress=False
    )
    result = train(model, train_data, val_data, config)
    first, last = result.evals[0], result.evals[-1]
    assert first.train_loss == pytest.approx(math.log(len(vocab)), abs=0.2)  # a uniform guess
    assert last.train_loss < first.train_loss - 1.0
    assert last.val_loss < first.val_loss - 1.0  # it learned the text, not just the batches
    assert result.lrs[:3] == pytest.approx([3e-3 / 15, 6e-3 / 15, 9e-3 / 15])


def test_same_seed_gives_identical_losses_and_another_seed_does_not():
    _, data = hello_data()
    data = data.repeat(4)  # 44 tokens, so random batches differ from run to run

    def run(seed: int) -> list[float]:
        model = tiny_gpt(5, block_size=4, seed=0)
        config = TrainConfig(steps=15, batch_size=4, lr=1e-2, seed=seed, eval_interval=5, eval_steps=2, progress=False)
        return train(model, data, config=config).losses

    assert run(seed=7) == run(seed=7)
    assert run(seed=7) != run(seed=8)


def test_evaluation_does_not_change_the_training_batches():
    _, data = hello_data()
    data = data.repeat(4)

    def run(eval_interval: int) -> list[float]:
        config = TrainConfig(steps=10, batch_size=4, lr=1e-2, eval_interval=eval_interval, eval_steps=3, progress=False)
        return train(tiny_gpt(5, block_size=4), data, config=config).losses

    assert run(eval_interval=2) == run(eval_interval=100)


def test_gradient_clipping_caps_the_norm_and_reports_it_before_clipping():
    from llm_guide.data import xy_pairs

    vocab, data = hello_data()
    model = tiny_gpt(len(vocab), block_size=4)
    model(*xy_pairs(data, 4))[1].backward()
    raw_norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))
    model.zero_grad()

    config = TrainConfig(steps=1, batch_size=None, grad_clip=0.01, progress=False)
    result = train(model, data, config=config)
    assert result.grad_norms[0] == pytest.approx(raw_norm.item(), rel=1e-5)
    assert raw_norm > 0.01
    # the gradients the optimizer used were scaled down to the cap
    used = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))
    assert used.item() == pytest.approx(0.01, rel=1e-4)


def test_estimate_loss_restores_the_mode_and_builds_no_graph():
    _, data = hello_data()
    model = tiny_gpt(5, block_size=4)
    model.train()
    loss = estimate_loss(
        model, data, block_size=4, batch_size=3, eval_steps=4, generator=torch.Generator().manual_seed(0)
    )
    assert isinstance(loss, float) and 1.0 < loss < 3.0  # near ln(5) = 1.61 for an untrained model
    assert model.training and all(p.grad is None for p in model.parameters())
    model.eval()
    estimate_loss(model, data, 4, batch_size=None)
    assert not model.training


def test_estimate_loss_with_all_windows_is_the_exact_mean():
    from llm_guide.data import xy_pairs

    _, data = hello_data()
    model = tiny_gpt(5, block_size=4)
    X, Y = xy_pairs(data, 4)
    model.eval()
    assert estimate_loss(model, data, 4, batch_size=None) == pytest.approx(model(X, Y)[1].item())


def test_divergence_stops_with_the_step_named():
    vocab, data = hello_data()
    model = tiny_gpt(len(vocab), block_size=4)
    with torch.no_grad():
        model.transformer.embed.wpe.weight[2, 0] = float("nan")  # poison one number
    config = TrainConfig(steps=5, batch_size=None, progress=False)
    with pytest.raises(
        TrainingDivergedError, match=r"the loss became nan at step 0 .*Lower the learning rate \(TrainConfig.lr\)"
    ):
        train(model, data, config=config)
    assert issubclass(TrainingDivergedError, RuntimeError)


def test_corpus_too_short_for_one_batch():
    vocab, data = hello_data()
    model = tiny_gpt(len(vocab), block_size=16)
    with pytest.raises(ValueError, match=r"train_data has 11 tokens, too short for one batch: .* block_size \+ 1 = 17"):
        train(model, data, config=TrainConfig(steps=1, progress=False))
    with pytest.raises(ValueError, match=r"val_data has 3 tokens, too short"):
        train(tiny_gpt(5, block_size=4), data, data[:3], TrainConfig(steps=1, progress=False))


def test_block_size_comes_from_the_model_or_the_config():
    _, data = hello_data()

    class NoConfig(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = tiny_gpt(5, block_size=4)

        def forward(self, idx, targets=None):
            return self.inner(idx, targets)

    with pytest.raises(ValueError, match="set TrainConfig.block_size"):
        train(NoConfig(), data, config=TrainConfig(steps=1, progress=False))
    result = train(NoConfig(), data, config=TrainConfig(steps=2, block_size=3, batch_size=None, progress=False))
    assert len(result.losses) == 2


def test_progress_bar_writes_to_stderr_only(capsys):
    _, data = hello_data()
    train(tiny_gpt(5, block_size=4), data, config=TrainConfig(steps=3, batch_size=None, progress=True))
    out, err = capsys.readouterr()
    assert out == ""
    assert "training" in err and "3/3" in err
    train(tiny_gpt(5, block_size=4), data, config=TrainConfig(steps=3, batch_size=None, progress=False))
    assert capsys.readouterr() == ("", "")


# --- checkpoints ------------------------------------------------------------------------------


def test_checkpoint_round_trip(tmp_path):
    vocab, data = hello_data()
    model = tiny_gpt(len(vocab), block_size=4)
    config = TrainConfig(steps=5, batch_size=None, progress=False)
    train(model, data, config=config)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(model, path, config, step=5, vocab=vocab.itos)

    other = tiny_gpt(len(vocab), block_size=4, seed=1)
    loaded, info = load_checkpoint(path, other)
    assert loaded is other
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))
    assert info["step"] == 5 and info["vocab"] == vocab.itos
    assert info["train_config"]["steps"] == 5 and info["train_config"]["batch_size"] is None
    assert info["model_config"]["vocab_size"] == len(vocab)


def test_checkpoint_rebuilds_the_gpt_from_its_stored_config(tmp_path):
    model = tiny_gpt(7, block_size=6, n_layer=2, activation="relu", tie_weights=False)
    save_checkpoint(model, tmp_path / "gpt.safetensors")
    loaded, info = load_checkpoint(tmp_path / "gpt.safetensors")
    assert isinstance(loaded, GPT) and loaded.config == model.config
    assert set(info) == {"model_config"}
    idx = torch.randint(0, 7, (2, 6))
    assert torch.equal(loaded(idx)[0], model(idx)[0])


def test_checkpoint_without_a_model_config_needs_a_model(tmp_path):
    plain = nn.Linear(3, 2)
    save_checkpoint(plain, tmp_path / "p.safetensors")
    with pytest.raises(ValueError, match="stores no model_config: pass the model to load into"):
        load_checkpoint(tmp_path / "p.safetensors")
    restored, info = load_checkpoint(tmp_path / "p.safetensors", nn.Linear(3, 2))
    assert torch.equal(restored.weight, plain.weight) and info == {}


def test_batches_random_or_all_windows():
    from llm_guide.data import xy_pairs
    from llm_guide.train import Batches

    _, data = hello_data()
    every = Batches(data, block_size=4, batch_size=None, name="data")
    x, y = every.next(torch.Generator())
    assert torch.equal(x, xy_pairs(data, 4)[0]) and x.shape == (7, 4)
    x, y = Batches(data, 4, 3, "data").next(torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (3, 4) and torch.equal(x[:, 1:], y[:, :-1])


def test_final_loss_is_the_last_evaluation():
    result = TrainResult(evals=[EvalPoint(0, 2.0, None), EvalPoint(10, 0.5, 0.7)])
    assert result.final_loss == 0.5
