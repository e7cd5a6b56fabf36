"""Positional encodings: sinusoids, the offset property, token + position embedding."""

import math

import pytest
import torch

from llm_guide.embeddings import TokenAndPositionEmbedding, offset_matrix, sinusoidal_positions


def test_sinusoidal_positions_follow_the_formula():
    T, C = 50, 8
    pe = sinusoidal_positions(T, C, dtype=torch.float64)
    assert pe.shape == (T, C) and pe.dtype == torch.float64
    for p in (0, 1, 17, 49):
        for i in range(C // 2):
            w = 10000 ** (-2 * i / C)
            assert pe[p, 2 * i].item() == pytest.approx(math.sin(p * w), abs=1e-12)
            assert pe[p, 2 * i + 1].item() == pytest.approx(math.cos(p * w), abs=1e-12)
    assert torch.equal(pe[0], torch.tensor([0.0, 1.0] * 4, dtype=torch.float64))


def test_sinusoidal_positions_are_bounded_and_distinct():
    pe = sinusoidal_positions(200, 16)
    assert pe.dtype == torch.float32
    assert pe.abs().max() <= 1.0
    assert torch.cdist(pe, pe).add(torch.eye(200) * 10).min() > 1e-3  # no two positions share a code


@pytest.mark.parametrize("C", [0, 7, -2])
def test_sinusoidal_positions_need_a_positive_even_width(C):
    with pytest.raises(ValueError, match=f"C={C} must be a positive even number"):
        sinusoidal_positions(4, C)


@pytest.mark.parametrize("k", [0, 1, 3, 10, -4])
def test_offset_matrix_shifts_every_position_by_k(k):
    T, C = 64, 16
    pe = sinusoidal_positions(T + 20, C, dtype=torch.float64)
    M = offset_matrix(k, C, dtype=torch.float64)
    for p in range(max(0, -k), T):
        torch.testing.assert_close(M @ pe[p], pe[p + k], atol=1e-10, rtol=0)
    # the same check for the whole table at once
    if k > 0:
        torch.testing.assert_close(pe[:-k] @ M.T, pe[k:], atol=1e-10, rtol=0)


def test_offset_matrix_is_a_block_diagonal_rotation():
    C = 8
    M3, M5 = offset_matrix(3, C, dtype=torch.float64), offset_matrix(5, C, dtype=torch.float64)
    torch.testing.assert_close(offset_matrix(0, C, dtype=torch.float64), torch.eye(C, dtype=torch.float64))
    torch.testing.assert_close(M3 @ M3.T, torch.eye(C, dtype=torch.float64))  # a rotation: lengths unchanged
    torch.testing.assert_close(M3 @ M5, offset_matrix(8, C, dtype=torch.float64))  # shifts compose by adding
    assert (M3[0, 2:] == 0).all() and (M3[2:4, :2] == 0).all()  # only 2x2 blocks on the diagonal


def test_offset_matrix_float32_default_still_accurate():
    pe = sinusoidal_positions(40, 32)
    M = offset_matrix(7, 32)
    assert M.dtype == torch.float32
    torch.testing.assert_close(pe[:-7] @ M.T, pe[7:], atol=1e-5, rtol=0)


def test_learned_token_and_position_embedding_adds_the_two_tables():
    torch.manual_seed(0)
    emb = TokenAndPositionEmbedding(vocab_size=5, block_size=4, n_embd=16)
    assert emb.wte.weight.shape == (5, 16) and emb.wpe.weight.shape == (4, 16)
    assert sum(p.numel() for p in emb.parameters()) == 80 + 64  # the Keras TinyGPT's two tables
    idx = torch.tensor([[0, 1, 2], [4, 4, 4]])
    out = emb(idx)
    assert out.shape == (2, 3, 16)
    torch.testing.assert_close(out[1, 2], emb.wte.weight[4] + emb.wpe.weight[2])
    # the same token at different positions gets different vectors
    assert not torch.allclose(out[1, 0], out[1, 1])


def test_sinusoidal_token_and_position_embedding_is_not_trained():
    emb = TokenAndPositionEmbedding(5, 10, 8, positions="sinusoidal")
    assert [n for n, _ in emb.named_parameters()] == ["wte.weight"]
    assert "pe" in emb.state_dict()
    torch.testing.assert_close(emb.position_table(), sinusoidal_positions(10, 8))
    idx = torch.tensor([[3, 3]])
    torch.testing.assert_close(emb(idx)[0], emb.wte.weight[3] + sinusoidal_positions(2, 8))


def test_token_and_position_embedding_errors():
    with pytest.raises(ValueError, match="'rotary'"):
        TokenAndPositionEmbedding(5, 4, 8, positions="rotary")
    with pytest.raises(
        ValueError, match=r"length 5 is longer than the context length block_size=4.*crop to the last 4 tokens"
    ):
        TokenAndPositionEmbedding(5, 4, 8)(torch.zeros(1, 5, dtype=torch.long))
