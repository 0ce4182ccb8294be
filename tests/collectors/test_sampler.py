"""The sampling loop: jittered power integration, drift-free schedule, failures contained."""

from __future__ import annotations

import random
import threading
import time

import pytest

from collectors.sampler import Sampler
from tests.collectors.wave import FakeClock, SquareWaveCollector, square_energy_j


def drive(sampler: Sampler, clock: FakeClock, until: float) -> None:
    """Advance the fake clock from deadline to deadline, doing the work due at each."""
    deadline = sampler.next_deadline_s()
    while deadline <= until:
        clock.t = deadline
        deadline = sampler.run_due(clock.t)
    clock.t = until


def integrate(period_s: float, seed: int | None, duration_s: float = 60.0) -> float:
    """Relative error of the 10 Hz integral of a 100/300 W square wave."""
    clock = FakeClock(0.0)
    wave = SquareWaveCollector(clock, 100.0, 300.0, period_s)
    rng = random.Random(seed) if seed is not None else _FixedGrid()
    sampler = Sampler([wave], power_hz=10.0, series_hz=1.0, clock=clock, rng=rng)
    start = sampler.snapshot()
    drive(sampler, clock, duration_s)
    end = sampler.snapshot()
    measured = end.devices["gpu:0"].energy_j - start.devices["gpu:0"].energy_j
    exact = square_energy_j(100.0, 300.0, period_s, 0.0, duration_s)
    return measured / exact - 1.0


class _FixedGrid(random.Random):
    """A 'random' source that always answers 0: every sample on the grid, as a naive loop."""

    def random(self) -> float:
        return 0.0


@pytest.mark.parametrize("period_s", [1.0, 1.3, 2.0, 2.5, 3.7])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_jittered_power_integration_within_two_percent(period_s: float, seed: int) -> None:
    assert abs(integrate(period_s, seed)) < 0.02


def test_fixed_grid_aliases_where_jitter_does_not() -> None:
    # A period that is an exact multiple of the 0.1 s interval puts every edge at the
    # same phase of a fixed grid: its error never averages out (REFERENCE.md: about -4%).
    # Here every rising edge falls on a sample, which reads the high level early.
    fixed = integrate(1.3, None)
    jittered = [integrate(1.3, seed) for seed in range(10)]
    mean_jittered = sum(jittered) / len(jittered)
    assert abs(fixed) > 0.01
    assert abs(mean_jittered) < abs(fixed) / 4


def test_schedule_is_drift_free() -> None:
    clock = FakeClock(50.0)
    wave = SquareWaveCollector(clock, 1.0, 1.0, 1.0)
    sampler = Sampler([wave], series_hz=1.0, power_hz=10.0, clock=clock, rng=random.Random(0))
    series_times = []
    deadline = sampler.next_deadline_s()
    while deadline < 50.0 + 100.0:
        clock.t = deadline + 0.0003  # every wake-up a little late, as real ones are
        before = len(sampler.series)
        deadline = sampler.run_due(clock.t)
        if len(sampler.series) > before:
            series_times.append(clock.t)
    assert len(series_times) == 100
    # deadlines stay on the origin's grid: lateness does not accumulate
    assert series_times[-1] == pytest.approx(50.0 + 99 + 0.0003)
    assert sampler.errors.gaps == 0


def test_late_wakeups_are_counted_as_gaps_not_replayed() -> None:
    clock = FakeClock(0.0)
    wave = SquareWaveCollector(clock, 1.0, 1.0, 1.0)
    sampler = Sampler([wave], series_hz=1.0, power_hz=1.0, clock=clock, rng=random.Random(0))
    sampler.run_due(0.0)
    reads = wave.reads
    clock.t = 10.5
    sampler.run_due(clock.t)
    assert wave.reads - reads <= 2  # not ten catch-up reads
    assert sampler.errors.gaps >= 8
    assert sampler.next_deadline_s() > 10.5


def test_collector_exception_is_counted_never_raised() -> None:
    clock = FakeClock(0.0)
    wave = SquareWaveCollector(clock, 100.0, 100.0, 1.0)
    sampler = Sampler([wave], clock=clock, rng=random.Random(0))
    wave.fail = True
    drive(sampler, clock, 2.0)
    snap = sampler.snapshot()
    assert snap.devices == {}
    assert sampler.errors.counts["square"] >= 3
    assert "fell off the bus" in sampler.errors.last["square"]


def test_series_memory_is_bounded() -> None:
    clock = FakeClock(0.0)
    wave = SquareWaveCollector(clock, 1.0, 1.0, 1.0)
    sampler = Sampler([wave], series_hz=10.0, power_hz=10.0, clock=clock, max_series=25)
    drive(sampler, clock, 30.0)
    assert len(sampler.series) == 25


def test_thread_stops_promptly_and_listener_failures_stay_inside() -> None:
    calls = []

    def listener(readings: object) -> None:
        calls.append(readings)
        raise RuntimeError("listener bug")

    from collectors.clock import SYSTEM_CLOCK

    wave = SquareWaveCollector(FakeClock(0.0), 1.0, 1.0, 1.0)
    sampler = Sampler([wave], series_hz=1.0, power_hz=10.0, clock=SYSTEM_CLOCK, on_series=listener)
    sampler.start()
    assert sampler.running
    deadline = time.monotonic() + 60
    while len(calls) < 2 and time.monotonic() < deadline:  # two ticks: the error did not stop it
        time.sleep(0.05)
    assert len(calls) >= 2
    stopped = threading.Event()

    def stop() -> None:
        sampler.stop(timeout_s=30.0)
        stopped.set()

    threading.Thread(target=stop).start()
    assert stopped.wait(30.0)
    assert not sampler.running
