"""A read that never returns: once a process is going down, the sampler never waits on it.

:class:`BlockingCollector` is the "mid-snapshot" fault seam: armed, its next read (in a
chosen thread) says so and then blocks on a :class:`threading.Event`, so a test can hold
:meth:`Sampler.snapshot` inside its lock for as long as it likes, in-process or in a
tracked subprocess (``tests/tracking/test_signals.py`` imports it there).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import pytest

from collectors.base import Collector
from collectors.sampler import Sampler
from collectors.types import Device, Kind, Method, Reading

T = TypeVar("T")
NO_HANG_S = 20.0  # generous: only "did it hang?", never how fast


class BlockingCollector(Collector):
    """One counter device (1 J more per read) whose read blocks once armed.

    Args:
        marker: A file touched when an armed read starts blocking (for subprocesses).
    """

    name = "blocking"

    def __init__(self, marker: Path | None = None) -> None:
        self.marker = marker
        self.entered = threading.Event()  # an armed read is blocking now
        self.release = threading.Event()  # set it to let blocked reads return
        self.energy_j = 0.0
        self._armed = False
        self._thread_name: str | None = None
        self._device = Device("gpu:0", Kind.GPU, "test", "blocking", Method.COUNTER)

    def arm(self, thread_name: str | None = None) -> None:
        """Block the next read made in the thread of that name (any thread when None)."""
        self._thread_name = thread_name
        self._armed = True

    def devices(self) -> Sequence[Device]:
        return [self._device]

    def read(self) -> list[Reading]:
        if self._armed and self._thread_name in (None, threading.current_thread().name):
            self._armed = False
            self.entered.set()
            if self.marker is not None:
                self.marker.touch()
            self.release.wait()
        self.energy_j += 1.0
        return [Reading("gpu:0", Kind.GPU, time.monotonic(), 10.0, self.energy_j, Method.COUNTER)]


def finishes(fn: Callable[[], T]) -> T:
    """``fn()`` in a thread; fails the test if it is still running after NO_HANG_S."""
    result: list[T] = []
    thread = threading.Thread(target=lambda: result.append(fn()), daemon=True)
    thread.start()
    thread.join(NO_HANG_S)
    assert not thread.is_alive(), "the call hung"
    return result[0]


@pytest.fixture
def hung() -> Iterator[tuple[Sampler, BlockingCollector, threading.Thread]]:
    """A sampler whose collector is stuck in a read that holds the sampler's lock."""
    collector = BlockingCollector()
    sampler = Sampler([collector])
    sampler.snapshot()  # the last good snapshot: 1 J
    collector.arm()
    stuck = threading.Thread(target=sampler.snapshot, name="stuck-reader", daemon=True)
    stuck.start()
    assert collector.entered.wait(NO_HANG_S)
    yield sampler, collector, stuck
    collector.release.set()
    stuck.join(NO_HANG_S)


def test_bounded_snapshot_answers_with_the_last_one_while_a_read_hangs(hung) -> None:
    sampler, _collector, _stuck = hung
    sampler.bound_waits(0.2)
    snap = finishes(sampler.snapshot)
    assert snap.stale
    assert snap.devices["gpu:0"].energy_j == 1.0  # the last good reading, carried
    assert sampler.stale_snapshots == 1


def test_counts_and_status_answer_while_a_read_hangs_once_bounded(hung) -> None:
    sampler, _collector, _stuck = hung
    sampler.bound_waits(0.2)
    counts = finishes(sampler.counts)
    assert counts.gaps == 0
    assert finishes(sampler.status) == []


def test_a_read_that_hangs_in_the_bounded_call_itself_is_abandoned() -> None:
    collector = BlockingCollector()
    sampler = Sampler([collector])
    sampler.snapshot()
    sampler.bound_waits(0.2)
    collector.arm()  # the bounded snapshot's own read blocks
    try:
        snap = finishes(sampler.snapshot)
        assert snap.stale and snap.devices["gpu:0"].energy_j == 1.0
        assert finishes(sampler.snapshot).stale  # the stuck read still holds the lock
    finally:
        collector.release.set()


def test_bounded_waits_still_read_when_the_collectors_answer() -> None:
    collector = BlockingCollector()
    sampler = Sampler([collector])
    sampler.snapshot()
    sampler.bound_waits(5.0)
    snap = finishes(sampler.snapshot)
    assert not snap.stale
    assert snap.devices["gpu:0"].energy_j == 2.0
    assert sampler.stale_snapshots == 0
    assert sampler.last_snapshot is snap


def test_a_sampler_never_read_answers_an_empty_stale_snapshot() -> None:
    collector = BlockingCollector()
    sampler = Sampler([collector])
    sampler.bound_waits(0.2)
    collector.arm()
    try:
        snap = finishes(sampler.snapshot)
        assert snap.stale and snap.devices == {}
    finally:
        collector.release.set()
