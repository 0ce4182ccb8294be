"""Assembles a report: reads the ledger once, computes the period, the previous period, the
same period a year before and the trend, and returns one plain, JSON-ready dict."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import pandas as pd

from greenai.errors import ConfigError
from greenai.figures.frame import PeriodLines, Selection, read_lines, total
from greenai.figures.lines import missing, records
from greenai.figures.periods import Period
from greenai.figures.scope import SCOPE2, SCOPE3_CLOUD, market_caveat
from greenai.figures.units import J_PER_KWH
from greenai.reports import compute as c
from greenai.reports.api import EmptyPeriodError
from greenai.reports.esrs import esrs_rows, esrs_sections
from greenai.reports.instruments import cover_of
from greenai.reports.outputs import figures_sha256
from greenai.reports.quality import data_quality
from greenai.reports.restatements import EarlierReport, restatements

if TYPE_CHECKING:
    from greenai.config import Settings
    from greenai.ledger import Ledger

__all__ = ["REPORT_FORMAT", "EmptyPeriodError", "build"]

REPORT_FORMAT = "greenai.report/1"
COMPARED = ("energy_it_kwh", "energy_facility_kwh", "scope2_location_tco2e",
            "scope2_market_tco2e", "scope3_cloud_tco2e", "runs_count",
            "kwh_per_million_tokens", "measured_share")  # fmt: skip


def _local_iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _lines_of(lines: PeriodLines, period: Period) -> tuple[pd.DataFrame, list[str]]:
    return lines.period(period.start_utc, period.end_utc)


def _comparison(
    period: Period, figures: Mapping[str, Any], current: Mapping[str, Any]
) -> dict[str, Any]:
    change = {}
    for key in COMPARED:
        before, now = figures.get(key), current.get(key)
        ok = isinstance(before, int | float) and isinstance(now, int | float) and before > 0
        change[key] = c.exact((now - before) / before) if ok else None  # type: ignore[operator]
    return {
        "period_label": period.label,
        "period_start": _local_iso(period.start),
        "period_end": _local_iso(period.end),
        **{key: figures.get(key) for key in COMPARED},
        "change": change,
    }


def _trend(lines: PeriodLines, period: Period) -> list[dict[str, Any]]:
    rows = []
    for part in period.subperiods():
        figures = c.headline(_lines_of(lines, part)[0])
        rows.append(
            {
                "label": part.label,
                "period_start": _local_iso(part.start),
                "period_end": _local_iso(part.end),
                "tokens_energy_it_kwh": figures["tokens_energy_it_kwh"],
                "tokens": figures["tokens"],
                "kwh_per_million_tokens": figures["kwh_per_million_tokens"],
            }
        )
    return rows


def _energy_lines(lines: pd.DataFrame) -> list[dict[str, Any]]:
    s2 = lines[lines["scope"] == SCOPE2]
    out = []
    runs = s2[s2["kind"] == "run"]
    out.append(
        {
            "line": "tracked_runs",
            "host_id": None,
            "energy_it_kwh": c.exact(total(runs["energy_it_j"]) / J_PER_KWH),
            "energy_facility_kwh": c.exact(total(runs["facility_j"]) / J_PER_KWH),
        }
    )
    for row in records(s2[s2["kind"] == "node"].sort_values("id")):
        out.append(
            {
                "line": "node_idle_unallocated",
                "host_id": row["host_id"],
                "energy_it_kwh": c.exact(float(row["energy_it_j"]) / J_PER_KWH),
                "energy_facility_kwh": c.exact(float(row["facility_j"]) / J_PER_KWH),
            }
        )
    return out


def _boundary(lines: pd.DataFrame) -> dict[str, Any]:
    runs = lines[lines["kind"] == "run"]
    hosts = sorted({h for listed in lines["hosts"] if isinstance(listed, tuple) for h in listed})
    return {
        "projects": sorted({p for p in runs["project"] if isinstance(p, str) and p}),
        "runs_without_project": int(sum(1 for p in runs["project"] if not isinstance(p, str))),
        "hosts_count": len(hosts),
        "runs_without_host": int(sum(1 for h in runs["hosts"] if not h)),
        "scope2_locations": sorted(set(lines[lines["scope"] == SCOPE2]["location"])),
        "cloud_locations": sorted(set(lines[lines["scope"] == SCOPE3_CLOUD]["location"])),
        "node_energy_included": bool((lines["kind"] == "node").any()),
    }


def _water_cost(lines: pd.DataFrame) -> dict[str, Any]:
    s2 = lines[lines["scope"] == SCOPE2]
    known = [w for w in s2["water_l"] if not missing(w)]
    costs: dict[str, list[float]] = {}
    for amount, currency in zip(s2["cost"], s2["currency"], strict=True):
        if not missing(amount):
            costs.setdefault(currency or "", []).append(float(amount))
    return {
        "water_l": c.exact(total(known)) if known else None,
        "cost": [
            {"currency": cur or None, "amount": c.exact(total(vals))}
            for cur, vals in sorted(costs.items())
        ],
    }


@cache
def _mix(country: str) -> Mapping[str, float] | None:
    from greenai.emissions import energy_mix

    return energy_mix(country)


def _mix_source() -> str:
    from greenai.emissions.codecarbon_factors import codecarbon_version

    return (
        "the generation mix stored with each run's factor (a region's own where the data "
        "hold one, else its country's); runs recorded without one: codecarbon "
        f"{codecarbon_version()} global_energy_mix (country generation mix)"
    )


def _read(
    ledger: Ledger, period: Period, projects: Sequence[str], as_of: datetime, settings: Settings
) -> PeriodLines:
    """Reads what the period, the previous period, the year before and the trend need."""
    compared = (period, period.previous(), period.year_before(), *period.subperiods())
    return read_lines(
        ledger,
        [(p.start_utc, p.end_utc) for p in compared],
        settings=settings,
        as_of=as_of,
        selection=Selection(projects=tuple(sorted(set(projects)))),
    )


def _header(period: Period, as_of: datetime, projects: Sequence[str]) -> dict[str, Any]:
    return {
        "report_format": REPORT_FORMAT,
        "period_label": period.label,
        "period_start": _local_iso(period.start),
        "period_end": _local_iso(period.end),
        "period_last_day": period.last_day.isoformat(),
        "timezone": period.timezone,
        "as_of": as_of.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "projects_filter": sorted(set(projects)),
    }


def _figures(
    current: pd.DataFrame, mix_of: Callable[[str], Mapping[str, float] | None]
) -> dict[str, Any]:
    """Everything computed from the period's lines alone."""
    scope2 = current[current["scope"] == SCOPE2]
    return {
        "boundary": _boundary(current),
        **c.headline(current),
        "energy_facility_mwh": c.exact(total(scope2["facility_j"]) / J_PER_KWH / 1000.0),
        "energy_lines": _energy_lines(current),
        "energy_mix": {**c.energy_mix(current, mix_of), "source": _mix_source()},
        "scope2_location_factors": c.factor_rows(scope2),
        "scope2_factor_bases": c.factor_bases(scope2),
        "scope2_market_factors": c.market_rows(current),
        "scope3_cloud_factors": c.factor_rows(current[current["scope"] == SCOPE3_CLOUD]),
        "codecarbon_versions": sorted({v for v in current["codecarbon_version"] if v}),
        **_water_cost(current),
        "by_project": c.group_rows(current, ["project"]),
        "by_phase": c.group_rows(current, ["phase"]),
        "by_model_technique": c.group_rows(current, ["model", "technique"]),
    }


