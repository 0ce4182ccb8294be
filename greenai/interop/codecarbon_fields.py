"""The rules for one cell of a CodeCarbon row: numbers, times, countries and text.

Each function takes the cell as written and returns its value, or raises
:class:`FieldError` saying what is wrong; the caller adds the line and column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from datetime import UTC, datetime, timedelta, tzinfo
from typing import NamedTuple

from greenai.interop.formula_cells import restore_text
from greenai.interop.local_time import local_to_utc

MAX_AMOUNT = 1e12
"""Largest energy (kWh), emissions (kg) or PUE accepted: beyond any real run, and small
enough that sums over any number of runs stay finite."""
MAX_DURATION_S = 100 * 365.25 * 86_400.0
"""Longest duration accepted: 100 years."""

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)


class FieldError(ValueError):
    """A cell's value is refused; the message says why."""


def number(
    cell: str,
    *,
    default: float = 0.0,
    minimum: float = 0.0,
    maximum: float = MAX_AMOUNT,
    why_minimum: str = "",
) -> float:
    """A finite decimal number in ``[minimum, maximum]``; ``default`` for an empty cell.

    Accepts what CodeCarbon writes (``12``, ``-0.5``, ``1.6e-06``, spaces around);
    refuses ``nan``, ``inf``, ``1_000`` and digits other than ASCII.
    """
    text = cell.strip()
    if not text:
        return default
    if _NON_FINITE.fullmatch(text):
        raise FieldError(f"{cell!r} is not a finite number")
    if not _DECIMAL.fullmatch(text):
        raise FieldError(f"{cell!r} is not a number")
    value = float(text) + 0.0  # -0.0 -> 0.0
    if value < minimum:
        raise FieldError(f"{cell!r} is below {minimum:g}{why_minimum}")
    if not math.isfinite(value) or value > maximum:
        raise FieldError(f"{cell!r} is above {maximum:g}, more than any real run")
    return value


class Moment(NamedTuple):
    """A ``timestamp`` cell read.

    Attributes:
        utc: The time, aware UTC.
        naive: Written without offset, so read in the caller's time zone.
        flag: A flag code when a DST change made that local time ambiguous or skipped.
    """

    utc: datetime
    naive: bool
    flag: str | None


def timestamp(cell: str, zone: tzinfo = UTC) -> Moment:
    """An ISO 8601 time as aware UTC; a time without offset is local time in ``zone``
    (CodeCarbon writes ``datetime.now()``), see :mod:`greenai.interop.local_time`."""
    text = cell.strip()
    if not text:
        raise FieldError("no timestamp (CodeCarbon writes the end of the run here)")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise FieldError(
            f"{cell!r} is not an ISO 8601 time (such as 2026-03-01T10:00:00)"
        ) from None
    try:
        if moment.tzinfo is None:
            utc, flag = local_to_utc(moment, zone)
            return Moment(utc, True, flag)
        return Moment(moment.astimezone(UTC), False, None)
    except OverflowError:
        raise FieldError(f"{cell!r} is not a time in UTC's range (years 1 to 9999)") from None


def start_of(ended_at: datetime, duration_s: float) -> datetime:
    """When a run that ended at ``ended_at`` and lasted ``duration_s`` started."""
    try:
        return ended_at - timedelta(seconds=duration_s)
    except OverflowError:
        raise FieldError(f"{duration_s:g} s before the timestamp is before year 1") from None


def country(cell: str, known: Collection[str]) -> str | None:
    """An ISO 3166-1 alpha-3 code in ``known`` (upper case), or None for an empty cell."""
    code = cell.strip().upper()
    if not code:
        return None
    if len(code) == 3 and code.isascii() and code.isalpha() and code in known:
        return code
    raise FieldError(
        f"{cell!r} is not an ISO 3166-1 alpha-3 code that CodeCarbon's factor table knows"
        " (such as FRA, USA, DEU)"
    )


def text(cell: str, max_chars: int | None = None) -> str:
    """A text cell as greenai exported it (see :mod:`greenai.interop.formula_cells`),
    at most ``max_chars`` characters."""
    value = restore_text(cell)
    if max_chars is not None and len(value) > max_chars:
        raise FieldError(f"{len(value)} characters, more than the ledger's {max_chars}")
    return value


def intensity_g_per_kwh(emissions_kg: float, facility_kwh: float) -> float | None:
    """gCO2e per kWh of facility energy; None without energy."""
    if not facility_kwh:
        return None
    intensity = emissions_kg / facility_kwh * 1000.0
    if not math.isfinite(intensity):
        raise FieldError(f"{emissions_kg:g} kg for {facility_kwh:g} kWh is not a finite intensity")
    return intensity
