"""A collector over a synthetic power waveform, for testing the sampler's schedule and
integration independently of any vendor library (the NVML path has its own fake)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from collectors.base import Collector
from collectors.types import Device, Kind, Method, Reading


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        time.sleep(0.001)


def square_energy_j(low_w: float, high_w: float, period_s: float, t0: float, t1: float) -> float:
    """Exact integral of a 50% duty square wave (high during the first half-period)."""

    def cumulative(t: float) -> float:
        cycles = math.floor(t / period_s)
        phase = t - cycles * period_s
        half = period_s / 2
        per_cycle = (low_w + high_w) * half
        within = high_w * min(phase, half) + low_w * max(phase - half, 0.0)
        return cycles * per_cycle + within

    return cumulative(t1) - cumulative(t0)


class SquareWaveCollector(Collector):
    """One device with a power sensor only (no counter), a square wave in time."""

    name = "square"

    def __init__(self, clock: FakeClock, low_w: float, high_w: float, period_s: float) -> None:
        self.clock = clock
        self.low_w, self.high_w, self.period_s = low_w, high_w, period_s
        self.fail = False
        self.reads = 0
        self._device = Device("gpu:0", Kind.GPU, "test", "square", Method.POWER)

    def power_at(self, t: float) -> float:
        return self.high_w if (t % self.period_s) < self.period_s / 2 else self.low_w

    def devices(self) -> Sequence[Device]:
        return [self._device]

    def read(self) -> list[Reading]:
        self.reads += 1
        if self.fail:
            raise OSError("device fell off the bus")
        t = self.clock.t
        return [Reading("gpu:0", Kind.GPU, t, self.power_at(t), None, Method.POWER)]
