"""A small GPT-style causal language model (PyTorch) with a key/value cache for decoding.

Imported only when a benchmark runs (it imports torch at module level).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - the usual alias
from torch import Tensor, nn

KVCache = list[tuple[Tensor, Tensor]]


@dataclass(frozen=True, slots=True)
class GPTConfig:
    """Shape of a :class:`GPT`.

    Attributes:
        vocab_size: Tokens in the vocabulary (256 for bytes).
        block_size: Longest context, tokens.
        n_layer: Transformer blocks.
        n_head: Attention heads per block.
        d_model: Width of the residual stream.
    """

    vocab_size: int = 256
    block_size: int = 256
    n_layer: int = 4
    n_head: int = 4
    d_model: int = 256

    def __post_init__(self) -> None:
        from greenai.errors import ConfigError

        for key in ("vocab_size", "block_size", "n_layer", "n_head", "d_model"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(key, value, "a whole number > 0")
        if self.d_model % self.n_head:
            raise ConfigError("d_model", self.d_model, f"a multiple of n_head={self.n_head}")

    def half(self) -> GPTConfig:
        """Half the layers, width and heads (at least one each): a student's shape."""
        n_head = max(1, self.n_head // 2)
        return GPTConfig(
            vocab_size=self.vocab_size,
            block_size=self.block_size,
            n_layer=max(1, self.n_layer // 2),
            n_head=n_head,
            d_model=max(n_head, self.d_model // 2),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (cache keys, metadata)."""
        return asdict(self)


class _Attention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)

    def forward(
        self, x: Tensor, past: tuple[Tensor, Tensor] | None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        batch, steps, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=2)
        shape = (batch, steps, self.n_head, width // self.n_head)
        q, k, v = (t.view(shape).transpose(1, 2) for t in (q, k, v))
        if past is not None:
            k = torch.cat((past[0], k), dim=2)
            v = torch.cat((past[1], v), dim=2)
        if past is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        elif steps == 1:
            y = F.scaled_dot_product_attention(q, k, v)
        else:  # new tokens after a cache: each sees the cache and the new ones before it
            total = k.shape[2]
            mask = torch.ones(steps, total, dtype=torch.bool, device=x.device).tril(total - steps)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = y.transpose(1, 2).contiguous().view(batch, steps, width)
        return self.proj(y), (k, v)


class _Block(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.d_model)
        self.attn = _Attention(config)
        self.ln2 = nn.LayerNorm(config.d_model)
        self.fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.out = nn.Linear(4 * config.d_model, config.d_model)

    def forward(
        self, x: Tensor, past: tuple[Tensor, Tensor] | None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        attended, present = self.attn(self.ln1(x), past)
        x = x + attended
        x = x + self.out(F.gelu(self.fc(self.ln2(x))))
        return x, present


class GPT(nn.Module):
    """Decoder-only transformer: learned positions, pre-norm blocks, untied output head."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.tok = nn.Embedding(config.vocab_size, config.d_model)
        self.pos = nn.Embedding(config.block_size, config.d_model)
        self.blocks = nn.ModuleList(_Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.apply(self._init)
        for name, param in self.named_parameters():
            if name.endswith("out.weight") or name.endswith("proj.weight"):
                nn.init.normal_(param, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    def forward(self, ids: Tensor, cache: KVCache | None = None) -> tuple[Tensor, KVCache]:
        """Logits for every position, and the cache extended by ``ids``.

        Args:
            ids: Token ids, shape (batch, steps).
            cache: Keys and values of earlier tokens (from a previous call), or None.

        Returns:
            Logits (batch, steps, vocab) and the new cache.
        """
        offset = 0 if not cache else cache[0][0].shape[2]
        steps = ids.shape[1]
        if offset + steps > self.config.block_size:
            raise ValueError(
                f"context of {offset + steps} tokens exceeds block_size={self.config.block_size}"
            )
        positions = torch.arange(offset, offset + steps, device=ids.device)
        x = self.tok(ids) + self.pos(positions)
        present: KVCache = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, cache[i] if cache else None)
            present.append(kv)
        return self.head(self.ln_f(x)), present


def parameter_count(model: nn.Module) -> int:
    """Parameters of a model (quantized weights count as their logical elements)."""
    return sum(p.numel() for p in model.parameters())


def nonzero_parameter_count(model: nn.Module) -> int:
    """Parameters that are not exactly zero (what pruning removes)."""
    total = 0
    for param in model.parameters():
        data = param.detach()
        try:
            total += int(torch.count_nonzero(data.dequantize() if data.is_quantized else data))
        except (RuntimeError, NotImplementedError, TypeError):
            # torchao's quantized tensor subclasses implement no count_nonzero: count all
            total += data.numel()
    return total


def size_bytes(model: nn.Module) -> int:
    """Bytes of the model's serialized state (its weights as stored), B."""
    import io

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell()
