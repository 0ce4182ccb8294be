"""Segment accounting: overlapping root runs split energy; children and windows are
breakdowns; a counter that goes backwards never yields negative energy."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from collectors.base import Collector
from collectors.discover import Discovery
from collectors.types import Device, Kind, Method, Reading
from greenai.tracking.hub import Hub, HubKey
from greenai.tracking.spans import Span


class ManualCounter(Collector):
    """One device whose cumulative energy the test sets (a stand-in for any counter)."""

    name = "manual"

    def __init__(self) -> None:
        self.energy_j = 0.0
        self._device = Device("gpu:0", Kind.GPU, "test", "manual", Method.COUNTER)

    def devices(self) -> Sequence[Device]:
        return [self._device]

    def read(self) -> list[Reading]:
        return [Reading("gpu:0", Kind.GPU, time.monotonic(), None, self.energy_j, Method.COUNTER)]


@pytest.fixture
def hub_and_counter() -> tuple[Hub, ManualCounter]:
    counter = ManualCounter()
    key = HubKey("process", None, None, series_hz=1.0, power_hz=10.0)
    hub = Hub(key, Discovery([counter], []))
    yield hub, counter
    hub.sampler.close()


def energy(span: Span) -> float:
    return span.energy_j


def test_overlapping_root_runs_split_the_overlap_equally(hub_and_counter) -> None:
    hub, counter = hub_and_counter
    a, b = Span(), Span()
    hub.begin(a)
    counter.energy_j = 10.0
    hub.begin(b)
    counter.energy_j = 30.0
    hub.end(a)
    counter.energy_j = 40.0
    hub.end(b)
    assert energy(a) == pytest.approx(10.0 + 20.0 / 2)
    assert energy(b) == pytest.approx(20.0 / 2 + 10.0)
    assert energy(a) + energy(b) == pytest.approx(40.0)  # no joule counted twice
    assert a.overlapped and b.overlapped


def test_children_and_windows_are_breakdowns_of_their_root(hub_and_counter) -> None:
    hub, counter = hub_and_counter
    root = Span()
    hub.begin(root)
    counter.energy_j = 5.0
    window = Span(parent=root)
    hub.begin(window)
    counter.energy_j = 12.0
    hub.end(window)
    counter.energy_j = 20.0
    hub.end(root)
    assert energy(root) == pytest.approx(20.0)
    assert energy(window) == pytest.approx(7.0)
    assert not root.overlapped


def test_counter_going_backwards_adds_nothing(hub_and_counter) -> None:
    hub, counter = hub_and_counter
    counter.energy_j = 100.0
    span = Span()
    hub.begin(span)
    counter.energy_j = 50.0  # driver reload
    hub.settle()
    counter.energy_j = 60.0
    hub.end(span)
    assert energy(span) == pytest.approx(10.0)


def test_sampler_thread_runs_only_while_spans_are_active(hub_and_counter) -> None:
    hub, _ = hub_and_counter
    span = Span()
    hub.begin(span)
    assert hub.sampler.running
    hub.end(span)
    assert not hub.sampler.running
