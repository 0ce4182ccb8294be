"""A report's figures: pure functions over report lines (DataFrames).

A period's lines come from the figures layer (:class:`greenai.figures.frame.PeriodLines`:
run lines split at the period's edges, then node idle energy); these functions add them
up for the report. Sums use :func:`math.fsum` in line order, so the same lines give the
same figures to the last bit on every surface; nothing is rounded here (:func:`exact`):
rounding is for the HTML and PDF, where people read the figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from greenai.figures.definitions import share, stored
from greenai.figures.evidence import MIX_FAMILIES, UNKNOWN
from greenai.figures.frame import total, totals
from greenai.figures.lines import missing, records
from greenai.figures.scope import SCOPE2, market_basis_label
from greenai.figures.units import J_PER_KWH, kwh, tonnes

__all__ = [
    "appendix",
    "energy_mix",
    "exact",
    "factor_bases",
    "factor_rows",
    "group_rows",
    "headline",
    "market_rows",
]


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

    Each line takes the generation mix stored with its factor (a region's own where the
    data hold one, else its country's); a line recorded without one takes its country's
    from ``mix_of``; lines without a known mix, and the part of a mix no family covers,
    are ``unknown``.

    Args:
        lines: A period's lines.
        mix_of: ISO3 -> ``{"fossil": share, "nuclear": share, "renewable": share}`` or None,
            for lines recorded without a mix.

    Returns:
        ``<family>_kwh`` and ``<family>_share`` for each family and ``unknown``;
        ``by_country`` (each country's facility energy and the shares applied to it);
        ``mix_from``: facility kWh by where the mix came from (``stored``: with the runs,
        ``country`` or ``region`` as stored; ``installed``: the installed CodeCarbon's
        country mix for runs recorded without one; ``unknown``).
    """
    s2 = lines[lines["scope"] == SCOPE2]
    parts: dict[str, list[float]] = {f: [] for f in (*MIX_FAMILIES, "unknown")}
    by_country: dict[str, dict[str, list[float]]] = {}
    origin: dict[str, list[float]] = {}
    for country, facility_j, stored_mix, of in zip(
        s2["country"], s2["facility_j"], s2["mix"], s2["mix_of"], strict=True
    ):
        kwh = float(facility_j) / J_PER_KWH
        source = f"stored ({of})" if isinstance(stored_mix, Mapping) else "installed"
        mix = stored_mix if isinstance(stored_mix, Mapping) else None
        if mix is None and isinstance(country, str) and country:
            mix = mix_of(country)
        if mix is None:
            parts["unknown"].append(kwh)
            origin.setdefault("unknown", []).append(kwh)
            by_country.setdefault("unknown", {}).setdefault("kwh", []).append(kwh)
            continue
        origin.setdefault(source, []).append(kwh)
        row = by_country.setdefault(str(country), {})
        row.setdefault("kwh", []).append(kwh)
        for family in MIX_FAMILIES:
            parts[family].append(kwh * float(mix.get(family, 0.0)))
            row.setdefault(family, []).append(kwh * float(mix.get(family, 0.0)))
        covered = math.fsum(float(mix.get(f, 0.0)) for f in MIX_FAMILIES)
        parts["unknown"].append(kwh * max(0.0, 1.0 - covered))  # e.g. "other" sources
    total_kwh = total(kwh for row in by_country.values() for kwh in row["kwh"])
    out: dict[str, Any] = {}
    for family, values in parts.items():
        out[f"{family}_kwh"] = exact(total(values))
    for family, values in parts.items():
        out[f"{family}_share"] = exact(stored(share(total(values), total_kwh)))
    out["by_country"] = [
        {
            "country": country,
            "energy_facility_kwh": exact(total(row["kwh"])),
            **{
                f"{f}_share": exact(share(total(row.get(f, [])), total(row["kwh"])))
                for f in MIX_FAMILIES
            },
        }
        for country, row in sorted(by_country.items(), key=lambda kv: _key(kv[0]))
        if country != "unknown"
    ]
    out["mix_from"] = {where: exact(total(values)) for where, values in sorted(origin.items())}
    return out


def factor_rows(lines: pd.DataFrame) -> list[dict[str, Any]]:
    """Location-based factors used: one row per scope, location, factor, source and
    evidence (dataset, vintage year, basis, GWP set), as stored with the runs."""
    keys = ("scope", "location", "loc_intensity_g_per_kwh", "loc_source", "codecarbon_version",
            *FACTOR_EVIDENCE_KEYS)  # fmt: skip
    return [
        {
            "scope": g[0],
            "location": g[1],
            "intensity_g_per_kwh": exact(g[2]),
            "source": g[3],
            "codecarbon_version": g[4],
            "dataset": g[5],
            "vintage": g[6],
            "basis": g[7],
            "gwp": g[8],
            "energy_facility_kwh": exact(total(part["facility_j"]) / J_PER_KWH),
            "tco2e": exact(total(part["loc_kg"]) / 1000.0),
        }
        for g, part in _grouped(lines, keys)
    ]


FACTOR_EVIDENCE_KEYS = ("factor_dataset", "factor_vintage", "factor_basis", "factor_gwp")
"""The line columns of a factor's evidence that the factor tables group by."""


def factor_bases(lines: pd.DataFrame) -> dict[str, Any]:
    """The bases of the location-based factors a period sums (facility kWh each), and
    a note when they mix life-cycle and combustion factors (or ones of unknown basis)."""
    kwh: dict[str, list[float]] = {}
    for basis, facility_j in zip(lines["factor_basis"], lines["facility_j"], strict=True):
        kwh.setdefault(str(basis or UNKNOWN), []).append(float(facility_j) / J_PER_KWH)
    bases = {basis: exact(total(values)) for basis, values in sorted(kwh.items())}
    note = None
    if len(bases) > 1:
        note = (
            "the emissions sum factors of different bases ("
            + ", ".join(bases)
            + "): life-cycle factors count fuel supply and plant construction, combustion "
            "factors only the plant's stack; the totals are not of one basis"
        )
    return {"energy_facility_kwh_by_basis": bases, "note": note}


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
                "revision": r["revision"],
            }
        )
    return rows
