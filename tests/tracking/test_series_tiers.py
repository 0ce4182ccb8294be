"""Power series: a run stores its 1 s series; older seconds are folded into coarser tiers."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import greenai
from greenai.ledger import Ledger
from greenai.queries import series_frame
from tests.tracking.helpers import burn_cpu


def test_a_run_keeps_its_power_series_per_second() -> None:
    with greenai.track(model="m") as run:
        burn_cpu(1.0)
        time.sleep(1.2)
    with Ledger.open() as ledger:
        frame = series_frame(ledger, run.id)
    assert set(frame["tier"]) == {"1s"}
    assert {"cpu:model", "dram:model"} <= set(frame["device_id"])
    assert (frame["power_w"] >= 0).all()


def test_seconds_older_than_a_week_are_folded_into_minutes_when_greenai_starts() -> None:
    with greenai.track(model="first"):
        pass  # creates the ledger
    old = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=10)
    rows = [
        {"run_id": "old", "device_id": "gpu:0", "tier": "1s",
         "ts": old + timedelta(seconds=s), "power_w": 100.0 + s}
        for s in range(60)
    ]  # fmt: skip
    with Ledger.open() as ledger:
        ledger.add_series(rows)
    from greenai.tracking import writer

    writer._WRITERS.clear()  # a new process: its writer opens the ledger and compacts
    with greenai.track(model="second"):
        pass
    writer.flush_all()
    with Ledger.open() as ledger:
        frame = series_frame(ledger, "old")
    assert list(frame["tier"]) == ["1m"]
    assert frame["power_w"].iloc[0] == sum(100.0 + s for s in range(60)) / 60
