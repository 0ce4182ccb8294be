"""A report's figures: pure functions over report lines (DataFrames).

A period's lines come from the figures layer (:class:`greenai.figures.frame.PeriodLines`:
run lines split at the period's edges, then node idle energy); these functions add them
up for the report. Sums use :func:`math.fsum` in line order, so the same lines give the
same figures to the last bit on every surface; nothing is rounded here (:func:`exact`):
rounding is for the HTML and PDF, where people read the figures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from greenai.figures.definitions import share, stored
from greenai.figures.frame import total, totals
from greenai.figures.lines import missing, records
from greenai.figures.scope import SCOPE2, market_basis_label
from greenai.figures.units import J_PER_KWH, kwh, tonnes

__all__ = [
    "appendix",
    "energy_mix",
    "exact",
    "factor_rows",
    "group_rows",
    "headline",
    "market_rows",
]

MIX_FAMILIES = ("fossil", "nuclear", "renewable")


SIGNIFICANT_DIGITS = 12
"""Digits a figure keeps in report.json and the CSV files: never fixed decimals (a small
period keeps its milligrams), only the binary noise of adding floats cut off
(``7980.000000000001`` is 7980), far below what any meter resolves."""


def exact(value: float | None) -> float | None:
    """A figure as report.json and the CSV files carry it: to
    :data:`SIGNIFICANT_DIGITS` significant digits, whatever its size, so that a change
    is computed from the figures themselves (figures are rounded for people only in the
    HTML and PDF). None stays None; -0.0 becomes 0.0."""
    if value is None or missing(value):
        return None
    out = float(f"{float(value):.{SIGNIFICANT_DIGITS}g}")
    return 0.0 if out == 0 else out


def headline(lines: pd.DataFrame) -> dict[str, Any]:
    """Totals of a period's lines (Scope 2 energy, both Scope 2 results, cloud Scope 3),
    from the figures layer's :func:`~greenai.figures.frame.totals`, unrounded.

    Returns:
        energy_it_kwh, energy_facility_kwh, scope2_location_tco2e, scope2_market_tco2e,
        scope2_market_basis, scope3_cloud_energy_it_kwh, scope3_cloud_energy_facility_kwh,
        scope3_cloud_tco2e, measured_share, runs_count, tokens, tokens_energy_it_kwh (IT
        energy of the runs that counted tokens, every scope) and kwh_per_million_tokens.
    """
    figures = totals(lines)
    s2 = lines[lines["scope"] == SCOPE2]
    return {
        "energy_it_kwh": exact(kwh(figures["scope2_energy_j"])),
        "energy_facility_kwh": exact(kwh(figures["scope2_facility_energy_j"])),
        "scope2_location_tco2e": exact(tonnes(figures["scope2_location_kg"])),
        "scope2_market_tco2e": exact(tonnes(figures["scope2_market_kg"])),
        "scope2_market_basis": market_basis_label(
            [b for b, e in zip(s2["market_basis"], s2["facility_j"], strict=True) if e > 0]
        ),
        "scope3_cloud_energy_it_kwh": exact(kwh(figures["scope3_cloud_energy_j"])),
        "scope3_cloud_energy_facility_kwh": exact(kwh(figures["scope3_cloud_facility_energy_j"])),
        "scope3_cloud_tco2e": exact(tonnes(figures["scope3_cloud_kg"])),
        "measured_share": exact(stored(figures["scope2_measured_share"])),
        "runs_count": int(figures["runs"]),
        "tokens": round(figures["tokens"]),
        "tokens_energy_it_kwh": exact(kwh(figures["tokens_energy_j"])),
        "kwh_per_million_tokens": exact(stored(figures["kwh_per_million_tokens"])),
    }


def _key(value: Any) -> tuple[bool, str]:
    gone = missing(value)
    return (gone, "" if gone else str(value))


def group_rows(lines: pd.DataFrame, keys: Sequence[str]) -> list[dict[str, Any]]:
    """Per-group figures of run lines, sorted by the keys (missing values last).

    Each row: the keys, runs_count, energy_it_kwh and energy_facility_kwh (Scope 2),
    scope2_location_tco2e, scope2_market_tco2e, cloud_energy_it_kwh, scope3_cloud_tco2e,
    tokens, kwh_per_million_tokens.
    """
    runs = lines[lines["kind"] == "run"]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for position, values in enumerate(zip(*(runs[k] for k in keys), strict=True)):
        clean = tuple(None if missing(v) else v for v in values)
        groups.setdefault(clean, []).append(position)
    rows = []
    for group in sorted(groups, key=lambda g: tuple(_key(v) for v in g)):
        part = runs.iloc[groups[group]]
        figures = headline(part)
        rows.append(
            {
                **dict(zip(keys, group, strict=True)),
                "runs_count": figures["runs_count"],
                "energy_it_kwh": figures["energy_it_kwh"],
                "energy_facility_kwh": figures["energy_facility_kwh"],
                "scope2_location_tco2e": figures["scope2_location_tco2e"],
                "scope2_market_tco2e": figures["scope2_market_tco2e"],
                "cloud_energy_it_kwh": figures["scope3_cloud_energy_it_kwh"],
                "scope3_cloud_tco2e": figures["scope3_cloud_tco2e"],
                "tokens": figures["tokens"],
                "kwh_per_million_tokens": figures["kwh_per_million_tokens"],
            }
        )
    return rows


def energy_mix(
    lines: pd.DataFrame, mix_of: Callable[[str], Mapping[str, float] | None]
) -> dict[str, Any]:
    """Fossil, nuclear and renewable shares of Scope 2 facility energy.

    Each line takes its country's grid generation mix (a region its country's);
    lines without a known mix are ``unknown``.

    Args:
        lines: A period's lines.
        mix_of: ISO3 -> ``{"fossil": share, "nuclear": share, "renewable": share}`` or None.
    """
    s2 = lines[lines["scope"] == SCOPE2]
    parts: dict[str, list[float]] = {f: [] for f in (*MIX_FAMILIES, "unknown")}
    by_country: dict[str, list[float]] = {}
    for country, facility_j in zip(s2["country"], s2["facility_j"], strict=True):
        kwh = float(facility_j) / J_PER_KWH
        mix = mix_of(country) if isinstance(country, str) and country else None
        by_country.setdefault(country if mix else "unknown", []).append(kwh)
        if mix is None:
            parts["unknown"].append(kwh)
            continue
        for family in MIX_FAMILIES:
            parts[family].append(kwh * float(mix.get(family, 0.0)))
    total_kwh = total(kwh for values in by_country.values() for kwh in values)
    out: dict[str, Any] = {}
    for family, values in parts.items():
        out[f"{family}_kwh"] = exact(total(values))
    for family, values in parts.items():
        out[f"{family}_share"] = exact(stored(share(total(values), total_kwh)))
    out["by_country"] = [
        {
            "country": country,
            "energy_facility_kwh": exact(total(values)),
            **{f"{f}_share": exact((mix_of(country) or {}).get(f)) for f in MIX_FAMILIES},
        }
        for country, values in sorted(by_country.items(), key=lambda kv: _key(kv[0]))
        if country != "unknown"
    ]
    return out


def factor_rows(lines: pd.DataFrame) -> list[dict[str, Any]]:
    """Location-based factors used: one row per scope, location, factor and source."""
    keys = ("scope", "location", "loc_intensity_g_per_kwh", "loc_source", "codecarbon_version")
    return [
        {
            "scope": g[0],
            "location": g[1],
            "intensity_g_per_kwh": exact(g[2]),
            "source": g[3],
            "codecarbon_version": g[4],
            "energy_facility_kwh": exact(total(part["facility_j"]) / J_PER_KWH),
            "tco2e": exact(total(part["loc_kg"]) / 1000.0),
        }
        for g, part in _grouped(lines, keys)
    ]


def market_rows(lines: pd.DataFrame) -> list[dict[str, Any]]:
    """Market-based factors used for Scope 2: one row per location, basis, factor, source."""
    s2 = lines[lines["scope"] == SCOPE2]
    keys = ("location", "market_basis", "market_intensity_g_per_kwh", "market_source")
    return [
        {
            "location": g[0],
            "basis": g[1],
            "intensity_g_per_kwh": exact(g[2]),
            "source": g[3],
            "energy_facility_kwh": exact(total(part["facility_j"]) / J_PER_KWH),
            "tco2e": exact(total(part["market_kg"]) / 1000.0),
        }
        for g, part in _grouped(s2, keys)
    ]


def _grouped(
    lines: pd.DataFrame, keys: Sequence[str]
) -> list[tuple[tuple[Any, ...], pd.DataFrame]]:
    groups: dict[tuple[Any, ...], list[int]] = {}
    for position, values in enumerate(zip(*(lines[k] for k in keys), strict=True)):
        clean = tuple(None if missing(v) else v for v in values)
        groups.setdefault(clean, []).append(position)
    ordered = sorted(groups, key=lambda g: tuple(_key(v) for v in g))
    return [(g, lines.iloc[groups[g]]) for g in ordered]


def appendix(lines: pd.DataFrame) -> list[dict[str, Any]]:
    """Every run of the period (share applied), oldest first, ties by id."""
    runs = lines[lines["kind"] == "run"].sort_values(["start_s", "id"], kind="stable")
    rows = []
    for r in records(runs):
        energy = float(r["energy_it_j"])
        market = (
            None if r["market_kg"] is None or r["market_kg"] != r["market_kg"] else r["market_kg"]
        )
        rows.append(
            {
                "run_id": r["id"],
                "project": r["project"],
                "model": r["model"],
                "technique": r["technique"],
                "phase": r["phase"],
                "status": r["status"],
                "started_at": r["started_at"],
                "ended_at": r["ended_at"],
                "scope": r["scope"],
                "location": r["location"],
                "share_in_period": exact(r["share"]),
                "split_method": r["split_method"],
                "energy_it_kwh": exact(energy / J_PER_KWH),
                "energy_facility_kwh": exact(float(r["facility_j"]) / J_PER_KWH),
                "measured_share": exact(stored(share(float(r["measured_j"]), energy))),
                "location_g_per_kwh": exact(r["loc_intensity_g_per_kwh"]),
                "location_kgco2e": exact(r["loc_kg"]),
                "market_basis": r["market_basis"],
                "market_g_per_kwh": exact(r["market_intensity_g_per_kwh"]),
                "market_kgco2e": exact(market),
                "tokens": round(float(r["tokens_input"]) + float(r["tokens_output"])),
                "flags": "; ".join(r["flags"]),
            }
        )
    return rows
