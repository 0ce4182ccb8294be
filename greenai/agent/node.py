"""A node's devices, read node-wide: every GPU, and the machine's CPU and DRAM."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from collectors.base import Collector, ProcessLister
from collectors.clock import SYSTEM_CLOCK, Clock
from collectors.sampler import Sampler, SamplerErrors, Snapshot
from collectors.types import Availability, Device, DeviceStatus, GpuProcess, Kind, Reading

log = logging.getLogger(__name__)


def open_node_collectors(
    *,
    powercap_root: Path | None = None,
    cpu_tdp_w: float | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[list[Collector], list[Availability]]:
    """Open every collector that works here, node-wide.

    NVML opens every GPU of the machine (``CUDA_VISIBLE_DEVICES`` is ignored); CPU and
    DRAM are read in machine mode. A collector that cannot open is listed with its
    reason; the others carry on.
    """
    from collectors.discover import discover
    from collectors.errors import Unavailable

    env = os.environ if environ is None else environ
    collectors: list[Collector] = []
    availability: list[Availability] = []
    try:
        from collectors.nvml import NvmlCollector

        nvml = NvmlCollector.open(clock=clock, environ=env, all_devices=True)
        collectors.append(nvml)
        availability.append(Availability("nvml", True, None, tuple(nvml.devices())))
    except Unavailable as exc:
        availability.append(Availability("nvml", False, exc.reason))
    except Exception as exc:  # an unexpected NVML failure: the node's other devices go on
        log.warning("nvml could not open: %s", exc)
        availability.append(Availability("nvml", False, f"{type(exc).__name__}: {exc}"))
    found = discover(
        mode="machine",
        powercap_root=powercap_root,
        cpu_tdp_w=cpu_tdp_w,
        environ=env,
        clock=clock,
        gpus=False,
    )
    return [*collectors, *found.collectors], [*availability, *found.availability]


class NodeMeter:
    """The node's collectors and their sampler.

    Args:
        collectors: Open collectors (node-wide).
        availability: What each collector said when opened.
        series_hz: Counter reading rate between snapshots, Hz.
        power_hz: Rate of power-only sensors, Hz.
        on_series: Called on the sampler thread with each tick's readings.
        clock: Monotonic clock of the sampler (tests inject one and drive it).
    """

    def __init__(
        self,
        collectors: Sequence[Collector],
        availability: Sequence[Availability],
        *,
        series_hz: float = 1.0,
        power_hz: float = 10.0,
        on_series: Callable[[list[Reading]], None] | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.availability = list(availability)
        self.clock = clock
        # Each tick's readings go to ``on_series``; nothing reads the sampler's own series
        # buffer here, which would otherwise hold its 100 000 newest readings (16 MB).
        self.sampler = Sampler(
            collectors,
            series_hz=series_hz,
            power_hz=power_hz,
            clock=clock,
            max_series=0,
            on_series=on_series,
        )
        self._utilization = _utilization_readers(collectors)
        self._listers = [c for c in collectors if isinstance(c, ProcessLister)]

    @property
    def devices(self) -> list[Device]:
        """Every device read."""
        return self.sampler.devices

    @property
    def errors(self) -> SamplerErrors:
        """Collector failures counted by the sampler."""
        return self.sampler.errors

    def status(self) -> list[DeviceStatus]:
        """Lost devices and counter resets."""
        return self.sampler.status()

    def snapshot(self) -> Snapshot:
        """Every device's cumulative energy now (counters read at this instant)."""
        return self.sampler.snapshot()

    def utilization(self, device_id: str) -> float | None:
        """A GPU's utilization as a ratio (0..1), or None when unknown."""
        reader = self._utilization.get(device_id)
        if reader is None:
            return None
        try:
            found = reader(device_id)
        except Exception as exc:  # an optional figure: leave it out
            log.debug("utilization of %s failed: %s", device_id, exc)
            return None
        return None if found is None else float(found[0]) / 100.0

    def compute_processes(self) -> list[GpuProcess]:
        """The processes with a compute context on the node's GPUs (host pids)."""
        found: list[GpuProcess] = []
        for lister in self._listers:
            found += lister.compute_processes()
        return found

    def start(self) -> None:
        """Start sampling in the background."""
        self.sampler.start()

    def close(self) -> None:
        """Stop sampling and close the collectors."""
        self.sampler.close()


def _utilization_readers(collectors: Sequence[Collector]) -> dict[str, Any]:
    readers: dict[str, Any] = {}
    for collector in collectors:
        reader = getattr(collector, "utilization", None)
        if reader is None:
            continue
        for device in collector.devices():
            if device.kind is Kind.GPU:
                readers[device.device_id] = reader
    return readers
