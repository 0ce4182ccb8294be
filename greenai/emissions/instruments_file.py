"""Contractual instruments for market-based Scope 2 (``instruments_file``): a CSV of the
energy attribute certificates, guarantees of origin, RECs, PPAs and green tariffs the
undertaking holds, each with its volume.

Columns (header names, any order; lines starting with ``#`` are comments):

- ``id``: the instrument's identifier, unique in the file (a certificate or contract
  number); the ledger records the MWh used under it, so keep it stable.
- ``type``: one of :data:`INSTRUMENT_TYPES`.
- ``mwh``: the volume, in MWh (> 0).
- ``location``: the market it was issued for, ``ISO3`` (the whole country) or
  ``ISO3/region`` (that region only).
- ``vintage``: the generation year (``2026``) or period (``2026-01..2026-06``, months).
- ``g_per_kwh``: the instrument's emission factor in gCO2e/kWh (0 for renewable EACs).
- ``quality_criteria_met``: ``yes`` or ``no``, the filer's statement that it meets the
  Scope 2 Quality Criteria (GHG Protocol Scope 2 Guidance, chapter 7.1); an instrument
  stated ``no`` is listed, never applied.
- ``source``, ``notes``: optional, reported as given.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from greenai.emissions.config_csv import read_table
from greenai.errors import ConfigError

__all__ = ["INSTRUMENT_TYPES", "RENEWABLE_TYPES", "Instrument", "read_instruments"]

INSTRUMENT_TYPES = ("eac", "go", "rec", "i-rec", "ppa", "green_tariff")
"""Instrument types accepted in the ``type`` column (case-insensitive)."""
RENEWABLE_TYPES = INSTRUMENT_TYPES
"""Types whose MWh count as renewable in E1-5 when their factor is 0 (every type here
conveys renewable attributes; a zero-emission nuclear certificate is not one of them)."""

REQUIRED = ("id", "type", "mwh", "location", "vintage", "g_per_kwh", "quality_criteria_met")
_YEAR = re.compile(r"(\d{4})")
_MONTHS = re.compile(r"(\d{4})-(\d{2})\.\.(\d{4})-(\d{2})")
_YES, _NO = ("yes", "y", "true", "1"), ("no", "n", "false", "0")


@dataclass(frozen=True)
class Instrument:
    """One contractual instrument.

    Attributes:
        id: Its identifier.
        type: One of :data:`INSTRUMENT_TYPES`.
        volume_mwh: Its volume in MWh.
        location: ``ISO3`` or ``ISO3/region`` (normalised).
        vintage: As written (``2026`` or ``2026-01..2026-06``).
        vintage_first: First day of the generation period.
        vintage_last: Last day of the generation period.
        intensity_g_per_kwh: Its factor, gCO2e/kWh.
        quality_met: The filer's statement on the Scope 2 Quality Criteria.
        source: Optional source, as given.
        notes: Optional notes, as given.
        order: Its position in the file (0-based), the tie-break of allocation.
    """

    id: str
    type: str
    volume_mwh: float
    location: str
    vintage: str
    vintage_first: date
    vintage_last: date
    intensity_g_per_kwh: float
    quality_met: bool
    source: str = ""
    notes: str = ""
    order: int = 0

    @property
    def renewable(self) -> bool:
        """Whether its MWh count as renewable (a renewable type with a factor of 0)."""
        return self.type in RENEWABLE_TYPES and self.intensity_g_per_kwh == 0


def _vintage(text: str) -> tuple[date, date]:
    if match := _YEAR.fullmatch(text):
        year = int(match.group(1))
        return date(year, 1, 1), date(year, 12, 31)
    if match := _MONTHS.fullmatch(text):
        y1, m1, y2, m2 = (int(g) for g in match.groups())
        first = date(y1, m1, 1)
        after = date(y2 + m2 // 12, m2 % 12 + 1, 1)
        last = date.fromordinal(after.toordinal() - 1)
        if last < first:
            raise ValueError("the period ends before it starts")
        return first, last
    raise ValueError("not a year or YYYY-MM..YYYY-MM")


def _row(cells: dict[str, str], order: int) -> Instrument:
    """One instrument from its cells; ValueError says which cell is wrong."""
    from greenai.emissions.location import location_key

    ident = cells.get("id", "")
    if not ident or not ident.isprintable():
        raise ValueError("an id")
    kind = cells.get("type", "").casefold()
    if kind not in INSTRUMENT_TYPES:
        raise ValueError(f"a type among {', '.join(INSTRUMENT_TYPES)}")
    try:
        volume, factor = float(cells.get("mwh", "")), float(cells.get("g_per_kwh", ""))
    except ValueError:
        raise ValueError("numbers in mwh and g_per_kwh") from None
    if not (math.isfinite(volume) and volume > 0):
        raise ValueError("mwh > 0")
    if not (math.isfinite(factor) and 0 <= factor <= 5000):
        raise ValueError("g_per_kwh from 0 to 5000 (0 for renewable certificates)")
    location = location_key(cells.get("location", ""))
    if not re.fullmatch(r"[A-Z]{3}(/.+)?", location):
        raise ValueError("a location ISO3 or ISO3/region")
    try:
        first, last = _vintage(cells.get("vintage", ""))
    except ValueError as exc:
        raise ValueError(
            f"a vintage year such as 2026 or months 2026-01..2026-06 ({exc})"
        ) from None
    quality = cells.get("quality_criteria_met", "").casefold()
    if quality not in _YES + _NO:
        raise ValueError("quality_criteria_met yes or no")
    return Instrument(
        ident, kind, volume, location, cells["vintage"], first, last, factor,
        quality in _YES, cells.get("source", ""), cells.get("notes", ""), order,
    )  # fmt: skip


def read_instruments(path: Path, key: str = "instruments_file") -> list[Instrument]:
    """Reads and checks an instruments file (columns in the module docstring).

    Args:
        path: The CSV file.
        key: The configuration key that named it, for error messages.

    Returns:
        The instruments in file order.

    Raises:
        ConfigError: The file is unreadable, lacks a column, or a row is invalid (the
            message names the file, the line and the instrument's id).
    """
    header, table = read_table(path, key)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        accepted = f"a CSV whose header has {','.join(REQUIRED)}[,source,notes]"
        raise ConfigError(key, str(path), f"{accepted} (missing: {', '.join(missing)})")
    found: list[Instrument] = []
    seen: set[str] = set()
    for line_no, cells in table:
        where = f"{path}:{line_no} (id {cells.get('id') or '?'})"
        try:
            instrument = _row(cells, len(found))
        except ValueError as exc:
            raise ConfigError(key, where, str(exc)) from exc
        if instrument.id in seen:
            raise ConfigError(key, where, f"one row per id ({instrument.id} repeated)")
        seen.add(instrument.id)
        found.append(instrument)
    return found
