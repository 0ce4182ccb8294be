"""Contractual instruments in a report: settle their allocation in the ledger, then apply
it to the period's lines, the E1-5 energy mix and the report's instrument section.

Allocation is per calendar month of the report's time zone and per location, over the
Scope 2 facility energy of every project (so a report filtered to some projects applies
the same coverage as the full one, shared pro rata). Months from the first vintage year of
any instrument up to the end of the report's last month are settled, oldest first, so a
month a later report covers was never left for it by mistake, and a month once covered
keeps its MWh.
Within a period, each location's covered MWh is shared among its lines pro rata to their
facility energy; the rest keeps the next basis of the hierarchy. A period that covers part
of a month takes the share of that month's allocation that its part of the month's
consumption is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from greenai.emissions.instruments_file import Instrument, read_instruments
from greenai.figures.evidence import MIX_FAMILIES
from greenai.figures.frame import read_lines, total
from greenai.figures.instruments import (
    ORDER_RULE,
    VINTAGE_RULE,
    Allocation,
    Consumption,
    allocate,
)
from greenai.figures.lines import records
from greenai.figures.periods import Period, parse_period
from greenai.figures.scope import INSTRUMENT, SCOPE2
from greenai.figures.units import J_PER_KWH
from greenai.reports.compute import exact

if TYPE_CHECKING:
    from greenai.config import Settings
    from greenai.ledger import Ledger

__all__ = ["RULES", "Cover", "cover_of", "line_location", "months_of", "whole_months"]

J_PER_MWH = J_PER_KWH * 1000.0
RULES = {
    "scope": "Scope 2 facility energy only (never cloud runs, which are Scope 3 category 1)",
    "market": "an instrument for ISO3 covers that country (every region); ISO3/region only "
    "that region",
    "vintage": VINTAGE_RULE,
    "quality": "an instrument stated quality_criteria_met = no is never applied",
    "order": ORDER_RULE,
    "granularity": "calendar months of the report's time zone; within a period, a location's "
    "covered MWh are shared among its lines pro rata to facility energy; a period covering "
    "part of a month takes that month's allocation pro rata to its part of the consumption",
    "once": "allocations are recorded in the ledger; a later report never reuses their MWh",
    "as_of": "a report as of a past time counts the allocations recorded by then, and "
    "allocates the rest as a report at that time would have, without recording it",
}
"""The allocation rules, stated in report.json and the HTML."""


def line_location(country: object, region: object) -> str | None:
    """The location key of a line's consumption (``ISO3`` or ``ISO3/region``), or None."""
    if not isinstance(country, str) or not country:
        return None
    if isinstance(region, str) and region.strip():
        return f"{country.upper()}/{' '.join(region.split()).casefold()}"
    return country.upper()


