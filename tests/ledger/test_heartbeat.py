"""Heartbeat records: a running run updated in place, or nothing written at all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from greenai.ledger import Ledger
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
