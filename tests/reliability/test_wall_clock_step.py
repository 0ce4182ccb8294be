"""A wall-clock step never stores a run ending before it started.

A run's start is one wall-clock reading; everything later is that reading plus the
monotonic time since. Here the wall clock read 1 h ahead at the start and was then
stepped back (NTP), so the system clock is 1 h behind the run's ``started_at``. The
monotonic clock is the fake NVML library's, moved by the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from collectors.discover import Discovery
from collectors.nvml import NvmlCollector
from greenai.config import load_settings
from greenai.emissions import resolve_factor
from greenai.ledger import Ledger
from greenai.tracking.hub import Hub
from greenai.tracking.lifecycle import hub_key
from greenai.tracking.meta import make_meta
from greenai.tracking.record import build_record, heartbeat_record
from greenai.tracking.run import Run
from tests.fake_nvml.driver import FakeNvml
from tests.tracking.manual import FakeClock

STEP = timedelta(hours=1)
IDENTITY = {"host_id": "h", "user_id": "u", "greenai_version": "test"}


@pytest.fixture
def stepped_run(fake_nvml: FakeNvml) -> Iterator[Run]:
    """A running run whose start was read on a wall clock 1 h ahead of the system's."""
    fake_nvml.set_time(0.0)
    collector = NvmlCollector.open(clock=fake_nvml.now, environ={})
    settings = load_settings({})
    hub = Hub(
        hub_key(settings),
        Discovery([collector], []),
        clock=FakeClock(fake_nvml),
        wall=lambda: datetime.now(UTC) + STEP,
    )
    run = Run(make_meta({"model": "m"}), settings, resolve_factor(settings))
    run.mark_running(hub)
    fake_nvml.set_time(30.0)
    try:
        yield run
    finally:
        if not run.stopped:
            run.mark_stopped("completed")
        hub.sampler.close()


def test_heartbeats_never_precede_the_start(stepped_run: Run, ledger_url: str) -> None:
    started = stepped_run.root_span.started_at
    assert started is not None
    full = build_record(stepped_run, IDENTITY)
    beat = heartbeat_record(stepped_run, 0, 0)
    for record in (full, beat):
        assert record["run"]["heartbeat_at"] >= started + timedelta(seconds=30)


def test_a_killed_run_is_interrupted_with_ended_at_after_started_at(
    stepped_run: Run, ledger_url: str
) -> None:
    with Ledger.open(ledger_url) as ledger:
        ledger.save_run(build_record(stepped_run, IDENTITY))
        marked = ledger.mark_stale_runs(stale_after_s=60, now=datetime.now(UTC) + 3 * STEP)
        assert marked == [stepped_run.id]
        row = ledger.get_run(stepped_run.id)["run"]  # type: ignore[index]
    assert row["status"] == "interrupted"
    assert row["ended_at"] >= row["started_at"]


def test_a_finished_run_ends_after_it_started(stepped_run: Run, ledger_url: str) -> None:
    stepped_run.mark_stopped("completed")
    with Ledger.open(ledger_url) as ledger:
        ledger.save_run(build_record(stepped_run, IDENTITY))
        row = ledger.get_run(stepped_run.id)["run"]  # type: ignore[index]
    assert row["ended_at"] - row["started_at"] == timedelta(seconds=row["duration_s"])
    assert row["ended_at"] >= row["started_at"]
