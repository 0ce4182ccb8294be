"""A Hugging Face transformers causal LM behind the harness's :class:`CausalLM` face.

Imported only for ``--hf-model`` (``plugins.load_hf_model`` loads the folder offline).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from greenai.bench.lm import CausalLM

MAX_BLOCK = 2048  # longest context the harness uses (perplexity blocks), tokens


class HFTokenizer:
    """A transformers tokenizer without special tokens (the text's own tokens only)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``."""
        return list(self.tokenizer.encode(text, add_special_tokens=False))


class HFCausalLM(CausalLM):
    """A transformers ``AutoModelForCausalLM`` (its own KV cache through ``past_key_values``)."""

    @classmethod
    def from_pretrained_pair(cls, name: str, model: Any, tokenizer: Any) -> HFCausalLM:
        """Wrap a loaded model and tokenizer."""
        config = model.config
        context = (
            getattr(config, "max_position_embeddings", None)
            or getattr(config, "n_positions", None)
            or MAX_BLOCK
        )
        vocab = int(getattr(config, "vocab_size", 0) or len(tokenizer))
        return cls(name, model, HFTokenizer(tokenizer), min(int(context), MAX_BLOCK), vocab)

    def logits(self, ids: Tensor) -> Tensor:
        """Logits of every position, shape (batch, steps, vocab)."""
        out: Tensor = self.module(input_ids=ids, use_cache=False).logits
        return out

    def prefill(self, ids: Tensor) -> tuple[Tensor, Any]:
        """Process a prompt: the last position's logits (batch, vocab) and the cache."""
        out = self.module(input_ids=ids, use_cache=True)
        return out.logits[:, -1], out.past_key_values

    def decode(self, ids: Tensor, cache: Any) -> tuple[Tensor, Any]:
        """One decode step of ``ids`` (batch, 1) after ``cache``: logits and the new cache."""
        out = self.module(input_ids=ids, past_key_values=cache, use_cache=True)
        return out.logits[:, -1], out.past_key_values
