"""Heartbeat records: a running run updated in place, or nothing written at all."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from greenai.ledger import Ledger, RecordSink, Spool, schema
from greenai.ledger.heartbeat import apply_heartbeat
from greenai.ledger.heartbeat_columns import RUN_COLUMNS
from greenai.ledger.rows import series_rows
from greenai.ledger.upsert import insert_ignore
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


def _tables(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the heartbeat touches, as SQLite holds it (autoincrement ids aside)."""
    queries = {
        "runs": "SELECT * FROM runs",
        "run_devices": "SELECT * FROM run_devices ORDER BY device_id",
        "windows": "SELECT * FROM windows",
        "metrics": "SELECT run_id, name, value, step, logged_at FROM metrics ORDER BY id",
        "series": "SELECT run_id, host_id, device_id, tier, ts, power_w, energy_j, sample_count"
        " FROM series ORDER BY device_id, ts",
    }
    with ledger.read() as conn:
        return {
            name: [tuple(r) for r in conn.exec_driver_sql(sql)] for name, sql in queries.items()
        }


def test_a_sqlite_heartbeat_stores_exactly_what_core_stores(
    tmp_path: Path, clock: Clock, make_record: Any
) -> None:
    # Ledger.save_heartbeat writes SQLite through the driver; Core's statements, as
    # other databases run them, are the reference: the same text for every value.
    full = make_record("run-hb")
    started = full["run"]["started_at"].replace(microsecond=0)  # no fraction to print
    beat = heartbeat("run-hb", 2500.0, started=started)
    beat["run"]["flags"] = None
    beat["metrics"].append({"name": "lr", "value": 1e-4, "step": None, "logged_at": started})
    rows = [*power_rows("run-hb", started),
            {"device_id": "cpu0", "tier": "1s", "ts": started.isoformat(), "power_w": 5.5,
             "run_id": "run-hb", "host_id": "h1", "energy_j": 0.25}]  # fmt: skip
    fast, core = (Ledger.open(f"sqlite:///{tmp_path / name}.db", clock=clock)
                  for name in ("fast", "core"))  # fmt: skip
    for ledger in (fast, core):
        ledger.save_run(full)
    clock.advance(60)
    assert fast.save_heartbeat(beat, rows)
    with core.write() as conn:
        apply_heartbeat(conn, beat, clock())
        insert_ignore(conn, schema.series, series_rows(rows), ("run_id", "device_id", "ts"))
    stored = _tables(fast)
    assert stored == _tables(core)
    assert len(stored["series"]) == 4 and len(stored["metrics"]) == 3
    fast.close()
    core.close()


def test_a_sqlite_heartbeat_the_database_refuses_half_way_writes_nothing(
    tmp_path: Path, clock: Clock, make_record: Any
) -> None:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}", clock=clock)
    full = make_record("run-hb")
    ledger.save_run(full)
    started = full["run"]["started_at"]
    before = ledger.get_run("run-hb")
    with ledger.write() as conn:  # the series insert, after the run's update, fails
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON series BEGIN SELECT RAISE(ABORT, 'full'); END"
        )
    with pytest.raises(Exception, match="full"):
        ledger.save_heartbeat(
            heartbeat("run-hb", 2500.0, started=started), power_rows("run-hb", started)
        )
    assert ledger.get_run("run-hb") == before
    with ledger.write() as conn:
        conn.exec_driver_sql("DROP TRIGGER refuse")
    assert ledger.save_heartbeat(
        heartbeat("run-hb", 2600.0, started=started), power_rows("run-hb", started)
    )
    stored = ledger.get_run("run-hb")
    assert stored is not None and stored["run"]["energy_j"] == 2600.0
    assert len(series_of(ledger, "run-hb")) == 3
    ledger.close()
