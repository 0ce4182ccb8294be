"""A hub on the fake NVML library's manual clock, installed where ``greenai.track`` looks.

The fake's clock is the only time source of the hub's sampler and spans, so a test
moves time with ``fake.set_time`` and knows each GPU's exact energy. The sampler thread
still runs (it ticks when the manual time passes its deadlines); its sleeps are short
real sleeps so it notices the test moving time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping

import pytest

from collectors.discover import Discovery
from collectors.nvml import NvmlCollector
from greenai.config import load_settings
from greenai.tracking import hub as hub_module
from greenai.tracking.hub import Hub
from greenai.tracking.lifecycle import hub_key
from tests.fake_nvml.driver import FakeNvml


class FakeClock:
    """The fake NVML library's clock as the sampler's :class:`~collectors.clock.Clock`."""

    def __init__(self, fake: FakeNvml) -> None:
        self.fake = fake

    def monotonic(self) -> float:
        return self.fake.now()

    def sleep(self, seconds: float) -> None:
        time.sleep(min(max(seconds, 0.0), 0.01))


class HeldClock:
    """The fake's manual clock whose sleeps wait until ``released`` is set: the sampler
    thread stays parked, and the test ticks the sampler itself (deterministic)."""

    def __init__(self, fake: FakeNvml) -> None:
        self.fake = fake
        self.released = threading.Event()

    def monotonic(self) -> float:
        return self.fake.now()

    def sleep(self, seconds: float) -> None:
        del seconds
        self.released.wait()


def install_manual_hub(
    fake: FakeNvml, monkeypatch: pytest.MonkeyPatch, environ: Mapping[str, str] | None = None
) -> Hub:
    """A hub reading only the fake GPUs on the fake's clock, for runs at default settings."""
    collector = NvmlCollector.open(clock=fake.now, environ=dict(environ or {}))
    hub = Hub(hub_key(load_settings({})), Discovery([collector], []), clock=FakeClock(fake))
    monkeypatch.setitem(hub_module._HUBS, hub.key, hub)
    return hub


@pytest.fixture
def manual_hub(fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    """Two fake GPUs at a constant 100 W, on the manual clock at t = 0."""
    fake_nvml.set_time(0.0)
    hub = install_manual_hub(fake_nvml, monkeypatch)
    yield hub
    hub.sampler.close()


def gpu_j(run_or_window: object, device_id: str = "gpu:0") -> float:
    """Energy charged for one GPU, J."""
    charges = run_or_window.charges()  # type: ignore[attr-defined]
    return sum(c.energy_j for c in charges if c.device_id == device_id)
