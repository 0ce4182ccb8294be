"""Report lines: one per root run (whole-run figures), in the units the report adds up.

A line carries IT energy, facility energy (IT x PUE), the energy measured by hardware, the
location-based factor stored with the run and its emissions, tokens, water and cost, the
run's scope and its data-quality facts. Splitting by period happens later
(:mod:`greenai.figures.split`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from greenai.figures import flags as fl
from greenai.figures.evidence import EVIDENCE_COLUMNS, evidence_columns, evidence_from
from greenai.figures.inputs import as_datetime, span_end
from greenai.figures.scope import scope_of
from greenai.figures.units import J_PER_KWH

__all__ = ["LINE_COLUMNS", "Defaults", "iso_utc", "line_frame", "missing", "records", "run_lines"]


LINE_COLUMNS = [
    "id", "kind", "project", "phase", "model", "technique", "hardware", "status", "host_id",
    "hosts",
    "started_at", "ended_at", "start_s", "end_s", "updated_s", "scope", "country", "region",
    "location", "pue", "energy_it_j", "facility_j", "measured_j", "loc_intensity_g_per_kwh",
    "loc_source", "codecarbon_version", "loc_kg", "tokens_input", "tokens_output",
    "water_l", "cost", "currency", "flags", "estimated", "revision", *EVIDENCE_COLUMNS,
]  # fmt: skip

NUMERIC = frozenset(
    {"start_s", "end_s", "updated_s", "pue", "energy_it_j", "facility_j", "measured_j",
     "loc_intensity_g_per_kwh", "loc_kg", "tokens_input", "tokens_output", "water_l", "cost",
     "share", "market_intensity_g_per_kwh", "market_kg"}
)  # fmt: skip


def records(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The frame's rows as plain dicts, in order; only ``columns`` where given (converting
    the columns a caller reads is much cheaper on wide frames)."""
    chosen = frame if columns is None else frame[list(columns)]
    return [{str(k): v for k, v in row.items()} for row in chosen.to_dict("records")]


def line_frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """A frame of lines: numbers as floats (NaN for missing), everything else as Python
    objects (None stays None: pandas would otherwise turn text columns into strings)."""
    data = {
        col: pd.Series([row.get(col) for row in rows], dtype=float if col in NUMERIC else object)
        for col in columns
    }
    return pd.DataFrame(data, columns=columns)


@dataclass(frozen=True)
class Defaults:
    """Configured values used where a run recorded none.

    Attributes:
        wue_l_per_kwh: Litres of water per kWh of IT energy, or None.
        price_per_kwh: Price of one kWh of facility energy, or None.
        currency: Currency of ``price_per_kwh``.
    """

    wue_l_per_kwh: float | None = None
    price_per_kwh: float | None = None
    currency: str | None = None


def iso_utc(moment: datetime | None) -> str | None:
    """``2026-07-01T00:00:00Z`` (seconds, UTC), or None."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # what pd.Timestamp(...).tz_convert refuses: never guessed
        raise TypeError(f"a naive datetime has no UTC time: {moment!r}")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def missing(value: Any) -> bool:
    """True for None and NaN (how pandas marks a missing number)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def location_label(row: Mapping[str, Any]) -> str:
    """``gcp/europe-west1``, ``USA/california``, ``FRA`` or ``unknown``."""
    provider, cloud_region = _str(row.get("cloud_provider")), _str(row.get("cloud_region"))
    if provider:
        return f"{provider}/{cloud_region}" if cloud_region else provider
    country, region = _str(row.get("country")), _str(row.get("region"))
    if country:
        return f"{country}/{region}" if region else country
    return "unknown"


def _estimated(by_kind: Any) -> tuple[tuple[str, float], ...]:
    """(kind, J) of components estimated by a model (method ``model`` or ``mixed``)."""
    if not isinstance(by_kind, dict):
        return ()
    found = []
    for kind, entry in sorted(by_kind.items()):
        if isinstance(entry, dict) and entry.get("method") in ("model", "mixed"):
            found.append((str(kind), float(entry.get("energy_j") or 0.0)))
    return tuple(found)


def _location_factor(row: Mapping[str, Any], facility_kwh: float) -> tuple[float | None, float]:
    """(g/kWh, kgCO2e): the stored factor, else what the stored emissions imply."""
    intensity = _num(row.get("intensity_g_per_kwh"))
    if intensity is not None:
        return intensity, facility_kwh * intensity / 1000.0
    loc_kg = float(row.get("emissions_kg") or 0.0)
    return (loc_kg * 1000.0 / facility_kwh if facility_kwh > 0 else None), loc_kg


