"""A checked CodeCarbon row as a ledger record: IT energy = recorded energy / PUE.

The run id is derived from (CodeCarbon run id, timestamp as written, project), so
importing the same row again updates the same run instead of adding one.
"""

from __future__ import annotations

import hashlib
from typing import Any

from greenai.figures import flags
from greenai.figures.units import J_PER_KWH
from greenai.interop.codecarbon_columns import IMPORT_SOURCE
from greenai.interop.codecarbon_row import CodecarbonRow

IMPORT_FLAG = flags.imported("codecarbon")


def run_id_of(row: CodecarbonRow) -> str:
    """The ledger id of a row's run: ``cc-`` and 24 hex digits of its key's SHA-256."""
    key = f"{row.run_id}|{row.timestamp}|{row.project or ''}"
    return "cc-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def _it_j(kwh_with_pue: float, pue: float) -> float:
    return kwh_with_pue / pue * J_PER_KWH


def ledger_record(row: CodecarbonRow) -> dict[str, Any]:
    """The record that :meth:`greenai.ledger.Ledger.save_run` takes, for one row."""
    by_kind = {
        kind: {"energy_j": _it_j(kwh, row.pue), "method": method}
        for kind, kwh, method in (
            ("cpu", row.cpu_energy_kwh, "model"),
            ("gpu", row.gpu_energy_kwh, "counter"),
            ("dram", row.ram_energy_kwh, "model"),
        )
        if kwh
    }
    run = {
        "id": run_id_of(row),
        "status": "completed",
        "project": row.project,
        "started_at": row.started_at,
        "ended_at": row.ended_at,
        "duration_s": row.duration_s,
        "energy_j": _it_j(row.energy_consumed_kwh, row.pue),
        "facility_energy_j": row.energy_consumed_kwh * J_PER_KWH,
        "pue": row.pue,
        "energy_gpu_j": _it_j(row.gpu_energy_kwh, row.pue),
        "energy_cpu_j": _it_j(row.cpu_energy_kwh, row.pue),
        "energy_dram_j": _it_j(row.ram_energy_kwh, row.pue),
        "energy_by_kind": by_kind,
        "emissions_kg": row.emissions_kg,
        "intensity_g_per_kwh": row.intensity_g_per_kwh,
        "intensity_source": IMPORT_SOURCE,
        "codecarbon_version": row.codecarbon_version,
        "country": row.country,
        "region": row.region,
        "cloud_provider": row.cloud_provider if row.on_cloud else None,
        "cloud_region": row.cloud_region if row.on_cloud else None,
        "hardware": row.gpu_model or row.cpu_model,
        "mode": row.tracking_mode,
        "tags": {"imported_from": "codecarbon", "codecarbon_run_id": row.run_id},
        "flags": [IMPORT_FLAG],
    }
    return {"run": run, "devices": [], "windows": [], "metrics": []}
