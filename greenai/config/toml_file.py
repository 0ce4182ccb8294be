"""Reading a TOML file a user wrote: whatever it holds, a dict or one ConfigError.

``tomllib`` raises more than ``TOMLDecodeError`` on hostile text: ``UnicodeDecodeError``
(not UTF-8), a plain ``ValueError`` (an integer of more than 4300 digits) and
``RecursionError`` (arrays or inline tables nested a thousand deep). A dotted key of many
parts (``a.a.a. ... = 1``) costs it time and memory quadratic in their number (30,000
parts, a 60 kB file: 3 GB and 11 s), so keys of more than :data:`MAX_KEY_PARTS` parts
are refused before parsing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from greenai.errors import ConfigError

__all__ = ["MAX_KEY_PARTS", "read_toml"]

MAX_KEY_PARTS = 1000
"""The most parts of a dotted key (``tool.greenai.pue`` has 3) in a file greenai reads."""


def read_toml(path: Path, key: str = "config") -> dict[str, Any]:
    """The document of the TOML file at ``path``.

    Args:
        path: The file.
        key: The configuration key the error names (``config``).

    Raises:
        ConfigError: Unreadable, not UTF-8, not TOML, or nested too deeply; one line.
    """
    import tomllib

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(key, str(path), f"a readable TOML file ({exc})") from exc
    if _most_key_parts(raw) > MAX_KEY_PARTS:
        accepted = f"a TOML file whose dotted keys have at most {MAX_KEY_PARTS} parts"
        raise ConfigError(key, str(path), accepted)
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except RecursionError as exc:
        raise ConfigError(key, str(path), "a TOML file nested less deeply") from exc
    except ValueError as exc:  # TOMLDecodeError, UnicodeDecodeError, a 5000-digit integer
        raise ConfigError(key, str(path), f"a readable TOML file ({exc})") from exc


def _most_key_parts(raw: bytes) -> int:
    """An upper bound of the parts of the longest dotted key: the dots before the first
    ``=`` of a line, plus one (dots in a quoted key count too)."""
    return 1 + max(
        (line.partition(b"=")[0].count(b".") for line in raw.splitlines() if b"=" in line),
        default=0,
    )
