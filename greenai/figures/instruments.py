"""Allocating contractual instruments' MWh to Scope 2 consumption, each MWh once.

The rules (GHG Protocol Scope 2 Guidance, market-based method, and its Quality Criteria):

- Only Scope 2 facility energy is covered (on premises or colocation; never cloud runs,
  which are the customer's Scope 3 category 1), per month and location.
- **Same market**: an instrument for ``ISO3`` covers that country's consumption (every
  region of it); one for ``ISO3/region`` covers that region only.
- **Vintage** (:data:`VINTAGE_RULE`): the consumption month falls in a calendar year of
  the instrument's vintage or in the year after it, as RE100-like practice accepts.
- **Quality criteria**: an instrument the filer states does not meet them is never applied.
- **Chronological**: the oldest unallocated month is covered first; within a month and
  location, instruments go in :data:`ORDER_RULE` (the one that expires first, first).
- **Once**: what a month was given is kept (persisted in the ledger); a month that already
  has allocations only gets the MWh its consumption grew by since, and a month overlapping
  allocations cut on other month edges (another time zone) gets nothing new.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from greenai.emissions.instruments_file import Instrument

__all__ = [
    "ORDER_RULE",
    "VINTAGE_RULE",
    "Allocation",
    "Consumption",
    "Plan",
    "allocate",
    "covers_market",
    "in_vintage",
]

VINTAGE_RULE = (
    "an instrument covers consumption in a calendar year of its vintage or in the year "
    "after it (a 2025 certificate covers 2025 and 2026 consumption, never 2024)"
)
ORDER_RULE = (
    "oldest consumption month first; within a month and location, instruments whose vintage "
    "ends first, then in the file's order"
)
EPSILON_MWH = 1e-12
"""Volumes below this are treated as used up (float noise of repeated subtraction)."""


@dataclass(frozen=True)
class Consumption:
    """Scope 2 facility energy of one month and location (all projects).

    Attributes:
        month: ``YYYY-MM`` in the time zone the months were cut in.
        start_utc: The month's start (aware, UTC).
        end_utc: The month's end, excluded (aware, UTC).
        location: ``ISO3`` or ``ISO3/region`` of the consumption.
        mwh: Facility energy in MWh.
    """

    month: str
    start_utc: datetime
    end_utc: datetime
    location: str
    mwh: float

    @property
    def year(self) -> int:
        """The month's calendar year."""
        return int(self.month[:4])


@dataclass(frozen=True)
class Allocation:
    """MWh of one instrument given to one month and location's consumption."""

    instrument_id: str
    month: str
    start_utc: datetime
    end_utc: datetime
    location: str
    mwh: float


@dataclass(frozen=True)
class Plan:
    """What :func:`allocate` decided.

    Attributes:
        new: Allocations to persist now (chronological).
        used_mwh: Per instrument id, MWh used by every allocation (stored and new).
        reasons: Per instrument id never applied, why.
    """

    new: list[Allocation]
    used_mwh: dict[str, float]
    reasons: dict[str, str]


def covers_market(instrument: Instrument, location: str) -> bool:
    """Whether ``instrument`` was issued for the market of consumption at ``location``."""
    if "/" in instrument.location:
        return location == instrument.location
    return location.partition("/")[0] == instrument.location


def in_vintage(instrument: Instrument, year: int) -> bool:
    """Whether consumption in calendar ``year`` is within the vintage window."""
    return instrument.vintage_first.year <= year <= instrument.vintage_last.year + 1


def _overlaps(a: Consumption | Allocation, b: Allocation) -> bool:
    return a.start_utc < b.end_utc and b.start_utc < a.end_utc


def _need_mwh(month: Consumption, stored: Sequence[Allocation]) -> float:
    """What of the month's consumption no stored allocation covers yet (0 where stored
    allocations on other month edges overlap it)."""
    same = [a for a in stored if a.location == month.location and _overlaps(month, a)]
    if any((a.start_utc, a.end_utc) != (month.start_utc, month.end_utc) for a in same):
        return 0.0
    return max(0.0, month.mwh - math.fsum(a.mwh for a in same))


def _reason(instrument: Instrument, consumption: Sequence[Consumption]) -> str:
    if not instrument.quality_met:
        return "quality criteria not met (quality_criteria_met = no): not applied"
    market = [c for c in consumption if covers_market(instrument, c.location) and c.mwh > 0]
    if not market:
        return f"no Scope 2 consumption in its market ({instrument.location}) up to this period"
    years = f"{instrument.vintage_first.year}..{instrument.vintage_last.year + 1}"
    if not any(in_vintage(instrument, c.year) for c in market):
        return (
            f"vintage {instrument.vintage} outside the window of the consumption in "
            f"{instrument.location} (covers consumption in {years})"
        )
    return "its market's consumption in its vintage window was already covered"


def allocate(
    instruments: Sequence[Instrument],
    consumption: Iterable[Consumption],
    stored: Sequence[Allocation],
) -> Plan:
    """Allocates the instruments' unused MWh to the consumption no allocation covers.

    Args:
        instruments: Every instrument (file order).
        consumption: Scope 2 consumption per month and location, up to the report's end.
        stored: Allocations made before (from the ledger).

    Returns:
        The new allocations, MWh used per instrument, and why unused ones were not applied.
    """
    months = sorted(consumption, key=lambda c: (c.start_utc, c.location))
    used = {i.id: math.fsum(a.mwh for a in stored if a.instrument_id == i.id) for i in instruments}
    eligible = sorted(
        (i for i in instruments if i.quality_met), key=lambda i: (i.vintage_last, i.order)
    )
    new: list[Allocation] = []
    for month in months:
        need = _need_mwh(month, stored)
        for instrument in eligible:
            if need <= EPSILON_MWH:
                break
            left = instrument.volume_mwh - used[instrument.id]
            if left <= EPSILON_MWH or not covers_market(instrument, month.location):
                continue
            if not in_vintage(instrument, month.year):
                continue
            given = min(need, left)
            new.append(Allocation(instrument.id, month.month, month.start_utc, month.end_utc,
                                  month.location, given))  # fmt: skip
            used[instrument.id] += given
            need -= given
    reasons = {i.id: _reason(i, months) for i in instruments if used[i.id] <= 0}
    return Plan(new, used, reasons)
