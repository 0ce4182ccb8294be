"""The data-quality section of a report: how much energy was measured, what was estimated,
and which runs carry a caveat (unknown location, interrupted, overlapping, gaps, ...)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from greenai.figures import flags as fl
from greenai.figures.lines import records
from greenai.figures.scope import SCOPE2, SCOPE3_CLOUD
from greenai.figures.split import SPLIT_NONE
from greenai.figures.units import J_PER_KWH
from greenai.reports.caveats import CAVEATS, LATE, RUNNING
from greenai.reports.compute import exact

__all__ = ["data_quality"]

Row = dict[str, Any]


def _caveats(row: Row) -> frozenset[fl.Group]:
    """The counted groups of a run line (the registry's rule, as the dashboard's)."""
    return fl.caveats(row["flags"], status=row["status"], located=row["location"] != "unknown")


def _entry(rows: list[Row]) -> dict[str, Any]:
    return {
        "runs_count": len(rows),
        "energy_it_kwh": exact(math.fsum(float(r["energy_it_j"]) for r in rows) / J_PER_KWH),
        "run_ids": sorted(str(r["id"]) for r in rows),
    }


def _estimated(runs: list[Row]) -> list[dict[str, Any]]:
    by_kind: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for row in runs:
        for kind, energy_j in row["estimated"]:
            by_kind.setdefault(kind, []).append(float(energy_j) * float(row["share"]))
            counts[kind] = counts.get(kind, 0) + 1
    return [
        {
            "kind": kind,
            "runs_count": counts[kind],
            "energy_it_kwh": exact(math.fsum(values) / J_PER_KWH),
        }
        for kind, values in sorted(by_kind.items())
    ]


def _imported(rows: list[Row], runs: list[Row]) -> list[dict[str, Any]]:
    """Per tool, the runs imported from its records and their share of the IT energy of
    every line (each scope, node lines included)."""
    by_tool: dict[str, list[Row]] = {}
    for row in runs:
        for flag in row["flags"]:
            if str(flag).startswith(fl.IMPORTED):
                by_tool.setdefault(str(flag).removeprefix(fl.IMPORTED), []).append(row)
    total_j = math.fsum(float(r["energy_it_j"]) for r in rows)
    out = []
    for tool, found in sorted(by_tool.items()):
        entry = _entry(found)
        energy_j = math.fsum(float(r["energy_it_j"]) for r in found)
        share = exact(energy_j / total_j) if total_j > 0 else None
        out.append({"tool": tool, **entry, "share_of_it_energy": share})
    return out


def _share(rows: list[Row]) -> float | None:
    energy = math.fsum(float(r["energy_it_j"]) for r in rows)
    measured = math.fsum(float(r["measured_j"]) for r in rows)
    return exact(measured / energy) if energy > 0 else None


def data_quality(
    lines: pd.DataFrame,
    *,
    as_of_s: float,
    period_end_s: float,
    node_notes: Sequence[str] = (),
) -> dict[str, Any]:
    """The data-quality facts of a period's lines (shares applied).

    Args:
        lines: The period's lines (runs and node lines).
        as_of_s: The report's as-of time, epoch seconds.
        period_end_s: End of the period, epoch seconds.
        node_notes: Notes from the node-energy lines.

    Returns:
        measured_share (Scope 2 IT energy measured by hardware counters or power sensors),
        measured_share_cloud, estimated_components, imported (per tool: runs_count,
        energy_it_kwh, run_ids, share_of_it_energy), one entry per caveat of
        :data:`~greenai.reports.caveats.CAVEATS` (runs_count, energy_it_kwh, run_ids),
        split_runs, updated_after_as_of,
        period_complete_at_as_of and node_energy notes.
    """
    all_rows = records(lines)
    runs = [r for r in all_rows if r["kind"] == "run"]
    out: dict[str, Any] = {
        "measured_share": _share([r for r in all_rows if r["scope"] == SCOPE2]),
        "measured_share_cloud": _share([r for r in runs if r["scope"] == SCOPE3_CLOUD]),
        "estimated_components": _estimated(runs),
        "imported": _imported(all_rows, runs),
    }
    found = [(r, _caveats(r)) for r in runs]
    for key in CAVEATS:
        if key == RUNNING:
            out[key] = _entry([r for r in runs if r["status"] == "running"])
        else:
            out[key] = _entry([r for r, groups in found if key in groups])
    out["split_runs"] = [
        {"run_id": r["id"], "share_in_period": exact(r["share"]), "split_method": r["split_method"]}
        for r in sorted(runs, key=lambda r: str(r["id"]))
        if r["split_method"] != SPLIT_NONE
    ]
    late = [r for r in runs if r["updated_s"] is not None and r["updated_s"] > as_of_s]
    out[LATE] = _entry(late)
    out["period_complete_at_as_of"] = period_end_s <= as_of_s
    out["node_energy_notes"] = list(node_notes)
    return out
