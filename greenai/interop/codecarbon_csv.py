"""Runs exported in the columns of CodeCarbon's ``emissions.csv``.

CodeCarbon applies PUE inside its tracker, so the energies in its file include PUE: on
export IT energy is multiplied by PUE (the importer divides it out again). Text cells are
protected against spreadsheet formulas (:mod:`greenai.interop.formula_cells`), which the
importer undoes, so an export re-imports to the same values.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from greenai.figures.units import J_PER_KWH
from greenai.interop.codecarbon_columns import COLUMNS
from greenai.interop.formula_cells import csv_value

__all__ = ["COLUMNS", "to_codecarbon_row", "write_codecarbon_csv"]


def _kwh(joules: float | None, pue: float) -> float:
    return (joules or 0.0) * pue / J_PER_KWH


def _power(joules: float | None, duration_s: float) -> float:
    return (joules or 0.0) / duration_s if duration_s > 0 else 0.0


def to_codecarbon_row(run: Mapping[str, Any]) -> dict[str, Any]:
    """One run as a CodeCarbon row (energies x PUE, as CodeCarbon records them)."""
    pue = float(run.get("pue") or 1.0)
    duration_s = float(run.get("duration_s") or 0.0)
    emissions = float(run.get("emissions_kg") or 0.0)
    ended = run.get("ended_at") or run.get("started_at")
    return {
        "timestamp": ended.isoformat() if isinstance(ended, datetime) else ended,
        "project_name": run.get("project") or "",
        "run_id": run["id"],
        "experiment_id": run.get("parent_run_id") or "",
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


def write_codecarbon_csv(runs: Iterable[Mapping[str, Any]]) -> str:
    """Runs as CodeCarbon's CSV text."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for run in runs:
        writer.writerow({k: csv_value(v) for k, v in to_codecarbon_row(run).items()})
    return out.getvalue()
