"""What the ledger's columns hold: text lengths and number ranges, in one place.

The tracking API, the configuration and the events file of ``greenai run`` check values
against these limits before they reach the database, so that a value the API accepts
is never one the database refuses (which would lose the run's final record). The
lengths are those of :mod:`greenai.ledger.schema`; a test compares the two, so they
cannot disagree. No SQLAlchemy here: the tracker imports this module.

Text: PostgreSQL refuses NUL in text and counts ``VARCHAR(n)`` in characters; neither
database can store a lone surrogate (UTF-8 cannot encode it). :func:`fit_text` replaces
both with U+FFFD and cuts text to its column, ending it in an ellipsis.

Numbers: ``Integer`` columns hold 32-bit values, ``BigInteger`` 64-bit ones, ``Float``
columns finite doubles (not NaN or infinity, which JSON exports cannot carry either).
"""

from __future__ import annotations

import math
import operator
import re
import sys
from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "BIGINT_MAX",
    "ELLIPSIS",
    "FLOAT_MAX",
    "HOST_ID_CHARS",
    "ID_CHARS",
    "INT_MAX",
    "INT_MIN",
    "METRIC_NAME_CHARS",
    "REPLACEMENT",
    "TAGS_MAX",
    "TAG_KEY_CHARS",
    "TAG_VALUE_CHARS",
    "TEXT_CHARS",
    "WINDOW_NAME_CHARS",
    "OutOfRangeError",
    "brief",
    "fit_text",
    "metric_value",
    "step_value",
    "storable",
    "whole_count",
]

ID_CHARS = 64
"""Run and window ids (``runs.id``, ``runs.parent_run_id``, ``windows.id``, ``run_id``)."""
HOST_ID_CHARS = 128
"""``runs.host_id``."""
TEXT_CHARS: Mapping[str, int] = MappingProxyType(
    {
        "name": 200,
        "project": 200,
        "model": 200,
        "base_model": 200,
        "technique": 100,
        "precision": 50,
        "phase": 50,
    }
)
"""Each text field of a run's metadata -> the length of its ``runs`` column."""
METRIC_NAME_CHARS = 200
"""``metrics.name``."""
WINDOW_NAME_CHARS = 200
"""``windows.name``."""
TAG_KEY_CHARS = 200
TAG_VALUE_CHARS = 1000
TAGS_MAX = 100
"""Tags are one JSON column, unbounded in the database: these bound one run's tags."""

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
"""``Integer`` columns: ``batch_size``, ``seq_len``, ``metrics.step``."""
BIGINT_MAX = 2**63 - 1
"""``BigInteger`` columns: ``tokens_input``, ``tokens_output``, ``samples``."""
FLOAT_MAX = sys.float_info.max
"""``Float`` columns (``metrics.value``): finite doubles."""

REPLACEMENT = "\ufffd"
ELLIPSIS = "\u2026"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_BRIEF_CHARS = 60


class OutOfRangeError(ValueError):
    """A number of the right kind beyond what its column holds."""


def storable(text: str) -> bool:
    """Whether the ledger can hold ``text`` as it is (no NUL, no lone surrogate): a filter
    value that is not matches no row, and would make the driver raise."""
    return _UNSTORABLE.search(text) is None


def fit_text(text: str, max_chars: int) -> tuple[str, str]:
    """``text`` as the ledger can hold it, and what had to change ("" when nothing).

    NUL and lone surrogates become U+FFFD; text longer than ``max_chars`` characters is
    cut to ``max_chars``, its last character an ellipsis.
    """
    changes = []
    if len(text) > max_chars:
        text = text[: max_chars - 1] + ELLIPSIS
        changes.append(f"cut to {max_chars} characters")
    if _UNSTORABLE.search(text):
        text = _UNSTORABLE.sub(REPLACEMENT, text)
        changes.append("NUL or unencodable characters replaced by U+FFFD")
    return text, " and ".join(changes)


def _integer(value: object) -> int | None:
    """``value`` as an int when it is one (bool excepted) or has ``__index__``."""
    if isinstance(value, bool | str | bytes):
        return None
    if isinstance(value, int):
        return value
    try:
        return operator.index(value)  # type: ignore[arg-type]  # numpy, torch integers
    except Exception:
        return None


def _real(value: object) -> float:
    """``value`` as a float (ValueError if it is not a number; OutOfRangeError if too large)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | bytes):
        raise ValueError("not a number")
    whole = _integer(value)
    try:
        number = float(whole if whole is not None else value)  # type: ignore[arg-type]
    except OverflowError as exc:
        raise OutOfRangeError("beyond a double") from exc
    except Exception as exc:
        raise ValueError("not a number") from exc
    if math.isnan(number):
        raise ValueError("not a number")
    if math.isinf(number):
        raise OutOfRangeError("not finite")
    return number


def whole_count(value: object) -> int:
    """A token or sample count: a whole number from 0 to :data:`BIGINT_MAX`.

    Integers, integer-like objects (numpy, torch) and whole floats are accepted.

    Raises:
        ValueError: Not a whole number >= 0.
        OutOfRangeError: Larger than :data:`BIGINT_MAX`.
    """
    count = _integer(value)
    if count is None:
        number = _real(value)  # ValueError, or OutOfRangeError for an infinite float
        if not number.is_integer():
            raise ValueError("not a whole number")
        count = int(number)
    if count < 0:
        raise ValueError("negative")
    if count > BIGINT_MAX:
        raise OutOfRangeError(f"above {BIGINT_MAX}")
    return count


def metric_value(value: object) -> float:
    """A metric's value: a finite number (ints and floats, numpy and torch scalars).

    Raises:
        ValueError: Not a number (NaN included).
        OutOfRangeError: Infinite, or beyond a double (``10**400``).
    """
    return _real(value)


def step_value(value: object) -> int | None:
    """A metric's step: None, or a whole number from :data:`INT_MIN` to :data:`INT_MAX`.

    Raises:
        ValueError: Not a whole number.
        OutOfRangeError: Beyond the ``Integer`` column.
    """
    if value is None:
        return None
    step = _integer(value)
    if step is None:
        number = _real(value)
        if not number.is_integer():
            raise ValueError("not a whole number")
        step = int(number)
    if not INT_MIN <= step <= INT_MAX:
        raise OutOfRangeError(f"outside {INT_MIN}..{INT_MAX}")
    return step


def brief(value: object) -> str:
    """A short ``repr`` of any value for a message; never raises, never huge.

    A very large integer is described (its ``repr`` may raise past 4300 digits).
    """
    if isinstance(value, int) and value.bit_length() > 64:
        digits = int(value.bit_length() * math.log10(2)) + 1
        return f"<an integer of about {digits} digits>"
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= _BRIEF_CHARS else text[: _BRIEF_CHARS - 1] + ELLIPSIS
