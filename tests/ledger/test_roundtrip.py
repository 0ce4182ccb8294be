"""Records and series written and read back, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from greenai.ledger import Ledger, hash_identifier, schema

T0 = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
# The same instant written with another offset must come back as UTC.
PLUS_0530 = timezone(timedelta(hours=5, minutes=30))


def full_record() -> dict[str, Any]:
    """A record in which every column of every table has a non-default value."""
    run = {
        "id": "run-full",
        "parent_run_id": "run-parent",
        "status": "completed",
        "name": "fine-tune",
        "project": "chat",
        "model": "llama-8b-int8",
        "base_model": "llama-8b",
        "technique": "int8",
        "precision": "int8",
        "phase": "inference",
        "batch_size": 8,
        "seq_len": 2048,
        "tags": {"team": "search", "nested": {"k": [1, 2]}},
        "started_at": T0.astimezone(PLUS_0530),
        "ended_at": T0 + timedelta(minutes=5),
        "heartbeat_at": T0 + timedelta(minutes=4, seconds=59),
        "duration_s": 300.5,
        "energy_j": 12345.5,
        "facility_energy_j": 14814.6,
        "pue": 1.2,
        "energy_gpu_j": 10000.25,
        "energy_cpu_j": 2000.25,
        "energy_dram_j": 300.0,
        "energy_other_j": 45.0,
        "energy_by_kind": {"gpu": {"energy_j": 10000.25, "method": "counter"}},
        "measured_energy_j": 10000.25,
        "tokens_input": 5_000_000_000,
        "tokens_output": 7,
        "samples": 64,
        "emissions_kg": 0.0012,
        "intensity_g_per_kwh": 56.5,
        "intensity_source": "codecarbon:energy_mix:FRA",
        "codecarbon_version": "3.3.2",
        "factor_evidence": {
            "dataset": "CodeCarbon 3.3.2 global_energy_mix (FRA)",
            "vintage": 2023,
            "basis": "life-cycle",
            "gwp": "unknown",
            "mix": {"fossil": 0.08, "nuclear": 0.65, "renewable": 0.27},
            "mix_of": "country",
        },
        "country": "FRA",
        "region": "ile-de-france",
        "cloud_provider": "gcp",
        "cloud_region": "europe-west9",
        "wue_l_per_kwh": 1.8,
        "water_l": 0.007,
        "price_per_kwh": 0.21,
        "cost": 0.0009,
        "currency": "EUR",
        "host_id": "3f2a9c",
        "user_id": "u-77",
        "hardware": "NVIDIA H100 80GB HBM3 x8",
        "mode": "process",
        "attribution": "compute-processes",
        "flags": ["overlap: split with run-2"],
        "command": "python train.py",
        "exit_code": 0,
        "error": "none",
        "greenai_version": "0.1.0",
        "rank": 3,
        "world_size": 8,
        "hosts": ["node-a", "node-b"],
        "record_seq": 7,
    }
    devices = [
        {
            "device_id": "gpu0",
            "host_id": "h1",
            "kind": "gpu",
            "name": "H100",
            "uuid": "GPU-1234",
            "method": "counter",
            "energy_j": 10000.25,
            "share": 0.5,
            "share_rule": "process_list+equal_split",
            "notes": ["MIG is enabled on this GPU"],
        },
        {
            "device_id": "package-0",
            "host_id": "h1",
            "kind": "cpu",
            "name": "Xeon",
            "uuid": None,
            "method": "model",
            "energy_j": 2000.25,
            "share": 0.25,
            "share_rule": "cpu_time",
            "notes": None,
        },
    ]
    windows = [
        {
            "id": "w-prefill",
            "parent_window_id": None,
            "name": "prefill",
            "steady_state": False,
            "started_at": T0,
            "ended_at": T0 + timedelta(seconds=10),
            "duration_s": 10.0,
            "energy_j": 400.0,
            "energy_by_kind": {"gpu": {"energy_j": 400.0}},
            "tokens_input": 4096,
            "tokens_output": 0,
            "samples": 8,
            "flags": [],
        },
        {
            "id": "w-decode",
            "parent_window_id": "w-prefill",
            "name": "decode",
            "steady_state": True,
            "started_at": T0 + timedelta(seconds=10),
            "ended_at": None,
            "duration_s": 5.5,
            "energy_j": None,
            "energy_by_kind": {},
            "tokens_input": 0,
            "tokens_output": 512,
            "samples": 8,
            "flags": ["steady"],
        },
    ]
    metrics = [
        {"name": "loss", "value": 2.5, "step": 1, "logged_at": T0 + timedelta(seconds=1)},
        {"name": "loss", "value": 1.25, "step": None, "logged_at": T0 + timedelta(seconds=2)},
    ]
    return {"run": run, "devices": devices, "windows": windows, "metrics": metrics}


def test_full_record_round_trips_with_aware_utc_datetimes(ledger: Ledger, clock) -> None:
    record = full_record()
    # The record really covers every column (a new column must be added here too).
    assert set(record["run"]) == set(schema.runs.c.keys()) - {"created_at", "updated_at"}
    assert set(record["devices"][0]) == set(schema.run_devices.c.keys()) - {"run_id"}
    assert set(record["windows"][0]) == set(schema.windows.c.keys()) - {"run_id"}
    assert set(record["metrics"][0]) == set(schema.metrics.c.keys()) - {"run_id", "id"}

    ledger.save_run(record)
    got = ledger.get_run("run-full")

    assert got is not None
    expected_run = dict(record["run"], created_at=clock.now, updated_at=clock.now)
    assert got["run"] == expected_run
    for key, value in got["run"].items():
        if isinstance(value, datetime):
            assert value.tzinfo is not None and value.utcoffset() == timedelta(0), key
    assert got["run"]["started_at"] == T0
    assert got["devices"] == sorted(record["devices"], key=lambda d: d["device_id"])
    assert got["windows"] == record["windows"]
    assert got["metrics"] == record["metrics"]


def test_saving_twice_changes_nothing_but_updated_at(ledger: Ledger, clock, make_record) -> None:
    record = make_record("run-1")
    ledger.save_run(record)
    created = clock.now
    clock.advance(60)
    ledger.save_run(record)

    got = ledger.get_run("run-1")
    assert got is not None
    assert got["run"]["created_at"] == created
    assert got["run"]["updated_at"] == created + timedelta(seconds=60)
    assert len(got["devices"]) == 2 and len(got["windows"]) == 1 and len(got["metrics"]) == 1
    with ledger.engine.connect() as conn:
        counts = [
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (schema.runs, schema.run_devices, schema.windows, schema.metrics)
        ]
    assert counts == [1, 2, 1, 1]


def test_a_later_record_replaces_the_run_and_its_children(ledger: Ledger, make_record) -> None:
    first = make_record("run-1")
    ledger.save_run(first)
    later = make_record("run-1", status="completed", energy_j=5000.0)
    later["devices"] = later["devices"][:1]
    later["metrics"] = []
    ledger.save_run(later)

    got = ledger.get_run("run-1")
    assert got is not None
    assert got["run"]["status"] == "completed"
    assert got["run"]["energy_j"] == 5000.0
    assert [d["device_id"] for d in got["devices"]] == ["gpu0"]
    assert got["metrics"] == []


def test_unknown_columns_are_refused_with_their_names(ledger: Ledger, make_record) -> None:
    record = make_record("run-1", energy_kwh=3.0)
    try:
        ledger.save_run(record)
    except ValueError as exc:
        assert "energy_kwh" in str(exc)
    else:
        raise AssertionError("an unknown column was accepted")
    assert ledger.get_run("run-1") is None


def test_series_rows_are_idempotent(ledger: Ledger) -> None:
    rows: list[dict[str, Any]] = [
        {
            "run_id": "run-1",
            "host_id": "h1",
            "device_id": "gpu0",
            "tier": "1s",
            "ts": T0 + timedelta(seconds=i),
            "power_w": 100.0 + i,
            "energy_j": 100.0 + i,
        }
        for i in range(10)
    ]
    node_rows: list[dict[str, Any]] = [
        {"run_id": None, "device_id": "gpu0", "tier": "1s", "ts": T0, "power_w": 50.0}
    ]
    ledger.add_series(rows + node_rows)
    ledger.add_series(rows + node_rows)
    ledger.add_series(rows[:3])

    series = schema.series
    with ledger.engine.connect() as conn:
        got = conn.execute(sa.select(series).order_by(series.c.run_id, series.c.ts)).all()
    assert len(got) == 11
    node = got[0]
    assert (node.run_id, node.host_id, node.sample_count) == ("", "", 1)
    assert node.ts == T0 and node.ts.tzinfo is not None
    assert [r.power_w for r in got[1:]] == [100.0 + i for i in range(10)]


def test_list_runs_newest_first_with_filters(ledger: Ledger, make_record) -> None:
    base = datetime(2026, 3, 1, tzinfo=UTC)
    ledger.save_run(make_record("a", started_at=base, project="p1"))
    ledger.save_run(
        make_record("b", started_at=base + timedelta(hours=2), project="p2", status="completed")
    )
    ledger.save_run(
        make_record("c", started_at=base + timedelta(hours=1), project="p1", parent_run_id="a")
    )

    assert [r["id"] for r in ledger.list_runs()] == ["b", "c", "a"]
    assert [r["id"] for r in ledger.list_runs(limit=1)] == ["b"]
    assert [r["id"] for r in ledger.list_runs(project="p1")] == ["c", "a"]
    assert [r["id"] for r in ledger.list_runs(status="completed")] == ["b"]
    assert [r["id"] for r in ledger.list_runs(root_only=True)] == ["b", "a"]
    assert ledger.get_run("nope") is None


def test_meta_defaults_keep_the_first_value(ledger: Ledger) -> None:
    assert ledger.get_meta("colour") is None
    assert ledger.set_meta_default("colour", "green") == "green"
    assert ledger.set_meta_default("colour", "red") == "green"
    assert ledger.get_meta("colour") == "green"
    ledger_id = ledger.get_meta("ledger_id")
    assert ledger_id is not None and len(ledger_id) == 32


def test_hash_identifier_is_stable_per_ledger_and_keyed(ledger: Ledger, tmp_path) -> None:
    first = hash_identifier(ledger, "node-17.example.org")
    assert first == hash_identifier(ledger, "node-17.example.org")
    assert len(first) == 16 and int(first, 16) >= 0
    assert first != hash_identifier(ledger, "node-18.example.org")
    with Ledger.open(f"sqlite:///{tmp_path / 'other.db'}") as other:
        assert hash_identifier(other, "node-17.example.org") != first
