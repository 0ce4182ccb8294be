"""A checked CodeCarbon row as a ledger record: IT energy = recorded energy / PUE.

How each energy was obtained: GPU energy is NVML's counter (measured), RAM energy
CodeCarbon's model, and CPU energy is counted as a model too, flagged
``method_unknown:cpu``, since the file does not say whether it came from RAPL.

The run id is derived from CodeCarbon's run id (and task), see
:mod:`greenai.interop.codecarbon_ids`, so every row of a run, and importing it again,
updates the same run instead of adding one. The time zone a naive timestamp was read in
is kept as the tag ``codecarbon_timezone``; a DST-ambiguous or skipped local time is
flagged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from greenai.figures import flags
from greenai.figures.units import J_PER_KWH
from greenai.interop.codecarbon_columns import IMPORT_SOURCE
from greenai.interop.codecarbon_ids import RUN_ID_TAG, ledger_id
from greenai.interop.codecarbon_row import CodecarbonRow
from greenai.interop.implied_factor import FactorCheck

IMPORT_FLAG = flags.imported("codecarbon")
TIMEZONE_TAG = "codecarbon_timezone"
"""Tag holding the time zone a timestamp without offset was read in."""
TASK_TAG = "codecarbon_task_name"
"""Tag holding the task of a row of a CodeCarbon task file."""


def run_id_of(row: CodecarbonRow) -> str:
    """The ledger id of a row's run (:func:`greenai.interop.codecarbon_ids.ledger_id`)."""
    return ledger_id(row.run_id, row.task_name, fallback=f"|{row.timestamp}|{row.project or ''}")


def _tags(row: CodecarbonRow, kept: Mapping[str, Any]) -> dict[str, Any]:
    tags = {**kept, "imported_from": "codecarbon", RUN_ID_TAG: row.run_id}
    if row.local_zone is not None:
        tags[TIMEZONE_TAG] = row.local_zone
    if row.task_name is not None:
        tags[TASK_TAG] = row.task_name
    return tags


def _method_flags(row: CodecarbonRow) -> list[str]:
    """The row's time flag, and CPU energy's unknown method (RAPL or CodeCarbon's TDP
    model: the file does not say; counted as estimated)."""
    found = [row.time_flag] if row.time_flag else []
    return found + ([flags.method_unknown("cpu")] if row.cpu_energy_kwh else [])


def _it_j(kwh_with_pue: float, pue: float) -> float:
    return kwh_with_pue / pue * J_PER_KWH


def ledger_record(
    row: CodecarbonRow,
    *,
    parent_id: str | None = None,
    kept_tags: Mapping[str, Any] | None = None,
    check: FactorCheck | None = None,
) -> dict[str, Any]:
    """The record that :meth:`greenai.ledger.Ledger.save_run` takes, for one row.

    Args:
        row: The row.
        parent_id: Ledger id of the run this one is a part of (an exported part).
        kept_tags: Tags of the stored run this row updates, kept unless the row sets them.
        check: The row's factor checked against CodeCarbon's table (its flags and tags).
    """
    found = check or FactorCheck()
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
        "parent_run_id": parent_id,
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
        "measured_energy_j": _it_j(row.gpu_energy_kwh, row.pue),
        "energy_by_kind": by_kind,
        "emissions_kg": row.emissions_kg,
        "intensity_g_per_kwh": row.intensity_g_per_kwh,
        "intensity_source": IMPORT_SOURCE,
        "codecarbon_version": row.codecarbon_version,
        "factor_evidence": found.evidence.as_dict() if found.evidence else None,
        "country": row.country,
        "region": row.region,
        "cloud_provider": row.cloud_provider if row.on_cloud else None,
        "cloud_region": row.cloud_region if row.on_cloud else None,
        "hardware": row.gpu_model or row.cpu_model,
        "mode": row.tracking_mode,
        "tags": {**_tags(row, kept_tags or {}), **found.tags},
        "flags": [IMPORT_FLAG, *_method_flags(row), *found.flags],
    }
    return {"run": run, "devices": [], "windows": [], "metrics": []}
