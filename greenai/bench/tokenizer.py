"""Byte-level tokenizer of the built-in models: one token per UTF-8 byte, 256 tokens."""

from __future__ import annotations

VOCAB_SIZE = 256


class ByteTokenizer:
    """Text <-> token ids, one id per UTF-8 byte (no unknown tokens, nothing to train).

    Attributes:
        vocab_size: 256.
    """

    vocab_size = VOCAB_SIZE

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (its UTF-8 bytes)."""
        return list(text.encode("utf-8"))

    def decode(self, ids: list[int]) -> str:
        """Text of token ids; bytes that do not form UTF-8 become U+FFFD."""
        return bytes(ids).decode("utf-8", errors="replace")
