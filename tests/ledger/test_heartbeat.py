"""Heartbeat records: a running run updated in place, or nothing written at all."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from greenai.ledger import Ledger, RecordSink, Spool, schema
from greenai.ledger.heartbeat_columns import RUN_COLUMNS
from tests.ledger.conftest import Clock


def heartbeat(run_id: str, energy_j: float, **changes: Any) -> dict[str, Any]:
    """A heartbeat of ``sample_record``'s run: every device and window moved on."""
    started = changes.pop("started")
    run = dict.fromkeys(RUN_COLUMNS, 0)
    run.update(
        id=run_id,
        heartbeat_at=started + timedelta(seconds=60),
        duration_s=60.0,
        energy_j=energy_j,
        energy_by_kind={"gpu": {"energy_j": energy_j, "method": "counter"}},
        tokens_output=42,
        water_l=None,
        cost=None,
        hardware="NVIDIA H100 x1",
        attribution="compute-processes",
        flags=["attribution:compute-processes"],
    )
    record: dict[str, Any] = {
        "run": run,
        "devices": [
            {"device_id": "gpu0", "host_id": "h1", "method": "counter", "energy_j": energy_j,
             "share": 0.5, "share_rule": "process_list"},
            {"device_id": "cpu0", "host_id": "h1", "method": "model", "energy_j": 1.0,
             "share": 1.0, "share_rule": "exclusive"},
        ],
        "windows": [
            {"id": f"{run_id}-w1", "ended_at": started + timedelta(seconds=59),
             "duration_s": 59.0, "energy_j": 7.0,
             "energy_by_kind": {"gpu": {"energy_j": 7.0, "method": "counter"}},
             "tokens_input": 0, "tokens_output": 40, "samples": 0, "flags": []},
        ],
        "metrics": [{"name": "loss", "value": 1.25, "step": 2, "logged_at": started}],
    }  # fmt: skip
    record.update(changes)
    return record


def test_a_heartbeat_updates_totals_devices_open_windows_and_adds_metrics(
    ledger: Ledger, clock: Clock, make_record: Any
) -> None:
    full = make_record("run-hb")
    ledger.save_run(full)
    clock.advance(60)
    assert ledger.save_heartbeat(heartbeat("run-hb", 2500.0, started=full["run"]["started_at"]))
    got = ledger.get_run("run-hb")
    assert got is not None
    run = got["run"]
    assert run["energy_j"] == 2500.0 and run["tokens_output"] == 42
    assert run["status"] == "running" and run["project"] == "chat"  # the rest is kept
    assert run["flags"] == ["attribution:compute-processes"]
    assert run["updated_at"] == clock.now and run["created_at"] == clock.now - timedelta(seconds=60)
    devices = {d["device_id"]: d for d in got["devices"]}
    assert devices["gpu0"]["energy_j"] == 2500.0 and devices["gpu0"]["share"] == 0.5
    assert devices["gpu0"]["share_rule"] == "process_list" and devices["gpu0"]["kind"] == "gpu"
    (window,) = got["windows"]
    assert window["energy_j"] == 7.0 and window["tokens_output"] == 40
    assert window["name"] == "decode" and window["duration_s"] == 59.0
    assert [(m["name"], m["value"]) for m in got["metrics"]] == [("loss", 1.5), ("loss", 1.25)]


@pytest.mark.parametrize("missing", ["run", "stopped", "device", "window"])
def test_a_heartbeat_that_does_not_fit_writes_nothing(
    ledger: Ledger, make_record: Any, missing: str
) -> None:
    full = make_record("run-hb", status="completed" if missing == "stopped" else "running")
    if missing != "run":
        ledger.save_run(full)
    beat = heartbeat("run-hb", 2500.0, started=full["run"]["started_at"])
    if missing == "device":
        beat["devices"].append({**beat["devices"][0], "device_id": "gpu7"})
    if missing == "window":
        beat["windows"].append({**beat["windows"][0], "id": "opened-since"})
    before = ledger.get_run("run-hb")
    assert not ledger.save_heartbeat(beat)
    assert ledger.get_run("run-hb") == before  # rolled back whole


def test_a_heartbeat_without_a_column_is_refused(ledger: Ledger, make_record: Any) -> None:
    full = make_record("run-hb")
    ledger.save_run(full)
    beat = heartbeat("run-hb", 1.0, started=full["run"]["started_at"])
    del beat["run"]["energy_j"]
    with pytest.raises(ValueError, match="energy_j"):
        ledger.save_heartbeat(beat)


def series_of(ledger: Ledger, run_id: str) -> list[tuple[str, float]]:
    with ledger.read() as conn:
        rows = conn.execute(
            sa.select(schema.series.c.device_id, schema.series.c.power_w)
            .where(schema.series.c.run_id == run_id)
            .order_by(schema.series.c.ts, schema.series.c.device_id)
        ).all()
    return [(r.device_id, r.power_w) for r in rows]


def power_rows(run_id: str, started: Any) -> list[dict[str, Any]]:
    return [
        {"run_id": run_id, "host_id": "h1", "device_id": "gpu0", "tier": "1s",
         "ts": started + timedelta(seconds=s), "power_w": 100.0 + s}
        for s in range(3)
    ]  # fmt: skip


def test_the_series_of_a_heartbeat_are_written_in_its_transaction(
    ledger: Ledger, make_record: Any
) -> None:
    full = make_record("run-hb")
    ledger.save_run(full)
    started = full["run"]["started_at"]
    beat = heartbeat("run-hb", 2500.0, started=started)
    assert ledger.save_heartbeat(beat, power_rows("run-hb", started))
    assert series_of(ledger, "run-hb") == [("gpu0", 100.0), ("gpu0", 101.0), ("gpu0", 102.0)]


def test_a_heartbeat_that_does_not_fit_writes_its_series_neither(
    ledger: Ledger, make_record: Any
) -> None:
    full = make_record("run-hb", status="completed")
    ledger.save_run(full)
    started = full["run"]["started_at"]
    beat = heartbeat("run-hb", 2500.0, started=started)
    assert not ledger.save_heartbeat(beat, power_rows("run-hb", started))
    assert series_of(ledger, "run-hb") == []


def test_a_sink_writes_the_series_of_a_heartbeat_that_does_not_fit_beside_the_full_record(
    ledger: Ledger, make_record: Any, tmp_path: Path
) -> None:
    full = make_record("run-hb")  # never saved: the heartbeat has no rows to update
    started = full["run"]["started_at"]
    sink = RecordSink(lambda: ledger, Spool(tmp_path / "journal"), ledger=ledger)
    beat = heartbeat("run-hb", 2500.0, started=started)
    assert sink.save_heartbeat(beat, lambda: full, power_rows("run-hb", started)) == "ledger"
    stored = ledger.get_run("run-hb")
    assert stored is not None and stored["run"]["status"] == "running"
    assert [p for _, p in series_of(ledger, "run-hb")] == [100.0, 101.0, 102.0]
