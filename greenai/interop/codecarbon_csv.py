"""CodeCarbon's ``emissions.csv``: export runs to it, import runs from it.

CodeCarbon applies PUE inside its tracker, so the energies in its file include PUE:
on export IT energy is multiplied by PUE; on import IT energy = recorded energy / pue.
Units there: energy kWh, power W, emissions kg, duration s.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from greenai.errors import ConfigError

COLUMNS = (
    "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions",
    "emissions_rate", "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy",
    "ram_energy", "energy_consumed", "water_consumed", "country_name", "country_iso_code",
    "region", "cloud_provider", "cloud_region", "os", "python_version", "codecarbon_version",
    "cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude", "latitude",
    "ram_total_size", "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
    "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue",
)  # fmt: skip

J_PER_KWH = 3.6e6
IMPORT_SOURCE = "codecarbon-import"


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
        writer.writerow(to_codecarbon_row(run))
    return out.getvalue()


def _float(row: Mapping[str, str], key: str, line: int, default: float = 0.0) -> float:
    raw = (row.get(key) or "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{key} (line {line})", raw, "a number") from None


def from_codecarbon_row(row: Mapping[str, str], line: int) -> dict[str, Any]:
    """A CodeCarbon row as a ledger record (IT energy = recorded / pue)."""
    pue = _float(row, "pue", line, 1.0) or 1.0
    facility_kwh = _float(row, "energy_consumed", line)
    emissions = _float(row, "emissions", line)
    duration_s = _float(row, "duration", line)
    ended = datetime.fromisoformat(row["timestamp"]) if row.get("timestamp") else datetime.now(UTC)
    if ended.tzinfo is None:
        ended = ended.replace(tzinfo=UTC)
    started = datetime.fromtimestamp(ended.timestamp() - duration_s, UTC)
    key = f"{row.get('run_id', '')}|{row.get('timestamp', '')}|{row.get('project_name', '')}"
    by_kind = {}
    for kind, column in (("cpu", "cpu_energy"), ("gpu", "gpu_energy"), ("dram", "ram_energy")):
        j = _float(row, column, line) / pue * J_PER_KWH
        if j:
            by_kind[kind] = {"energy_j": j, "method": "model" if kind != "gpu" else "counter"}
    cloud = (row.get("on_cloud") or "N").upper() == "Y"
    run = {
        "id": "cc-" + hashlib.sha256(key.encode()).hexdigest()[:24],
        "status": "completed",
        "project": row.get("project_name") or None,
        "started_at": started,
        "ended_at": ended,
        "duration_s": duration_s,
        "energy_j": facility_kwh / pue * J_PER_KWH,
        "facility_energy_j": facility_kwh * J_PER_KWH,
        "pue": pue,
        "energy_gpu_j": by_kind.get("gpu", {}).get("energy_j", 0.0),
        "energy_cpu_j": by_kind.get("cpu", {}).get("energy_j", 0.0),
        "energy_dram_j": by_kind.get("dram", {}).get("energy_j", 0.0),
        "energy_by_kind": by_kind,
        "emissions_kg": emissions,
        "intensity_g_per_kwh": emissions / facility_kwh * 1000.0 if facility_kwh else None,
        "intensity_source": IMPORT_SOURCE,
        "codecarbon_version": row.get("codecarbon_version") or None,
        "country": (row.get("country_iso_code") or "").upper() or None,
        "region": row.get("region") or None,
        "cloud_provider": (row.get("cloud_provider") or None) if cloud else None,
        "cloud_region": (row.get("cloud_region") or None) if cloud else None,
        "hardware": row.get("gpu_model") or row.get("cpu_model") or None,
        "mode": row.get("tracking_mode") or None,
        "tags": {"imported_from": "codecarbon", "codecarbon_run_id": row.get("run_id", "")},
        "flags": ["imported:codecarbon"],
    }
    return {"run": run, "devices": [], "windows": [], "metrics": []}


def read_codecarbon_csv(path: Path) -> list[dict[str, Any]]:
    """Every row of a CodeCarbon file as a ledger record; ConfigError names a bad line."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"timestamp", "energy_consumed", "emissions"} - set(reader.fieldnames or [])
        if missing:
            raise ConfigError("file", str(path), f"CodeCarbon's emissions.csv (missing {missing})")
        return [from_codecarbon_row(row, i) for i, row in enumerate(reader, start=2)]
