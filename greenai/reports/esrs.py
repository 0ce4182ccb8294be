"""Where the report's figures go in an ESRS E1 disclosure (CSRD).

Paragraph references are to ESRS E1 "Climate change" as adopted by Commission Delegated
Regulation (EU) 2023/2772 (:data:`ESRS_STANDARD`): E1-5 energy consumption and mix
(paragraph 37) and energy intensity per net revenue (40, 43); E1-6 gross Scope 1 (44 (a),
48), Scope 2 location- and market-based (44 (b), 49), significant Scope 3 categories (44
(c), 51), total GHG emissions both ways (44 (d), 52) and GHG intensity per net revenue (53,
55). The figures cover the AI workloads inside the report's boundary:
they are a contribution to the undertaking's totals, not the totals themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from greenai.reports import esrs_context as ctx
from greenai.reports.compute import exact
from greenai.reports.sites import site_rows

if TYPE_CHECKING:
    import pandas as pd

    from greenai.config import Settings
    from greenai.figures.periods import Period

__all__ = ["ESRS_STANDARD", "MAPPING", "esrs_rows", "esrs_sections"]

ESRS_STANDARD = {
    "standard": "ESRS E1 Climate change",
    "act": "Commission Delegated Regulation (EU) 2023/2772 of 31 July 2023",
    "published": "Official Journal of the European Union, L series, 22 December 2023",
    "celex": "32023R2772",
}
"""The version of the standard the paragraph references below are to (stored in the
report as ``esrs_standard`` and on each mapping row)."""

MAPPING: tuple[tuple[str, str, str, str, str], ...] = (
    # (disclosure, paragraph, datapoint, report key, unit)
    ("E1-5", "37", "Total energy consumption related to own operations",
     "energy_facility_kwh", "MWh"),
    ("E1-5", "37 (a)", "Energy consumption from fossil sources",
     "energy_mix.fossil_kwh", "MWh"),
    ("E1-5", "37 (b)", "Energy consumption from nuclear sources",
     "energy_mix.nuclear_kwh", "MWh"),
    ("E1-5", "37 (c) (ii)", "Consumption of purchased or acquired electricity from "
     "renewable sources", "energy_mix.renewable_kwh", "MWh"),
    ("E1-5", "37", "Energy of unknown source (location not configured)",
     "energy_mix.unknown_kwh", "MWh"),
    ("E1-5", "40", "Energy intensity per net revenue from activities in high climate "
     "impact sectors", "energy_intensity.mwh_per_currency_unit", "MWh/{currency}"),
    ("E1-5", "43", "Net revenue from activities in high climate impact sectors (used for "
     "the energy intensity)", "energy_intensity.revenue", "{currency}"),
    ("E1-6", "44 (a), 48 (a)", "Gross Scope 1 GHG emissions", "scope1.tco2e", "tCO2e"),
    ("E1-6", "44 (b), 49 (a)", "Gross location-based Scope 2 GHG emissions",
     "scope2_location_tco2e", "tCO2e"),
    ("E1-6", "44 (b), 49 (b)", "Gross market-based Scope 2 GHG emissions",
     "scope2_market_tco2e", "tCO2e"),
    ("E1-6", "44 (c), 51", "Gross Scope 3 GHG emissions, category 1 (purchased cloud services)",
     "scope3_cloud_tco2e", "tCO2e"),
    ("E1-6", "44 (d), 52 (a)", "Total GHG emissions (location-based)",
     "ghg_totals.total_location_tco2e", "tCO2e"),
    ("E1-6", "44 (d), 52 (b)", "Total GHG emissions (market-based)",
     "ghg_totals.total_market_tco2e", "tCO2e"),
    ("E1-6", "53", "GHG intensity per net revenue (location-based)",
     "ghg_intensity.location_tco2e_per_currency_unit", "tCO2e/{currency}"),
    ("E1-6", "53", "GHG intensity per net revenue (market-based)",
     "ghg_intensity.market_tco2e_per_currency_unit", "tCO2e/{currency}"),
    ("E1-6", "55", "Net revenue used to calculate the GHG intensity",
     "ghg_intensity.net_revenue", "{currency}"),
)  # fmt: skip
"""The mapping table: one row per datapoint."""
MARKET_KEYS = frozenset({"scope2_market_tco2e", "ghg_totals.total_market_tco2e",
                         "ghg_intensity.market_tco2e_per_currency_unit"})  # fmt: skip
"""The market-based datapoints, which carry the proxy caveat where there is one."""
MONETARY = "monetary unit"
"""The unit of revenue where no currency is configured (the figures are then None)."""


def _lookup(report: Mapping[str, Any], key: str) -> Any:
    value: Any = report
    for part in key.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def esrs_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The mapping table with the report's values (kWh shown as MWh).

    Args:
        report: A report dict holding the keys named in :data:`MAPPING`.

    Returns:
        Rows: disclosure, paragraph, datapoint, value, unit, report_key, caveat (the
        market-based figures' proxy caveat, else None), contribution (True: the figure is
        the boundary's contribution, not the undertaking's total) and standard_version.
    """
    rows = []
    currency = _lookup(report, "ghg_intensity.currency") or MONETARY
    for disclosure, paragraph, datapoint, key, unit_form in MAPPING:
        value = _lookup(report, key)
        unit = unit_form.format(currency=currency)
        if isinstance(value, int | float) and unit == "MWh":
            value = exact(value / 1000.0)
        rows.append(
            {
                "disclosure": f"ESRS {disclosure}",
                "paragraph": paragraph,
                "datapoint": datapoint,
                "value": value,
                "unit": unit,
                "report_key": key,
                "caveat": report.get("scope2_market_caveat") if key in MARKET_KEYS else None,
                "contribution": True,
                "standard_version": ESRS_STANDARD["act"],
            }
        )
    return rows


def esrs_sections(
    report: Mapping[str, Any], lines: pd.DataFrame, settings: Settings, period: Period
) -> dict[str, Any]:
    """The report's E1-6 figures and context, added beside the scope totals.

    Args:
        report: The report so far (scope totals, ``energy_facility_mwh``, market caveat).
        lines: The period's lines (for the per-site breakdown).
        settings: The configuration (Scope 1, revenue, boundary texts, sites).
        period: The report's period (Scope 1 by label, revenue pro rata by days).

    Returns:
        ``esrs_standard``, ``scope1``, ``ghg_totals``, ``ghg_intensity``,
        ``energy_intensity``, ``reporting_context`` and ``by_site``.
    """
    out: dict[str, Any] = {"esrs_standard": dict(ESRS_STANDARD),
                           "scope1": ctx.scope1(settings, period)}  # fmt: skip
    out["ghg_totals"] = ctx.ghg_totals({**report, **out})
    out["ghg_intensity"] = ctx.ghg_intensity(out, settings, period)
    out["energy_intensity"] = ctx.energy_intensity(report, settings, period)
    out["reporting_context"] = ctx.reporting_context(settings)
    out["by_site"] = site_rows(lines, settings.sites, settings.site_pue)
    return out