def build(
    ledger: Ledger,
    period: Period,
    *,
    projects: Sequence[str],
    as_of: datetime,
    settings: Settings,
    mix_of: Callable[[str], Mapping[str, float] | None] = _mix,
    compare_to: EarlierReport | None = None,
) -> dict[str, Any]:
    """The report of ``period`` (see :func:`greenai.reports.build_report`), read as of
    ``as_of`` to the whole second (the time report.json states), with its restatements
    against ``compare_to`` when given.

    Raises:
        ConfigError: The period starts after ``as_of``.
        EmptyPeriodError: No root run and no node energy in the period.
    """
    as_of = as_of.astimezone(UTC).replace(microsecond=0)
    if period.start_utc >= as_of:
        accepted = f"a period that starts before the as-of time {as_of.isoformat()}"
        raise ConfigError("period", period.label, accepted)
    lines = _read(ledger, period, projects, as_of, settings)
    current, notes = _lines_of(lines, period)
    if not len(current):
        raise EmptyPeriodError(_empty_message(period, projects, as_of))
    compared = (period.previous(), period.year_before())
    cover = cover_of(ledger, settings, period, as_of, compared)  # records new allocations
    current = cover.apply(current, period)
    report = {**_header(period, as_of, projects), **_figures(current, mix_of)}
    report["energy_mix"] = cover.mix(report["energy_mix"], current)
    report["contractual_instruments"] = cover.section(period, current)
    report["market_factors_supplied"] = lines.market.as_rows()
    report["intensity_trend"] = _trend(lines, period)
    for key, other in (
        ("previous_period", period.previous()),
        ("previous_year", period.year_before()),
    ):
        other_lines = cover.apply(_lines_of(lines, other)[0], other)
        report[key] = _comparison(other, c.headline(other_lines), report)
    report["data_quality"] = data_quality(
        current,
        as_of_s=as_of.timestamp(),
        period_end_s=period.end_utc.timestamp(),
        node_notes=notes,
    )
    report["scope2_market_caveat"] = market_caveat(report["scope2_market_basis"])
    report.update(esrs_sections(report, current, settings, period))
    report["esrs_mapping"] = esrs_rows(report)
    report["runs"] = c.appendix(current)
    report["inputs_sha256"] = figures_sha256(report)
    if compare_to is not None:
        report["restatements"] = restatements(ledger, compare_to, report)
    return report


def _empty_message(period: Period, projects: Sequence[str], as_of: datetime) -> str:
    scope = f" for project(s) {', '.join(sorted(set(projects)))}" if projects else ""
    return (
        f"no root runs in {period.label} ({period.first_day} to {period.last_day}, "
        f"{period.timezone}){scope} in the ledger as of {as_of.isoformat()}: nothing to report"
    )
