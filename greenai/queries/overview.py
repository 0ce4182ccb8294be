"""Overview figures on run totals: KPIs and their change, energy over time, the largest
consumers, and how far the figures can be trusted (measurement methods, quality issues).

Pure functions on the DataFrames of :mod:`greenai.queries.frames` (no Streamlit), for the
dashboard, the reports and the CLI. Totals must be given root runs only, so that no joule
is counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from greenai.figures import definitions as defs
from greenai.figures import flags as fl

KPI_NAMES = (
    "energy_j",
    "facility_energy_j",
    "emissions_kg",
    "runs",
    "tokens_output",
    "tokens_input",
    "j_per_output_token",
)
METHODS = ("counter", "power", "model")


def previous_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The period of the same length just before ``[start, end)``."""
    return start - (end - start), start


def kpis(runs: pd.DataFrame) -> dict[str, float]:
    """Totals of root runs.

    Returns:
        ``energy_j`` (IT), ``facility_energy_j``, ``emissions_kg`` (location-based),
        ``runs``, ``tokens_output``, ``tokens_input`` and ``j_per_output_token``: the IT
        energy of the runs that produced output tokens over those tokens (NaN if none).
    """

    def total(column: str) -> float:
        return float(runs[column].fillna(0).sum()) if not runs.empty else 0.0

    producing = runs[runs["tokens_output"].fillna(0) > 0] if not runs.empty else runs
    tokens = float(producing["tokens_output"].sum()) if not producing.empty else 0.0
    energy_producing = float(producing["energy_j"].fillna(0).sum()) if tokens else 0.0
    return {
        "energy_j": total("energy_j"),
        "facility_energy_j": total("facility_energy_j"),
        "emissions_kg": total("emissions_kg"),
        "runs": float(len(runs)),
        "tokens_output": total("tokens_output"),
        "tokens_input": total("tokens_input"),
        "j_per_output_token": defs.j_per_token(energy_producing, tokens),
    }


def kpi_changes(current: dict[str, float], previous: dict[str, float]) -> dict[str, float | None]:
    """Relative change of each KPI against the previous period (0.12 = +12%).

    None where the previous value is zero or unknown (no meaningful ratio).
    """
    out: dict[str, float | None] = {}
    for name, now in current.items():
        before = previous.get(name)
        if before is None or pd.isna(before) or before == 0 or pd.isna(now):
            out[name] = None
        else:
            out[name] = (now - before) / abs(before)
    return out


def time_step(start: datetime | None, end: datetime | None) -> str:
    """A bucket size that gives a readable chart: ``D`` (day), ``W`` (week) or ``MS`` (month)."""
    if start is None or end is None:
        return "MS"
    days = (end - start).total_seconds() / 86400.0
    if days <= 62:
        return "D"
    if days <= 370:
        return "W"
    return "MS"


def _top_groups(runs: pd.DataFrame, by: str, keep: int) -> pd.Series:
    """The ``by`` column with missing values as ``(none)`` and beyond ``keep`` as ``other``."""
    labels = runs[by].astype(object).where(runs[by].notna(), "(none)").astype(str)
    ranked = runs["energy_j"].groupby(labels).sum().sort_values(ascending=False)
    top = set(ranked.index[:keep])
    return labels.where(labels.isin(top), "other")


def energy_over_time(
    runs: pd.DataFrame, *, by: str = "project", step: str = "D", keep: int = 7
) -> pd.DataFrame:
    """Energy and emissions per time bucket (by start time, UTC) and group.

    Args:
        runs: Root runs.
        by: Column to stack by (``project``, ``phase``, ``model``...).
        step: Pandas period alias: ``D``, ``W`` or ``MS``.
        keep: Largest groups kept by name; the rest are summed as ``other``.

    Returns:
        Columns ``period`` (bucket start, aware UTC), ``group``, ``energy_j``,
        ``facility_energy_j``, ``emissions_kg``, ``runs``.
    """
    columns = ["period", "group", "energy_j", "facility_energy_j", "emissions_kg", "runs"]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    frame = runs.assign(group=_top_groups(runs, by, keep))
    started = pd.to_datetime(frame["started_at"], utc=True)
    if step == "W":
        period = started.dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time
    elif step == "MS":
        period = started.dt.tz_localize(None).dt.to_period("M").dt.start_time
    else:
        period = started.dt.tz_localize(None).dt.floor("D")
    frame["period"] = period.dt.tz_localize("UTC")
    out = (
        frame.groupby(["period", "group"], sort=True)
        .agg(
            energy_j=("energy_j", "sum"),
            facility_energy_j=("facility_energy_j", "sum"),
            emissions_kg=("emissions_kg", "sum"),
            runs=("id", "size"),
        )
        .reset_index()
    )
    return out[columns]


def largest_consumers(
    runs: pd.DataFrame, by: Sequence[str] = ("project", "model"), n: int = 10
) -> pd.DataFrame:
    """The ``n`` groups that drew the most IT energy, with their share of the total.

    Returns:
        The ``by`` columns (missing values as ``(none)``), ``runs``, ``energy_j``,
        ``facility_energy_j``, ``emissions_kg``, ``tokens_output``, ``share``.
    """
    columns = [*by, "runs", "energy_j", "facility_energy_j", "emissions_kg", "tokens_output",
               "share"]  # fmt: skip
    if runs.empty:
        return pd.DataFrame(columns=columns)
    frame = runs.copy()
    for key in by:
        frame[key] = frame[key].astype(object).where(frame[key].notna(), "(none)").astype(str)
    out = (
        frame.groupby(list(by), sort=False)
        .agg(
            runs=("id", "size"),
            energy_j=("energy_j", "sum"),
            facility_energy_j=("facility_energy_j", "sum"),
            emissions_kg=("emissions_kg", "sum"),
            tokens_output=("tokens_output", "sum"),
        )
        .reset_index()
    )
    total = float(out["energy_j"].sum())
    out["share"] = out["energy_j"] / total if total else 0.0
    out = out.sort_values("energy_j", ascending=False, kind="stable").head(n)
    return out.reset_index(drop=True)[columns]


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
