"""Where the report's figures go in an ESRS E1 disclosure (CSRD).

Paragraph references are to ESRS E1 "Climate change" as adopted by Commission Delegated
Regulation (EU) 2023/2772: E1-5 energy consumption and mix (paragraph 37), E1-6 gross
Scope 2 location- and market-based emissions (paragraphs 44 and 49) and significant Scope 3
categories (paragraph 51). The figures cover the AI workloads inside the report's boundary:
they are a contribution to the undertaking's totals, not the totals themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from greenai.reports.compute import exact

__all__ = ["esrs_rows"]

MAPPING: tuple[tuple[str, str, str, str, str], ...] = (
    # (disclosure, paragraph, datapoint, report key, unit)
    ("E1-5", "37", "Total energy consumption related to own operations",
     "energy_facility_kwh", "MWh"),
    ("E1-5", "37 (a)", "Energy consumption from fossil sources",
     "energy_mix.fossil_kwh", "MWh"),
    ("E1-5", "37 (b)", "Energy consumption from nuclear sources",
     "energy_mix.nuclear_kwh", "MWh"),
    ("E1-5", "37 (c)", "Energy consumption from renewable sources",
     "energy_mix.renewable_kwh", "MWh"),
    ("E1-5", "37", "Energy of unknown source (location not configured)",
     "energy_mix.unknown_kwh", "MWh"),
    ("E1-6", "44 (b), 49 (a)", "Gross location-based Scope 2 GHG emissions",
     "scope2_location_tco2e", "tCO2e"),
    ("E1-6", "44 (b), 49 (b)", "Gross market-based Scope 2 GHG emissions",
     "scope2_market_tco2e", "tCO2e"),
    ("E1-6", "44 (c), 51", "Gross Scope 3 GHG emissions, category 1 (purchased cloud services)",
     "scope3_cloud_tco2e", "tCO2e"),
)  # fmt: skip
"""The mapping table: one row per datapoint."""
MARKET_KEY = "scope2_market_tco2e"
"""The market-based datapoint, which carries the proxy caveat where there is one."""


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
        Rows: disclosure, paragraph, datapoint, value, unit, report_key, and caveat (the
        market-based figure's proxy caveat, else None).
    """
    rows = []
    for disclosure, paragraph, datapoint, key, unit in MAPPING:
        value = _lookup(report, key)
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
                "caveat": report.get("scope2_market_caveat") if key == MARKET_KEY else None,
            }
        )
    return rows
