"""ESRS E1-6 figures and their context: the Scope 1 statement, total GHG emissions both
ways, intensities per net revenue, and the consolidation approach, organisational
boundary, base year and restatement policy the configuration states.

Every figure is the contribution of the workloads inside the report's boundary to the
undertaking's E1-5 and E1-6 disclosures, never the undertaking's totals: the texts say so.
Revenue is configured per calendar year (``net_revenue``); a period takes each year's
revenue pro rata by its days in that year (:func:`period_revenue`).
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from greenai.reports.compute import exact

if TYPE_CHECKING:
    from greenai.config import Settings
    from greenai.figures.periods import Period

__all__ = [
    "CONTRIBUTION",
    "SCOPE1_NONE",
    "energy_intensity",
    "ghg_intensity",
    "ghg_totals",
    "period_revenue",
    "reporting_context",
    "scope1",
]

CONTRIBUTION = (
    "the contribution of the workloads in the report's boundary to the undertaking's "
    "E1-6 figures, not the undertaking's totals"
)
SCOPE1_NONE = (
    "no Scope 1 source in the boundary: the workloads draw electricity only (no on-site "
    "combustion or refrigerant counted); configure scope1_tco2e for this period otherwise"
)
CONTEXT_KEYS = ("consolidation_approach", "organisational_boundary", "base_year",
                "restatement_policy")  # fmt: skip


def scope1(settings: Settings, period: Period) -> dict[str, Any]:
    """The Scope 1 statement of ``period``: the tCO2e configured for its label, else none.

    Returns:
        ``tco2e``, ``source`` and ``statement``. ``source`` is ``configured``,
        ``none_in_boundary`` (nothing configured: 0, the workloads draw electricity only)
        or ``not_configured_for_period`` (entries for other periods only: None, and so
        are the totals, rather than a guessed share of another period's figure).
    """
    table = settings.scope1_tco2e
    value = table.get(period.label.upper())
    if value is None and table:
        listed = ", ".join(sorted(table))
        return {"tco2e": None, "source": "not_configured_for_period",
                "statement": f"Scope 1 not reported: scope1_tco2e has entries for {listed} "
                f"but none for {period.label}"}  # fmt: skip
    if value is None:
        return {"tco2e": 0.0, "source": "none_in_boundary",
                "statement": settings.scope1_statement or SCOPE1_NONE}  # fmt: skip
    text = settings.scope1_statement or (
        f"Scope 1 of the boundary for {period.label} as configured (scope1_tco2e)"
    )
    return {"tco2e": exact(value), "source": "configured", "statement": text}


def _sum(*parts: float | None) -> float | None:
    if any(part is None for part in parts):
        return None
    return exact(math.fsum(float(part) for part in parts if part is not None))


def ghg_totals(report: Mapping[str, Any]) -> dict[str, Any]:
    """Total GHG emissions both ways (E1-6 44 (d), 52): Scope 1 + Scope 2 of that basis +
    Scope 3 category 1 (cloud), from a report holding ``scope1`` and the scope totals."""
    s1 = report["scope1"]["tco2e"]
    loc, market = report["scope2_location_tco2e"], report["scope2_market_tco2e"]
    cloud = report["scope3_cloud_tco2e"]
    return {
        "scope1_tco2e": s1,
        "scope2_location_tco2e": loc,
        "scope2_market_tco2e": market,
        "scope3_cloud_tco2e": cloud,
        "total_location_tco2e": _sum(s1, loc, cloud),
        "total_market_tco2e": _sum(s1, market, cloud),
        "market_caveat": report.get("scope2_market_caveat"),
        "label": CONTRIBUTION,
    }


def _year_days(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def period_revenue(
    by_year: Mapping[int, float], first_day: date, last_day: date
) -> tuple[float | None, str, list[int]]:
    """A period's revenue: each calendar year's revenue times the share of that year's
    days inside ``[first_day, last_day]``.

    Returns:
        (amount or None where a year is missing, how it was prorated, missing years).
    """
    parts, words, missing = [], [], []
    for year in range(first_day.year, last_day.year + 1):
        start, end = max(first_day, date(year, 1, 1)), min(last_day, date(year, 12, 31))
        days, of = (end - start).days + 1, _year_days(year)
        if year not in by_year:
            missing.append(year)
            continue
        parts.append(by_year[year] * days / of)
        words.append(f"{days}/{of} of {year}")
    amount = None if missing or not parts else math.fsum(parts)
    basis = "calendar-year revenue pro rata by days: " + ", ".join(words) if words else ""
    return amount, basis, missing


def _revenue(
    table: Mapping[int, float], key: str, period: Period
) -> tuple[float | None, str, str | None]:
    """(amount, basis, reason it is missing)."""
    if not table:
        return None, "", f"{key} not configured"
    amount, basis, missing = period_revenue(table, period.first_day, period.last_day)
    if amount is None:
        return None, basis, f"{key} has no entry for {', '.join(map(str, missing))}"
    if amount <= 0:
        return None, basis, f"{key} of the period is 0"
    return amount, basis, None


def _per(value: float | None, revenue: float | None) -> float | None:
    return None if value is None or revenue is None else exact(value / revenue)


def ghg_intensity(report: Mapping[str, Any], settings: Settings, period: Period) -> dict[str, Any]:
    """GHG intensity per net revenue (E1-6 53), both ways, when net revenue is configured.

    Returns:
        ``net_revenue`` (the period's), ``currency``, ``revenue_basis``,
        ``location_tco2e_per_currency_unit``, ``market_tco2e_per_currency_unit`` and
        ``reason`` (why the intensity is missing, else None).
    """
    revenue, basis, reason = _revenue(settings.net_revenue, "net_revenue", period)
    totals = report["ghg_totals"]
    return {
        "net_revenue": exact(revenue),
        "currency": settings.revenue_currency,
        "revenue_basis": basis,
        "location_tco2e_per_currency_unit": _per(totals["total_location_tco2e"], revenue),
        "market_tco2e_per_currency_unit": _per(totals["total_market_tco2e"], revenue),
        "reason": reason,
    }


def energy_intensity(
    report: Mapping[str, Any], settings: Settings, period: Period
) -> dict[str, Any]:
    """Energy intensity per net revenue from high climate impact sectors (E1-5 40), only
    when that revenue is configured (``high_climate_impact_revenue``).

    Returns:
        ``revenue``, ``currency``, ``revenue_basis``, ``energy_mwh`` (E1-5 own operations:
        Scope 2 facility energy), ``mwh_per_currency_unit`` and ``reason``.
    """
    table = settings.high_climate_impact_revenue
    revenue, basis, reason = _revenue(table, "high_climate_impact_revenue", period)
    energy = report["energy_facility_mwh"]
    return {
        "revenue": exact(revenue),
        "currency": settings.revenue_currency,
        "revenue_basis": basis,
        "energy_mwh": energy,
        "mwh_per_currency_unit": _per(energy, revenue),
        "reason": reason,
    }


def reporting_context(settings: Settings) -> dict[str, Any]:
    """The consolidation approach, organisational boundary, base year and restatement
    policy as configured, and which of them are not (the report says so)."""
    values = {key: getattr(settings, key) for key in CONTEXT_KEYS}
    return {
        **values,
        "not_configured": [key for key in CONTEXT_KEYS if values[key] is None],
        "label": CONTRIBUTION,
    }