def _water_cost(
    row: Mapping[str, Any], it_kwh: float, facility_kwh: float, defaults: Defaults
) -> tuple[float | None, float | None, str | None]:
    """(L, cost, currency): recorded with the run, else from the configuration, else None."""
    water = _num(row.get("water_l"))
    if water is None and defaults.wue_l_per_kwh is not None:
        water = it_kwh * defaults.wue_l_per_kwh
    cost, currency = _num(row.get("cost")), _str(row.get("currency"))
    if cost is None and defaults.price_per_kwh is not None:
        cost, currency = facility_kwh * defaults.price_per_kwh, defaults.currency
    return water, cost, currency


def _hosts(row: Mapping[str, Any]) -> tuple[str, ...]:
    """Hosts a run drew energy on: a multi-rank job lists them, else its own host."""
    listed = row.get("hosts")
    if isinstance(listed, list | tuple) and listed:
        return tuple(sorted({str(h) for h in listed if h}))
    host = _str(row.get("host_id"))
    return (host,) if host else ()


def _revision(value: Any) -> int | None:
    """The revision of the run's figures read as of a time (None: running, or read now)."""
    number = _num(value)
    return None if number is None else int(number)


def _line(row: Mapping[str, Any], defaults: Defaults) -> dict[str, Any]:
    start = as_datetime(row["started_at"])
    assert start is not None
    end = span_end(row)
    energy_j = float(row.get("energy_j") or 0.0)
    pue = _num(row.get("pue")) or 1.0
    facility_j = float(row.get("facility_energy_j") or 0.0) or energy_j * pue
    facility_kwh = facility_j / J_PER_KWH
    flags = [str(f) for f in (row.get("flags") or [])]
    intensity, loc_kg = _location_factor(row, facility_kwh)
    if _num(row.get("intensity_g_per_kwh")) is None:
        flags.append(fl.MISSING_FACTOR)
    water, cost, currency = _water_cost(row, energy_j / J_PER_KWH, facility_kwh, defaults)
    updated = as_datetime(row.get("updated_at"))
    return {
        "id": str(row["id"]),
        "kind": "run",
        "project": _str(row.get("project")),
        "phase": _str(row.get("phase")),
        "model": _str(row.get("model")),
        "technique": _str(row.get("technique")),
        "hardware": _str(row.get("hardware")),
        "status": _str(row.get("status")),
        "host_id": _str(row.get("host_id")),
        "hosts": _hosts(row),
        "started_at": iso_utc(start),
        "ended_at": iso_utc(as_datetime(row.get("ended_at"))),
        "start_s": start.timestamp(),
        "end_s": end.timestamp(),
        "updated_s": updated.timestamp() if updated else None,
        "scope": scope_of(row.get("cloud_provider")),
        "country": _str(row.get("country")),
        "region": _str(row.get("region")),
        "location": location_label(row),
        "pue": pue,
        "energy_it_j": energy_j,
        "facility_j": facility_j,
        "measured_j": min(float(row.get("measured_energy_j") or 0.0), energy_j),
        "loc_intensity_g_per_kwh": intensity,
        "loc_source": _str(row.get("intensity_source")) or "not recorded",
        "codecarbon_version": _str(row.get("codecarbon_version")),
        "loc_kg": loc_kg,
        "tokens_input": float(row.get("tokens_input") or 0),
        "tokens_output": float(row.get("tokens_output") or 0),
        "water_l": water,
        "cost": cost,
        "currency": currency,
        "flags": tuple(flags),
        "estimated": _estimated(row.get("energy_by_kind")),
        "revision": _revision(row.get("revision")),
        **evidence_columns(evidence_from(row.get("factor_evidence"))),
    }


def run_lines(runs: pd.DataFrame, defaults: Defaults | None = None) -> pd.DataFrame:
    """One line per run, in the order of ``runs``.

    Args:
        runs: Rows of the runs table.
        defaults: Configured water and price figures for runs that recorded none.
    """
    chosen = defaults or Defaults()
    rows = [_line(row, chosen) for row in records(runs)]
    return line_frame(rows, LINE_COLUMNS)