def whole_months(period: Period) -> list[Period] | None:
    """The calendar months that make up ``period``, or None when it is not whole months."""
    first, last = period.first_day, period.last_day
    after = date(last.year + last.month // 12, last.month % 12 + 1, 1)
    if first.day != 1 or (last.toordinal() + 1) != after.toordinal():
        return None
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(parse_period(f"{year}-{month:02d}", period.timezone))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def months_of(period: Period) -> list[Period]:
    """The calendar months that ``period`` touches, whole (the first and last may reach
    beyond it)."""
    first = date(period.first_day.year, period.first_day.month, 1)
    span = Period("range", first, period.last_day, period.timezone)
    last = span.last_day
    end = date(last.year + last.month // 12, last.month % 12 + 1, 1)
    whole = Period("range", first, date.fromordinal(end.toordinal() - 1), period.timezone)
    months = whole_months(whole)
    assert months is not None  # from the first of a month to the last day of one
    return months


def _pieces(period: Period) -> list[tuple[str, Period]]:
    """(month label, the part of that month inside ``period``) for each month it touches."""
    out = []
    for month in months_of(period):
        first = max(month.first_day, period.first_day)
        last = min(month.last_day, period.last_day)
        out.append((month.label, Period("range", first, last, period.timezone)))
    return out


def _consumption(
    ledger: Ledger,
    parts: Sequence[tuple[str, Period]],
    settings: Settings,
    as_of: datetime,
) -> list[Consumption]:
    """Scope 2 facility MWh per part (labelled with its month) and location, every project."""
    if not parts:
        return []
    lines = read_lines(
        ledger, [(p.start_utc, p.end_utc) for _, p in parts], settings=settings, as_of=as_of
    )
    out = []
    for label, month in parts:
        part = lines.period(month.start_utc, month.end_utc)[0]
        s2 = part[part["scope"] == SCOPE2] if len(part) else part
        by_location: dict[str, list[float]] = {}
        for country, region, facility_j in zip(
            s2.get("country", []), s2.get("region", []), s2.get("facility_j", []), strict=True
        ):
            key = line_location(country, region)
            if key is not None:
                by_location.setdefault(key, []).append(float(facility_j) / J_PER_MWH)
        for key, values in sorted(by_location.items()):
            out.append(Consumption(label, month.start_utc, month.end_utc, key, total(values)))
    return out


@dataclass
class Cover:
    """The instruments, every allocation after settling, and the consumption they cover."""

    instruments: list[Instrument] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)
    consumption: list[Consumption] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    parts: dict[str, list[Consumption]] = field(default_factory=dict)
    """Per period label that is not whole months: the consumption of each month's part
    inside it (labelled with the month)."""

    def _inside(self, period: Period) -> tuple[list[Allocation], dict[str, float]]:
        """The allocations the period takes and its consumption per location: whole months
        take their allocations; a month the period covers in part takes the share of its
        allocations that its part of the month's consumption is of the whole month's."""
        start, end = period.start_utc, period.end_utc
        whole = {(c.month, c.location): c.mwh for c in self.consumption}
        pieces = self.parts.get(period.label)
        if pieces is None:  # whole months
            pieces = [c for c in self.consumption if start <= c.start_utc and c.end_utc <= end]
        share = {
            (c.month, c.location): min(1.0, c.mwh / whole[(c.month, c.location)])
            for c in pieces
            if whole.get((c.month, c.location), 0.0) > 0
        }
        inside = [
            replace(a, mwh=a.mwh * share[(a.month, a.location)])
            for a in self.allocations
            if share.get((a.month, a.location), 0.0) > 0
        ]
        used: dict[str, list[float]] = {}
        for c in pieces:
            used.setdefault(c.location, []).append(c.mwh)
        return inside, {k: total(v) for k, v in used.items()}

    def apply(self, lines: pd.DataFrame, period: Period) -> pd.DataFrame:
        """``lines`` with the instruments' coverage of ``period`` in the market columns and
        ``instrument_renewable_j`` (the facility J a renewable instrument covers)."""
        out = lines.copy()
        out["instrument_renewable_j"] = 0.0
        inside, consumed = self._inside(period)
        if not inside or not len(out):
            return out
        by_location: dict[str, list[Allocation]] = {}
        for a in inside:
            by_location.setdefault(a.location, []).append(a)
        instruments = {i.id: i for i in self.instruments}
        columns = list(MARKET_COLUMNS)
        values: dict[str, list[Any]] = {c: list(out[c]) for c in columns}
        for position, row in enumerate(records(out, ("scope", "country", "region"))):
            key = line_location(row["country"], row["region"]) if row["scope"] == SCOPE2 else None
            if key is None or key not in by_location or consumed.get(key, 0.0) <= 0:
                continue
            line = {c: values[c][position] for c in columns}
            covered = _covered(line, by_location[key], consumed[key], instruments)
            for column, value in covered.items():
                values[column][position] = value
        for column in columns:
            out[column] = pd.Series(values[column], index=out.index, dtype=out[column].dtype)
        return out

    def mix(self, energy_mix: Mapping[str, Any], lines: pd.DataFrame) -> dict[str, Any]:
        """The E1-5 energy mix with renewable instruments' MWh counted as renewable (and
        taken off the grid mix of their country); unchanged when none covers the period."""
        return adjusted_mix(energy_mix, lines)

    def section(self, period: Period, lines: pd.DataFrame) -> dict[str, Any]:
        """The report's ``contractual_instruments`` section."""
        inside, _ = self._inside(period)
        rows = [self._instrument_row(i, period, inside) for i in self.instruments]
        s2 = lines[lines["scope"] == SCOPE2]
        facility_kwh = total(s2["facility_j"]) / J_PER_KWH
        applied_kwh = total(a.mwh for a in inside) * 1000.0
        note = None
        if self.instruments and whole_months(period) is None:
            note = (
                "the period covers part of a month: it takes the share of that month's "
                "allocation that its part of the month's consumption is"
            )
        return {
            "source": self.source,
            "rules": RULES,
            "instruments": rows,
            "applied": [
                {
                    "instrument_id": a.instrument_id,
                    "month": a.month,
                    "location": a.location,
                    "mwh": exact(a.mwh),
                }
                for a in inside
            ],
            "rejected": [
                {"instrument_id": r["id"], "reason": r["reason"]} for r in rows if r["reason"]
            ],
            "applied_mwh": exact(applied_kwh / 1000.0),
            "covered_share": exact(min(1.0, applied_kwh / facility_kwh) if facility_kwh else 0.0),
            "note": note,
        }

    def _instrument_row(
        self, instrument: Instrument, period: Period, inside: Sequence[Allocation]
    ) -> dict[str, Any]:
        mine = [a for a in self.allocations if a.instrument_id == instrument.id]
        here = [a for a in inside if a.instrument_id == instrument.id]
        before = [a for a in mine if a.end_utc <= period.start_utc]
        used = total(a.mwh for a in mine)
        return {
            "id": instrument.id,
            "type": instrument.type,
            "location": instrument.location,
            "vintage": instrument.vintage,
            "volume_mwh": exact(instrument.volume_mwh),
            "g_per_kwh": exact(instrument.intensity_g_per_kwh),
            "quality_criteria_met": instrument.quality_met,
            "renewable": instrument.renewable,
            "source": instrument.source or None,
            "notes": instrument.notes or None,
            "applied_in_period_mwh": exact(total(a.mwh for a in here)),
            "applied_by_month": [
                {"month": a.month, "location": a.location, "mwh": exact(a.mwh)} for a in here
            ],
            "used_before_period_mwh": exact(total(a.mwh for a in before)),
            "used_mwh": exact(used),
            "remaining_mwh": exact(max(0.0, instrument.volume_mwh - used)),
            "reason": self.reasons.get(instrument.id) if not mine else None,
        }


MARKET_COLUMNS = ("facility_j", "market_kg", "market_intensity_g_per_kwh", "market_basis",
                  "market_source", "instrument_renewable_j")  # fmt: skip
"""The line columns :meth:`Cover.apply` reads and rewrites."""


def _covered(
    line: Mapping[str, Any],
    given: Sequence[Allocation],
    consumed_mwh: float,
    instruments: Mapping[str, Instrument],
) -> dict[str, Any]:
    """One line's market columns with its share of the location's covered MWh (pro rata to
    its facility energy) on the instruments, the rest on the basis it had."""
    applied_mwh = total(a.mwh for a in given)
    share = min(1.0, applied_mwh / consumed_mwh)
    g_per_kwh = total(a.mwh * instruments[a.instrument_id].intensity_g_per_kwh for a in given)
    g_per_kwh /= applied_mwh
    renewable = total(a.mwh for a in given if instruments[a.instrument_id].renewable)
    facility_j = float(line["facility_j"])
    kg = share * facility_j / J_PER_KWH * g_per_kwh / 1000.0
    kg += (1.0 - share) * float(line["market_kg"])
    ids = ", ".join(sorted({a.instrument_id for a in given}))
    source = f"instruments_file: {ids} ({share:.1%} of this location's energy)"
    whole = share >= 1.0 - 1e-12
    intensity = kg * 1000.0 / (facility_j / J_PER_KWH) if facility_j > 0 else g_per_kwh
    return {
        "market_kg": kg,
        "market_intensity_g_per_kwh": intensity,
        "market_basis": INSTRUMENT if whole else f"{INSTRUMENT} + {line['market_basis']}",
        "market_source": source if whole else f"{source}; rest: {line['market_source']}",
        "instrument_renewable_j": share * renewable / applied_mwh * facility_j,
    }


def adjusted_mix(energy_mix: Mapping[str, Any], lines: pd.DataFrame) -> dict[str, Any]:
    """``energy_mix`` with each country's renewable-instrument kWh moved to renewable out
    of the country's grid shares (E1-5 37 (c) (ii)); the grid figures kept under ``grid``."""
    out = dict(energy_mix)
    if "instrument_renewable_j" not in lines or not len(lines):
        return out
    s2 = lines[lines["scope"] == SCOPE2]
    by_country: dict[str, list[float]] = {}
    for country, joules in zip(s2["country"], s2["instrument_renewable_j"], strict=True):
        if joules > 0:
            by_country.setdefault(str(country), []).append(float(joules) / J_PER_KWH)
    if not by_country:
        return out
    shares = {row["country"]: row for row in energy_mix.get("by_country", [])}
    families = (*MIX_FAMILIES, "unknown")
    moved: dict[str, list[float]] = {f: [] for f in families}
    for country, values in by_country.items():
        kwh = total(values)
        grid = {f: float(shares.get(country, {}).get(f"{f}_share") or 0.0) for f in MIX_FAMILIES}
        grid["unknown"] = max(0.0, 1.0 - math.fsum(grid.values()))
        for family in families:
            moved[family].append(-kwh * grid[family])
        moved["renewable"].append(kwh)
    out["grid"] = {f"{f}_kwh": energy_mix.get(f"{f}_kwh") for f in families}
    figures = {f: float(energy_mix.get(f"{f}_kwh") or 0.0) + total(moved[f]) for f in families}
    whole = math.fsum(figures.values())
    for family in families:
        out[f"{family}_kwh"] = exact(max(0.0, figures[family]))
        out[f"{family}_share"] = exact(max(0.0, figures[family]) / whole) if whole else None
    out["renewable_instruments_kwh"] = exact(total(v for vs in by_country.values() for v in vs))
    out["instruments_note"] = (
        "renewable instruments' MWh count as renewable; the rest of each country's energy keeps "
        "its grid mix (by_country shows the grid mix)"
    )
    return out


def cover_of(
    ledger: Ledger,
    settings: Settings,
    period: Period,
    as_of: datetime,
    also: Sequence[Period] = (),
) -> Cover:
    """Settles the instruments' allocation up to ``period``'s end and returns it.

    Months from January of the earliest vintage year up to the end of the month holding
    the period's last day are allocated (oldest first) and the new allocations recorded in
    the ledger; nothing without ``instruments_file``. ``period`` and the periods ``also``
    compared with it may cover months in part (:meth:`Cover.apply` shares such a month's
    allocation pro rata to consumption).
    Only the allocations recorded by ``as_of`` count, and when the ledger holds later ones
    the new allocations are not recorded (see :func:`~greenai.ledger.allocations.settle`).
    """
    if settings.instruments_file is None:
        return Cover()
    from greenai.ledger.allocations import settle

    instruments = read_instruments(settings.instruments_file)
    cover = Cover(instruments, source=settings.instruments_file.name)
    if not instruments:
        return cover
    first_day = date(min(i.vintage_first.year for i in instruments), 1, 1)
    history: list[Period] = []
    if first_day <= period.last_day:
        history = months_of(Period("range", first_day, period.last_day, period.timezone))
    cover.consumption = _consumption(ledger, [(m.label, m) for m in history], settings, as_of)
    for other in (period, *also):
        if whole_months(other) is None:
            cover.parts[other.label] = _consumption(ledger, _pieces(other), settings, as_of)
    reasons: dict[str, str] = {}

    def plan(stored: list[Allocation]) -> list[Allocation]:
        decided = allocate(instruments, cover.consumption, stored)
        reasons.update(decided.reasons)
        return decided.new

    cover.allocations = settle(ledger.engine, plan, report_period=period.label, as_of=as_of)
    cover.reasons = reasons
    return cover
