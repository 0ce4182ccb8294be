"""The per-site breakdown of a period: each site's energy, emissions and PUE, with where
the PUE comes from.

A site is a data centre where the configuration groups hosts into one (``sites``: host id
-> site name), else the host itself; lines without a host id (a cloud run recorded
without one) form the site ``None``. A run that lists several hosts (a multi-host job) is
split equally among them: the ledger holds its energy per run, not per host. So the
sites add up to the report's totals, line by line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from greenai.figures.frame import total
from greenai.figures.lines import missing, records
from greenai.figures.scope import SCOPE2, SCOPE3_CLOUD
from greenai.figures.units import J_PER_KWH
from greenai.reports.compute import exact

__all__ = ["PUE_SOURCES", "site_rows"]

PUE_SOURCES = {
    "configured": "configured for the site (site_pue)",
    "recorded_with_runs": "configured when the runs were recorded (or in the imported file)",
    "default_1.0": "default 1.0: no PUE configured, facility energy = IT energy",
}
"""Where a site's PUE comes from, in words."""
PUE_TOLERANCE = 1e-6
"""Relative difference under which a configured PUE matches the one the runs recorded."""
_COLUMNS = ("kind", "host_id", "hosts", "scope", "location", "pue", "energy_it_j",
            "facility_j", "loc_kg", "market_kg")  # fmt: skip


def _hosts(row: Mapping[str, Any]) -> tuple[str, ...]:
    listed = row.get("hosts")
    if isinstance(listed, tuple) and listed:
        return tuple(str(h) for h in listed)
    host = row.get("host_id")
    return (str(host),) if isinstance(host, str) and host else ()


def _parts(lines: pd.DataFrame, sites: Mapping[str, str]) -> dict[str | None, list[Any]]:
    """Site -> [(share, host, line), ...] in line order."""
    found: dict[str | None, list[Any]] = {}
    for row in records(lines, [c for c in _COLUMNS if c in lines.columns]):
        hosts = _hosts(row)
        if not hosts:
            found.setdefault(None, []).append((1.0, None, row))
        for host in hosts:
            found.setdefault(sites.get(host, host), []).append((1.0 / len(hosts), host, row))
    return found


def _sum(parts: list[Any], scope: str, column: str, per: float) -> float:
    values = [share * float(r[column]) for share, _, r in parts
              if r.get("scope") == scope and not missing(r.get(column))]  # fmt: skip
    return total(values) / per


def _pue(parts: list[Any], configured: float | None) -> tuple[float | None, str, str | None]:
    """(PUE applied: facility / IT energy, its source, a note where configured differs)."""
    s2 = [p for p in parts if p[2]["scope"] == SCOPE2] or parts
    it_j = math.fsum(share * float(r["energy_it_j"]) for share, _, r in s2)
    facility_j = math.fsum(share * float(r["facility_j"]) for share, _, r in s2)
    applied = exact(facility_j / it_j) if it_j > 0 else None
    recorded = {float(r["pue"]) for _, _, r in s2 if not missing(r.get("pue"))}
    if configured is not None:
        note = None
        if applied is not None and abs(applied - configured) > PUE_TOLERANCE * configured:
            note = (
                f"configured {configured:g}, the runs recorded {applied:g}: the figures "
                "use what the runs recorded"
            )
        return applied, "configured", note
    if recorded <= {1.0}:
        return applied, "default_1.0", None
    return applied, "recorded_with_runs", None


def site_rows(
    lines: pd.DataFrame, sites: Mapping[str, str], site_pue: Mapping[str, float]
) -> list[dict[str, Any]]:
    """One row per site (configured data centres and hosts by name, then no host).

    Args:
        lines: A period's lines (runs and node idle energy).
        sites: Host id -> site name (``sites``).
        site_pue: Site (or host) -> configured PUE (``site_pue``).

    Returns:
        Rows: ``site``, ``kind`` (``data_centre``, ``host`` or ``no_host``), ``hosts``,
        ``locations``, ``energy_it_kwh`` and ``energy_facility_kwh`` (Scope 2),
        ``scope2_location_tco2e``, ``scope2_market_tco2e``, ``cloud_energy_it_kwh``,
        ``cloud_energy_facility_kwh``, ``scope3_cloud_tco2e``, ``pue`` (facility / IT
        energy as applied), ``pue_source`` (a key of :data:`PUE_SOURCES`),
        ``pue_configured`` and ``pue_note``.
    """
    found = _parts(lines, sites)
    centres = set(sites.values())
    rows = []
    for site in sorted(found, key=lambda s: (s is None, s or "")):
        parts = found[site]
        configured = site_pue.get(site) if site is not None else None
        pue, source, note = _pue(parts, configured)
        kind = "no_host" if site is None else "data_centre" if site in centres else "host"
        rows.append(
            {
                "site": site,
                "kind": kind,
                "hosts": sorted({h for _, h, _ in parts if h is not None}),
                "locations": sorted({str(r["location"]) for _, _, r in parts}),
                "energy_it_kwh": exact(_sum(parts, SCOPE2, "energy_it_j", J_PER_KWH)),
                "energy_facility_kwh": exact(_sum(parts, SCOPE2, "facility_j", J_PER_KWH)),
                "scope2_location_tco2e": exact(_sum(parts, SCOPE2, "loc_kg", 1000.0)),
                "scope2_market_tco2e": exact(_sum(parts, SCOPE2, "market_kg", 1000.0)),
                "cloud_energy_it_kwh": exact(_sum(parts, SCOPE3_CLOUD, "energy_it_j", J_PER_KWH)),
                "cloud_energy_facility_kwh": exact(
                    _sum(parts, SCOPE3_CLOUD, "facility_j", J_PER_KWH)
                ),
                "scope3_cloud_tco2e": exact(_sum(parts, SCOPE3_CLOUD, "loc_kg", 1000.0)),
                "pue": pue,
                "pue_source": source,
                "pue_configured": configured,
                "pue_note": note,
            }
        )
    return rows
