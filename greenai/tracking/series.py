"""Turns the sampler's readings into 1-second power series rows for the ledger."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from collectors.types import Reading


def series_rows(
    readings: Iterable[Reading], run_ids: Iterable[str], host_id: str = ""
) -> list[dict[str, Any]]:
    """Mean power per device and second, one row per run id (tier ``1s``).

    Monotonic reading times become UTC through the current offset between the clocks.
    """
    offset = datetime.now(UTC) - timedelta(seconds=time.monotonic())
    buckets: dict[tuple[str, datetime], list[float]] = {}
    for r in readings:
        if r.power_w is None:
            continue
        ts = (offset + timedelta(seconds=r.timestamp_s)).replace(microsecond=0)
        buckets.setdefault((r.device_id, ts), []).append(r.power_w)
    rows = []
    for run_id in run_ids:
        for (device_id, ts), powers in sorted(buckets.items()):
            rows.append(
                {
                    "run_id": run_id,
                    "host_id": host_id,
                    "device_id": device_id,
                    "tier": "1s",
                    "ts": ts,
                    "power_w": sum(powers) / len(powers),
                    "energy_j": None,
                }
            )
    return rows
