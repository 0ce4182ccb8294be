"""Heartbeats: what the ledger holds after one equals the full record made at that moment,
whatever opened, closed or was logged since the last record; a ledger that cannot take
one gets the full record (spooled where it is down)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import greenai
from greenai.ledger import Ledger
from greenai.tracking.lifecycle import beat_once
from greenai.tracking.record import build_record
from greenai.tracking.writer import flush_all
from tests.fake_nvml.driver import FakeNvml
from tests.tracking.helpers import stored

pytestmark = pytest.mark.usefixtures("manual_hub")

RUN_KEYS = ("status", "duration_s", "energy_j", "facility_energy_j", "energy_gpu_j",
            "energy_cpu_j", "energy_other_j", "energy_by_kind", "measured_energy_j",
            "tokens_input", "tokens_output", "samples", "emissions_kg", "hardware",
            "attribution", "flags")  # fmt: skip
WINDOW_KEYS = ("id", "name", "ended_at", "duration_s", "energy_j", "tokens_output", "flags")


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """What a heartbeat must get right, in a form that compares across the round trip."""
    devices = sorted(
        (d["device_id"], d["method"], d["energy_j"], d["share"], d["share_rule"])
        for d in record["devices"]
    )
    windows = sorted(tuple(str(w[k]) for k in WINDOW_KEYS) for w in record["windows"])
    metrics = [(m["name"], m["value"], m["step"]) for m in record["metrics"]]
    run = {k: record["run"][k] for k in RUN_KEYS}
    return {"run": run, "devices": devices, "windows": windows, "metrics": metrics}


@pytest.fixture
def applied(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether each heartbeat the ledger was given applied (a spy: the real method runs)."""
    results: list[bool] = []
    real = Ledger.save_heartbeat

    def spy(self: Ledger, record: Any, series: Any = ()) -> bool:
        results.append(real(self, record, series))
        return results[-1]

    monkeypatch.setattr(Ledger, "save_heartbeat", spy)
    yield results


def identity_of(run: greenai.Run) -> dict[str, Any]:
    row = stored(run.id)["run"]
    return {k: row[k] for k in ("host_id", "user_id", "greenai_version")}


def caught_up(run: greenai.Run) -> None:
    """Wait until the sampler thread has seen the fake's new time (its gap counts settle),
    then charge up to it, so nothing moves between the heartbeat and the full record."""
    assert run.hub is not None
    counts = None
    while counts != run.hub.sampler.counts():
        counts = run.hub.sampler.counts()
        time.sleep(0.03)  # the manual sampler's thread wakes every 10 ms
    run.hub.settle()


def check_beat(run: greenai.Run) -> None:
    caught_up(run)
    beat_once(run)
    flush_all()
    expected = build_record(run, identity_of(run))  # the clock has not moved since
    assert comparable(stored(run.id)) == comparable(expected)


def test_heartbeats_of_a_run_with_an_open_window_are_applied_in_place(
    fake_nvml: FakeNvml, applied: list[bool]
) -> None:
    t0 = fake_nvml.now()
    with greenai.track(name="serve") as run, run.window("steady"):
        for step in range(1, 4):
            fake_nvml.set_time(t0 + step)
            run.add_tokens(output=10)
            run.log_metric("loss", 1.0 / step, step=step)
            check_beat(run)
    # The window opened after the start record: the first heartbeat is a full record.
    assert applied == [False, True, True]
    record = stored(run.id)
    assert record["run"]["status"] == "completed"
    assert [m["step"] for m in record["metrics"]] == [1, 2, 3]  # none twice


def test_a_window_opened_since_the_last_record_takes_a_full_record(
    fake_nvml: FakeNvml, applied: list[bool]
) -> None:
    t0 = fake_nvml.now()
    with greenai.track() as run:
        fake_nvml.set_time(t0 + 1)
        with run.window("prefill"):
            fake_nvml.set_time(t0 + 2)
            check_beat(run)
        check_beat(run)  # the window closed: its final figures go in place
    assert applied == [False, True]


Action = tuple[str, int]
ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.integers(1, 3)),
        st.tuples(st.sampled_from(["open", "close", "metric", "beat"]), st.just(0)),
        st.tuples(st.just("tokens"), st.integers(0, 1000)),
    ),
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=ACTIONS)
def test_after_any_heartbeat_the_ledger_holds_the_full_record(
    fake_nvml: FakeNvml, actions: list[Action]
) -> None:
    with greenai.track(name="prop") as run:
        open_windows: list[Any] = []
        for kind, amount in [*actions, ("beat", 0)]:
            if kind == "advance":
                fake_nvml.set_time(fake_nvml.now() + amount)
            elif kind == "open":
                open_windows.append(run.window(f"w{len(run.windows)}").__enter__())
            elif kind == "close" and open_windows:
                open_windows.pop().__exit__(None, None, None)
            elif kind == "metric":
                run.log_metric("loss", float(len(run.metrics)), step=len(run.metrics))
            elif kind == "tokens":
                run.add_tokens(input=amount, output=amount // 2)
            elif kind == "beat":
                check_beat(run)
    flush_all()
    assert comparable(stored(run.id)) == comparable(build_record(run, identity_of(run)))


def test_a_heartbeat_while_the_ledger_is_down_journals_the_full_record(
    fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch
) -> None:
    from greenai.ledger.journal import journal_for

    t0 = fake_nvml.now()
    with greenai.track(name="offline") as run:
        flush_all()

        def down(self: Ledger, *_args: Any) -> bool:
            raise OSError("disk gone")  # the database cannot be written (cannot happen here)

        monkeypatch.setattr(Ledger, "save_heartbeat", down)
        monkeypatch.setattr(Ledger, "save_run", down)
        fake_nvml.set_time(t0 + 2)
        run.add_tokens(output=5)
        caught_up(run)
        beat_once(run)
        # The ledger is known down: nothing waits for the shipper, which journals the
        # heartbeat's full record in the background.
        deadline = time.monotonic() + 30.0
        mine: list[dict[str, Any]] = []
        series: list[dict[str, Any]] = []  # the power series the heartbeat carried
        while not (mine and series) and time.monotonic() < deadline:
            time.sleep(0.05)
            files = sorted(journal_for(None).folder.glob("*.json*"))
            spooled = [json.loads(f.read_text()) for f in files if not f.name.startswith(".")]
            mine = [e["record"] for e in spooled if e.get("run_id") == run.id]
            mine = [r for r in mine if r["run"].get("tokens_output") == 5]
            series = [row for e in spooled for row in e.get("rows", ()) if row["run_id"] == run.id]
        assert series and mine and mine[-1]["run"]["tokens_output"] == 5
        assert mine[-1]["devices"] and mine[-1]["run"]["status"] == "running"
        monkeypatch.undo()
