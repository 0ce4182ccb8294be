"""Runs exported in the columns of CodeCarbon's ``emissions.csv``.

CodeCarbon applies PUE inside its tracker, so the energies in its file include PUE: on
export IT energy is multiplied by PUE (the importer divides it out again). Text cells are
protected against spreadsheet formulas (:mod:`greenai.interop.formula_cells`), which the
importer undoes, so an export re-imports to the same values.

A run keeps the CodeCarbon ``run_id`` it was imported under; a child run or rank part
is marked in ``experiment_id`` as a part of its parent
(:mod:`greenai.interop.codecarbon_ids`), so an import counts it once, under its parent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from greenai.figures.units import J_PER_KWH
from greenai.interop.codecarbon_columns import COLUMNS
from greenai.interop.codecarbon_ids import exported_run_id, part_mark
from greenai.interop.formula_cells import csv_value

__all__ = ["COLUMNS", "to_codecarbon_row", "write_codecarbon_csv"]


def _kwh(joules: float | None, pue: float) -> float:
    return (joules or 0.0) * pue / J_PER_KWH


def _power(joules: float | None, duration_s: float) -> float:
    return (joules or 0.0) / duration_s if duration_s > 0 else 0.0


def to_codecarbon_row(run: Mapping[str, Any], parent_run_id: str | None = None) -> dict[str, Any]:
    """One run as a CodeCarbon row (energies x PUE, as CodeCarbon records them).

    Args:
        run: The ledger run.
        parent_run_id: The exported ``run_id`` of its parent (default: the parent's
            ledger id), for a child run or rank part.
    """
    pue = float(run.get("pue") or 1.0)
    duration_s = float(run.get("duration_s") or 0.0)
    emissions = float(run.get("emissions_kg") or 0.0)
    ended = run.get("ended_at") or run.get("started_at")
    return {
        "timestamp": ended.isoformat() if isinstance(ended, datetime) else ended,
        "project_name": run.get("project") or "",
        "run_id": exported_run_id(run),
        "experiment_id": _experiment_id(run, parent_run_id),
        "duration": duration_s,
        "emissions": emissions,
        "emissions_rate": emissions / duration_s if duration_s > 0 else 0.0,
        "cpu_power": _power(run.get("energy_cpu_j"), duration_s),
        "gpu_power": _power(run.get("energy_gpu_j"), duration_s),
        "ram_power": _power(run.get("energy_dram_j"), duration_s),
        "cpu_energy": _kwh(run.get("energy_cpu_j"), pue),
        "gpu_energy": _kwh(run.get("energy_gpu_j"), pue),
        "ram_energy": _kwh(run.get("energy_dram_j"), pue),
        "energy_consumed": _kwh(run.get("energy_j"), pue),
        "water_consumed": run.get("water_l") or 0.0,
        "country_iso_code": run.get("country") or "",
        "region": run.get("region") or "",
        "cloud_provider": run.get("cloud_provider") or "",
        "cloud_region": run.get("cloud_region") or "",
        "codecarbon_version": run.get("codecarbon_version") or "",
        "gpu_model": run.get("hardware") or "",
        "tracking_mode": run.get("mode") or "",
        "on_cloud": "Y" if run.get("cloud_provider") else "N",
        "pue": pue,
        "wue": run.get("wue_l_per_kwh") or 0.0,
    }


def _experiment_id(run: Mapping[str, Any], parent_run_id: str | None) -> str:
    parent = run.get("parent_run_id")
    return part_mark(parent_run_id or str(parent)) if parent else ""


def write_codecarbon_csv(
    runs: Iterable[Mapping[str, Any]], parents: Mapping[str, str] | None = None
) -> str:
    """Runs as CodeCarbon's CSV text.

    Args:
        runs: The runs, read once.
        parents: Ledger id -> exported ``run_id`` of parents that may not be in ``runs``.
    """
    runs = list(runs)
    exported = {**(parents or {}), **{str(r["id"]): exported_run_id(r) for r in runs}}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for run in runs:
        row = to_codecarbon_row(run, exported.get(str(run.get("parent_run_id"))))
        writer.writerow({k: csv_value(v) for k, v in row.items()})
    return out.getvalue()
