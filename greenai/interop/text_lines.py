"""The lines of a text file read as bytes: UTF-8 (a BOM allowed), binary refused.

Reading bytes and decoding line by line keeps memory to one line and names the exact line
of a bad byte. Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r``; the ending stays on the
line, as the ``csv`` module wants it (a quoted cell may span lines).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from greenai.interop.problems import Problem, UnreadableFileError

MAX_LINE_BYTES = 1 << 20
"""Longest line read (1 MiB); a longer one is not a CodeCarbon row."""

_AFTER_LONE_CR = re.compile(r"(?<=\r)(?!\n)")


class TextLines:
    """Iterates over the decoded lines of a binary stream, counting them.

    Attributes:
        line: Lines handed out so far (the number of the last one).
        bytes_read: Bytes consumed from the stream so far.

    Raises (while iterating):
        UnreadableFileError: A NUL byte, bytes that are not UTF-8, or a line over
            :data:`MAX_LINE_BYTES`.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.line = 0
        self.bytes_read = 0
        self._stream = stream

    def __iter__(self) -> Iterator[str]:
        encoding = "utf-8-sig"  # the first line may start with a BOM
        while raw := self._stream.readline(MAX_LINE_BYTES + 1):
            self.bytes_read += len(raw)
            text = self._decode(raw, encoding)
            encoding = "utf-8"
            pieces = _AFTER_LONE_CR.split(text) if "\r" in text[:-2] else [text]
            for piece in pieces:
                if piece:
                    self.line += 1
                    yield piece

    def _decode(self, raw: bytes, encoding: str) -> str:
        number = self.line + 1
        if len(raw) > MAX_LINE_BYTES:
            raise UnreadableFileError(Problem(number, "longer than 1 MiB: not a CodeCarbon file"))
        if b"\0" in raw:
            raise UnreadableFileError(Problem(number, "a NUL byte: a binary file, not CSV text"))
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as exc:
            byte = raw[exc.start]
            message = f"not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8"
            raise UnreadableFileError(Problem(number, message)) from None
