"""Building rank part records for the fleet tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 5, 4, 9, 0, 0, tzinfo=UTC)


def part(
    job: str,
    rank: int,
    host: str,
    devices: list[tuple[str, str, float, float]],
    *,
    status: str = "completed",
    world_size: int = 4,
    start_s: float = 0.0,
    end_s: float | None = 60.0,
    pue: float = 1.0,
    intensity_g_per_kwh: float = 100.0,
    **columns: Any,
) -> dict[str, Any]:
    """A part's record: devices as (device id, kind, energy J, share)."""
    energy_j = sum(e for _, _, e, _ in devices)
    facility_j = energy_j * pue
    run: dict[str, Any] = {
        "id": f"{job}/rank{rank}",
        "parent_run_id": job,
        "rank": rank,
        "world_size": world_size,
        "hosts": [host],
        "host_id": host,
        "status": status,
        "project": "llm",
        "model": "m",
        "started_at": T0 + timedelta(seconds=start_s),
        "ended_at": T0 + timedelta(seconds=end_s) if end_s is not None else None,
        "heartbeat_at": T0 + timedelta(seconds=end_s if end_s is not None else start_s + 5),
        "duration_s": (end_s or start_s + 5) - start_s,
        "energy_j": energy_j,
        "facility_energy_j": facility_j,
        "pue": pue,
        "emissions_kg": facility_j / 3.6e6 * intensity_g_per_kwh / 1000.0,
        "intensity_g_per_kwh": intensity_g_per_kwh,
        "tokens_output": 1000,
        "flags": [],
    }
    run.update(columns)
    rows = [
        {
            "device_id": device,
            "host_id": host,
            "kind": kind,
            "method": "counter",
            "energy_j": e,
            "share": share,
        }
        for device, kind, e, share in devices
    ]
    return {"run": run, "devices": rows, "windows": [], "metrics": []}
