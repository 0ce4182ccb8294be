"""Clocks: the real monotonic clock, and the protocol tests implement to drive time."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic time and waiting, injectable so tests drive time instead of waiting."""

    def monotonic(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    def wait(self, event: threading.Event, timeout_s: float) -> bool:
        """Wait until ``event`` is set or ``timeout_s`` passed; True if it was set."""
        ...


class SystemClock:
    """The process's monotonic clock."""

    def monotonic(self) -> float:
        """Seconds on ``time.monotonic``."""
        return time.monotonic()

    def wait(self, event: threading.Event, timeout_s: float) -> bool:
        """Wait on the event with a timeout."""
        return event.wait(timeout_s)


SYSTEM_CLOCK = SystemClock()
