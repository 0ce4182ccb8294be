"""One face for every causal LM the harness measures: the built-in GPT and Hugging Face
models (``plugins``) alike. Imported only when a benchmark runs (torch at module level).
"""

from __future__ import annotations

import abc
from typing import Any, Protocol

from torch import Tensor, nn

from greenai.bench.models import GPT


class Tokenizer(Protocol):
    """Text to token ids."""

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``."""
        ...


class CausalLM(abc.ABC):
    """A causal language model with its tokenizer.

    Attributes:
        name: Model name recorded on runs.
        module: The torch module (what techniques transform).
        tokenizer: Its tokenizer.
        block_size: Longest context, tokens.
        vocab_size: Tokens in the vocabulary.
    """

    def __init__(
        self, name: str, module: nn.Module, tokenizer: Tokenizer, block_size: int, vocab_size: int
    ) -> None:
        self.name = name
        self.module = module
        self.tokenizer = tokenizer
        self.block_size = block_size
        self.vocab_size = vocab_size

    def with_module(self, module: nn.Module, name: str | None = None) -> CausalLM:
        """The same model family around another module (a technique's result)."""
        return type(self)(
            name or self.name, module, self.tokenizer, self.block_size, self.vocab_size
        )

    @abc.abstractmethod
    def logits(self, ids: Tensor) -> Tensor:
        """Logits of every position, shape (batch, steps, vocab)."""

    @abc.abstractmethod
    def prefill(self, ids: Tensor) -> tuple[Tensor, Any]:
        """Process a prompt: the last position's logits (batch, vocab) and the cache."""

    @abc.abstractmethod
    def decode(self, ids: Tensor, cache: Any) -> tuple[Tensor, Any]:
        """One decode step of ``ids`` (batch, 1) after ``cache``: logits and the new cache."""


class BuiltinLM(CausalLM):
    """The built-in :class:`~greenai.bench.models.GPT` (byte tokens, its own KV cache)."""

    def logits(self, ids: Tensor) -> Tensor:
        """Logits of every position, shape (batch, steps, vocab)."""
        out: Tensor = self.module(ids)[0]
        return out

    def prefill(self, ids: Tensor) -> tuple[Tensor, Any]:
        """Process a prompt: the last position's logits (batch, vocab) and the cache."""
        logits, cache = self.module(ids)
        return logits[:, -1], cache

    def decode(self, ids: Tensor, cache: Any) -> tuple[Tensor, Any]:
        """One decode step of ``ids`` (batch, 1) after ``cache``: logits and the new cache."""
        logits, cache = self.module(ids, cache)
        return logits[:, -1], cache


def builtin_lm(name: str, module: GPT) -> BuiltinLM:
    """Wrap a built-in GPT with the byte tokenizer."""
    from greenai.bench.tokenizer import ByteTokenizer

    return BuiltinLM(
        name, module, ByteTokenizer(), module.config.block_size, module.config.vocab_size
    )
