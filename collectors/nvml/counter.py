"""NVML's energy counter (mJ since the driver loaded) turned into monotonic joules.

``nvmlDeviceGetTotalEnergyConsumption`` counts millijoules since the driver was loaded.
A driver reload restarts it from zero, so a raw value below the previous one means the
counter restarted during the interval. Its new value is then the energy used since the
restart, all of it inside the interval: it is added (only the part of the interval
before the restart is lost). A value too large to have been used since the previous
read (above ``max_power_w`` over the elapsed time) is not a restart but a glitch, and
adds nothing. Either way the reset is counted and the cumulative energy never
decreases.

Energy is kept in whole millijoules, so the sum is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_POWER_W = 5000.0
"""Bound on plausible power when a GPU's power limit is unknown, W."""


@dataclass(slots=True)
class EnergyCounter:
    """Cumulative energy since the first raw reading, from NVML's raw counter.

    Attributes:
        last_raw_mj: The previous raw reading, mJ.
        last_timestamp_s: When it was taken (monotonic), s.
        max_power_w: Above this power a backwards step is a glitch rather than a restart, W.
        total_mj: Energy since the first reading, mJ.
        resets: How many times the raw counter went backwards.
    """

    last_raw_mj: int
    last_timestamp_s: float
    max_power_w: float = DEFAULT_MAX_POWER_W
    total_mj: int = 0
    resets: int = 0

    @property
    def energy_j(self) -> float:
        """Energy since the first reading, J."""
        return self.total_mj / 1000.0

    def update(self, raw_mj: int, timestamp_s: float) -> float:
        """Add a new raw reading.

        Args:
            raw_mj: NVML's counter, mJ.
            timestamp_s: When it was read (monotonic), s.

        Returns:
            Energy since the first reading, J.
        """
        if raw_mj >= self.last_raw_mj:
            self.total_mj += raw_mj - self.last_raw_mj
        else:
            self.resets += 1
            elapsed_s = max(timestamp_s - self.last_timestamp_s, 0.0)
            if raw_mj <= elapsed_s * self.max_power_w * 1000.0:
                self.total_mj += raw_mj
        self.last_raw_mj = raw_mj
        self.last_timestamp_s = timestamp_s
        return self.energy_j
