"""greenai's exceptions: one root, a few meaningful kinds with structured attributes."""

from __future__ import annotations


class GreenAIError(Exception):
    """Root of every error greenai raises on purpose."""


class ConfigError(GreenAIError, ValueError):
    """A configuration value is invalid; raised before the job starts.

    Attributes:
        key: The configuration key (``country``, ``pue``, ...).
        value: The value given.
        accepted: What is accepted, in words.
    """

    def __init__(self, key: str, value: object, accepted: str) -> None:
        shown_key = key if key.isprintable() else repr(key)  # an unknown key from a file
        super().__init__(f"invalid {shown_key}={_shown(value)}: {accepted}")
        self.key = key
        self.value = value
        self.accepted = accepted


def _shown(value: object) -> str:
    """``repr(value)`` for a message; never raises (a 5000-digit integer, deep nesting)."""
    try:
        return repr(value)
    except (ValueError, RecursionError):
        return f"<{type(value).__name__}>"


class StorageError(GreenAIError):
    """The ledger cannot be used (corrupt, foreign, newer schema, unreachable).

    Attributes:
        url: The ledger's URL with any password hidden.
        hint: What to do.
    """

    def __init__(self, message: str, url: str = "", hint: str = "") -> None:
        text = message if not hint else f"{message} ({hint})"
        super().__init__(text)
        self.url = url
        self.hint = hint


class HardwareUnavailable(GreenAIError):  # noqa: N818 - a state, like collectors.Unavailable
    """No collector could measure anything on this machine.

    Attributes:
        reasons: Collector name -> why it is unavailable.
    """

    def __init__(self, reasons: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in reasons.items()))
        self.reasons = reasons
