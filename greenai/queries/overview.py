"""How far the figures can be trusted: IT energy by measurement method, and the runs in
each data-quality group of the flag registry.

Pure functions on the DataFrames of :mod:`greenai.queries.frames` (no Streamlit). Totals
must be given root runs only, so that no joule is counted twice. A period's totals, its
change and its breakdowns come from :mod:`greenai.figures.frame`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from greenai.figures import flags as fl

METHODS = ("counter", "power", "model")


def _kind_entries(by_kind: Any) -> list[tuple[str, float, str]]:
    """(kind, energy J, method) from a run's ``energy_by_kind`` JSON."""
    if not isinstance(by_kind, dict):
        return []
    out = []
    for kind, entry in by_kind.items():
        if isinstance(entry, dict):
            energy = float(entry.get("energy_j") or 0.0)
            out.append((str(kind), energy, str(entry.get("method") or "unknown")))
    return out


def method_shares(runs: pd.DataFrame, devices: pd.DataFrame | None = None) -> pd.DataFrame:
    """IT energy by how it was obtained: hardware ``counter``, ``power`` sensor or
    ``model`` estimate.

    Uses each run's ``energy_by_kind`` methods; a kind whose method is ``mixed`` is split
    by the run's devices (``run_devices``) when ``devices`` is given, else counted as
    ``mixed``. Energy the JSON does not cover is ``unknown``.

    Returns:
        Columns ``method``, ``energy_j``, ``share`` (of the runs' IT energy), one row per
        method present, in the order counter, power, model, mixed, unknown.
    """
    totals: dict[str, float] = {}

    def add(method: str, energy: float) -> None:
        if energy > 0:
            totals[method] = totals.get(method, 0.0) + energy

    by_run = _devices_by_run(devices)
    for run_id, by_kind, energy_j in runs[["id", "energy_by_kind", "energy_j"]].itertuples(
        index=False
    ):
        covered = 0.0
        for kind, energy, method in _kind_entries(by_kind):
            covered += energy
            split = by_run.get((run_id, kind)) if method == "mixed" else None
            if split:
                whole = sum(split.values()) or 1.0
                for dev_method, dev_energy in split.items():
                    add(dev_method, energy * dev_energy / whole)
            else:
                add(method if method in (*METHODS, "mixed") else "unknown", energy)
        add("unknown", float(energy_j or 0.0) - covered)
    order = [*METHODS, "mixed", "unknown"]
    total = sum(totals.values())
    rows = [
        {"method": m, "energy_j": totals[m], "share": totals[m] / total}
        for m in order
        if m in totals
    ]
    return pd.DataFrame(rows, columns=["method", "energy_j", "share"])


def mixed_runs(runs: pd.DataFrame) -> list[str]:
    """Ids of runs with a device kind measured by several methods (``mixed``), whose split
    :func:`method_shares` needs the runs' devices for."""
    return [
        str(run_id)
        for run_id, by_kind in runs[["id", "energy_by_kind"]].itertuples(index=False)
        if any(method == "mixed" for _, _, method in _kind_entries(by_kind))
    ]


def _devices_by_run(devices: pd.DataFrame | None) -> dict[tuple[str, str], dict[str, float]]:
    out: dict[tuple[str, str], dict[str, float]] = {}
    if devices is None or devices.empty:
        return out
    columns = devices[["run_id", "kind", "method", "energy_j"]]
    for run_id, kind, method, energy in columns.itertuples(index=False):
        split = out.setdefault((run_id, kind), {})
        split[method] = split.get(method, 0.0) + float(energy or 0.0)
    return out


def _flags(value: Any) -> list[str]:
    return [str(f) for f in value] if isinstance(value, list | tuple) else []


def _why(run: dict[str, Any], group: fl.Group) -> str:
    """The run's flags of ``group``, else what else put it there (status, no location)."""
    found = fl.group_flags(_flags(run["flags"]), group)
    if found:
        return ", ".join(found)
    return f"status {run['status']}" if group is fl.Group.INTERRUPTED else "no location recorded"


_ISSUE_INPUTS = ("flags", "country", "cloud_provider", "status")


def quality_issues(runs: pd.DataFrame) -> dict[fl.Group, pd.DataFrame]:
    """Runs in each counted data-quality group, by the registry's one rule
    (:func:`greenai.figures.flags.caveats`; words: :data:`greenai.figures.flags.GROUPS`).

    Returns:
        Group (in :data:`~greenai.figures.flags.COUNTED` order) -> its runs: ``id``,
        ``name``, ``project``, ``started_at``, ``energy_j``, ``detail`` (the flags that
        put the run there).
    """
    columns = ["id", "name", "project", "started_at", "energy_j"]
    records: list[dict[str, Any]] = (
        [{str(k): v for k, v in r.items()} for r in runs[list(_ISSUE_INPUTS)].to_dict("records")]
        if not runs.empty
        else []
    )
    groups = [
        fl.caveats(
            _flags(run["flags"]),
            status=run["status"],
            located=fl.has_location(run["country"], run["cloud_provider"]),
        )
        for run in records
    ]
    out: dict[fl.Group, pd.DataFrame] = {}
    for group in fl.COUNTED:
        hit = [i for i, found in enumerate(groups) if group in found]
        frame = runs.iloc[hit][columns].copy() if hit else pd.DataFrame(columns=columns)
        frame["detail"] = [_why(records[i], group) for i in hit]
        out[group] = frame.reset_index(drop=True)
    return out
