"""The base class every collector implements."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from collectors.types import Device, DeviceStatus, GpuProcess, Reading


class Collector(abc.ABC):
    """Reads one kind of hardware.

    A collector is built by its ``open`` classmethod (which raises
    :class:`collectors.errors.Unavailable` with a reason when it cannot work here),
    read from one thread at a time, and closed once.
    """

    name: str = "collector"
    machine_wide: bool = False
    """Whether its devices cover the whole machine whatever the process (RAPL): in
    process mode a job is charged only its share of them."""

    @abc.abstractmethod
    def devices(self) -> Sequence[Device]:
        """The devices this collector reads."""

    @abc.abstractmethod
    def read(self) -> list[Reading]:
        """Read every device once: counters where they exist, power otherwise.

        Returns:
            One reading per device that answered; a lost device is left out and
            reported by :meth:`status`.
        """

    def read_power(self, device_ids: Sequence[str]) -> list[Reading]:
        """Read only the power of the given power-only devices, as cheaply as possible.

        The fast (10 Hz) sampling path calls this; the default reads everything.
        """
        wanted = set(device_ids)
        return [r for r in self.read() if r.device_id in wanted]

    def power_reader(self, device_ids: Sequence[str]) -> Callable[[], list[float | None]]:
        """A function reading the power of the given power-only devices, W, in order.

        The sampler calls it at ``power_hz``; collectors override it with something
        cheaper than :meth:`read_power` (no objects per reading). A device that did
        not answer gives None.
        """
        ids = list(device_ids)

        def read() -> list[float | None]:
            found = {r.device_id: r.power_w for r in self.read_power(ids)}
            return [found.get(i) for i in ids]

        return read

    def status(self) -> list[DeviceStatus]:
        """Per-device events since opening (lost devices, counter resets)."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook, most collectors hold nothing
        """Release what the collector holds (NVML handle, open files)."""


@runtime_checkable
class ProcessLister(Protocol):
    """A collector that can tell which processes use its devices (NVML)."""

    def compute_processes(self) -> list[GpuProcess]:
        """The processes with a compute context on its devices (host PIDs)."""
        ...
