"""Turns the sampler's readings into 1-second power series rows for the ledger."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from collectors.types import Reading


def series_rows(
    readings: Iterable[Reading],
    run_ids: Iterable[str],
    host_id: str = "",
    origin: datetime | None = None,
) -> list[dict[str, Any]]:
    """Mean power per device and second, one row per run id (tier ``1s``).

    Args:
        readings: The sampler's readings (monotonic times).
        run_ids: The runs the rows are for.
        host_id: The host, for every row.
        origin: UTC time at monotonic 0: a run's (``Span.wall_at(0.0)``), so its rows
            agree with its own times whatever the wall clock did since; default: the
            current offset between the clocks.
    """
    offset = origin or datetime.now(UTC) - timedelta(seconds=time.monotonic())
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
