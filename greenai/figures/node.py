"""Node-level idle and unallocated energy, from the node agents' ``node_energy`` rows.

An agent records the energy of a whole node over intervals. Inside the report's boundary
the part no run was charged is added as its own line per host: node energy in the period
(rows cut by the period count pro rata by time) minus the IT energy of the root runs
charged on that host in the period (a multi-host job, which lists its hosts, counts an
equal share on each). A host whose runs exceed its node total gets no line and a
data-quality note. A host's location, factor and PUE are those of its latest run;
a host without runs takes the configured ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from greenai.figures import flags as fl
from greenai.figures.evidence import EVIDENCE_COLUMNS, evidence_columns
from greenai.figures.lines import LINE_COLUMNS, Defaults, line_frame, records
from greenai.figures.units import J_PER_KWH

__all__ = ["HostProfile", "host_profiles", "node_lines"]

MEASURED_METHODS = ("counter", "power")


@dataclass(frozen=True)
class HostProfile:
    """Where a host draws its energy from, and at which factor.

    Attributes:
        scope: ``scope2`` or ``scope3_cat1``.
        country, region, location: As on its runs.
        pue: Facility energy / IT energy.
        intensity_g_per_kwh: Location-based factor, gCO2e/kWh.
        source: Where the factor comes from.
        codecarbon_version: CodeCarbon version of the factor, if any.
        evidence: The factor's evidence (:data:`~greenai.figures.evidence.EVIDENCE_COLUMNS`
            of the run it was taken from, or of the configured factor).
    """

    scope: str
    country: str | None
    region: str | None
    location: str
    pue: float
    intensity_g_per_kwh: float
    source: str
    codecarbon_version: str | None
    evidence: Mapping[str, Any] = field(default_factory=lambda: evidence_columns(None))


def host_profiles(lines: pd.DataFrame) -> dict[str, HostProfile]:
    """Each host's profile from its latest run line (lines sorted oldest first)."""
    found: dict[str, HostProfile] = {}
    columns = ("host_id", "scope", "country", "region", "location", "pue",
               "loc_intensity_g_per_kwh", "loc_source", "codecarbon_version",
               *EVIDENCE_COLUMNS)  # fmt: skip
    for row in records(lines, columns):
        if not row["host_id"] or row["loc_intensity_g_per_kwh"] is None:
            continue
        found[row["host_id"]] = HostProfile(
            row["scope"],
            row["country"],
            row["region"],
            row["location"],
            float(row["pue"]),
            float(row["loc_intensity_g_per_kwh"]),
            str(row["loc_source"]),
            row["codecarbon_version"],
            {column: row[column] for column in EVIDENCE_COLUMNS},
        )
    return found


def _clipped(nodes: pd.DataFrame, start_s: float, end_s: float) -> pd.DataFrame:
    out = nodes.copy()
    lengths = (out["end_s"] - out["start_s"]).astype(float)
    overlap = (out["end_s"].clip(upper=end_s) - out["start_s"].clip(lower=start_s)).clip(lower=0)
    share = (overlap / lengths.where(lengths > 0)).fillna(0.0)
    out["energy_in_j"] = out["energy_j"].astype(float) * share
    out["measured_in_j"] = out["energy_in_j"].where(out["method"].isin(MEASURED_METHODS), 0.0)
    return out


def node_lines(
    nodes: pd.DataFrame,
    period_runs: pd.DataFrame,
    profiles: dict[str, HostProfile],
    default: HostProfile,
    start_s: float,
    end_s: float,
    defaults: Defaults | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Idle and unallocated energy lines for a period.

    Args:
        nodes: Node energy rows (host_id, method, start_s, end_s, energy_j).
        period_runs: The period's run lines, shares applied (hosts, energy_it_j).
        profiles: Host -> profile (from :func:`host_profiles`).
        default: Profile of hosts without runs (the configured location).
        start_s, end_s: The period, epoch seconds.
        defaults: Configured WUE and price (node energy records neither).

    Returns:
        ``(lines, notes)``: lines with :data:`LINE_COLUMNS` plus ``share`` and
        ``split_method``; notes name hosts whose runs exceed their node energy.
    """
    columns = [*LINE_COLUMNS, "share", "split_method"]
    if not len(nodes):
        return line_frame([], columns), []
    clipped = _clipped(nodes, start_s, end_s)
    per_host = clipped.groupby("host_id", sort=True)[["energy_in_j", "measured_in_j"]].sum()
    charged = _charged(period_runs)
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for host, totals in per_host.iterrows():
        node_j = float(totals["energy_in_j"])
        runs_j = math.fsum(charged.get(str(host), []))
        if node_j <= 0.0:
            continue
        idle_j = node_j - runs_j
        if idle_j < 0.0:
            notes.append(
                f"{host}: runs charged {runs_j / J_PER_KWH:.6f} kWh, node measured "
                f"{node_j / J_PER_KWH:.6f} kWh; no idle line"
            )
            continue
        profile = profiles.get(str(host), default)
        ratio = float(totals["measured_in_j"]) / node_j
        rows.append(_line(str(host), idle_j, ratio, profile, defaults or Defaults()))
    return line_frame(rows, columns), notes


def _charged(period_runs: pd.DataFrame) -> dict[str, list[float]]:
    """Host -> IT J of the runs charged on it (a multi-host job split equally)."""
    charged: dict[str, list[float]] = {}
    for hosts, energy_j in zip(period_runs["hosts"], period_runs["energy_it_j"], strict=True):
        if not isinstance(hosts, tuple) or not hosts:
            continue
        for host in hosts:
            charged.setdefault(host, []).append(float(energy_j) / len(hosts))
    return charged


def _line(
    host: str, idle_j: float, measured_ratio: float, profile: HostProfile, defaults: Defaults
) -> dict[str, Any]:
    facility_j = idle_j * profile.pue
    wue, price = defaults.wue_l_per_kwh, defaults.price_per_kwh
    return {
        "id": f"node:{host}",
        "kind": "node",
        "host_id": host,
        "hosts": (host,),
        "status": "measured",
        "start_s": 0.0,
        "end_s": 0.0,
        "scope": profile.scope,
        "country": profile.country,
        "region": profile.region,
        "location": profile.location,
        "pue": profile.pue,
        "energy_it_j": idle_j,
        "facility_j": facility_j,
        "measured_j": idle_j * measured_ratio,
        "loc_intensity_g_per_kwh": profile.intensity_g_per_kwh,
        "loc_source": profile.source,
        "codecarbon_version": profile.codecarbon_version,
        **profile.evidence,
        "loc_kg": facility_j / J_PER_KWH * profile.intensity_g_per_kwh / 1000.0,
        "tokens_input": 0.0,
        "tokens_output": 0.0,
        "water_l": idle_j / J_PER_KWH * wue if wue is not None else None,
        "cost": facility_j / J_PER_KWH * price if price is not None else None,
        "currency": defaults.currency if price is not None else None,
        "flags": (fl.NODE_IDLE_ENERGY,),
        "estimated": (),
        "share": 1.0,
        "split_method": "node_intervals",
    }
