"""Turns the sampler's readings into 1-second power series rows for the ledger."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from collectors.types import Reading

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


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
    origin_us = (offset - _EPOCH) // _MICROSECOND
    sums: dict[tuple[str, int], list[float]] = {}  # (device, UTC second) -> [sum W, count]
    for r in readings:
        if r.power_w is None:
            continue
        second = (origin_us + round(r.timestamp_s * 1e6)) // 1_000_000
        bucket = sums.get((r.device_id, second))
        if bucket is None:
            sums[(r.device_id, second)] = [r.power_w, 1.0]
        else:
            bucket[0] += r.power_w
            bucket[1] += 1.0
    buckets = [
        (device_id, _EPOCH + timedelta(seconds=second), total_w / count)
        for (device_id, second), (total_w, count) in sorted(sums.items())
    ]
    return [
        {
            "run_id": run_id,
            "host_id": host_id,
            "device_id": device_id,
            "tier": "1s",
            "ts": ts,
            "power_w": power_w,
            "energy_j": None,
        }
        for run_id in run_ids
        for device_id, ts, power_w in buckets
    ]
