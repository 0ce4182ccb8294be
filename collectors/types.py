"""Types that cross from the collectors into greenai: readings, devices, methods."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Method(enum.StrEnum):
    """How an energy figure was obtained, best first."""

    COUNTER = "counter"
    """A hardware energy counter (NVML total energy, RAPL): exact whatever the sampling rate."""
    POWER = "power"
    """A hardware power sensor integrated over time (trapezoids between samples)."""
    MODEL = "model"
    """An estimate from a model (CPU time x TDP, memory x W/GB)."""


class Kind(enum.StrEnum):
    """What a device is, for breakdowns such as energy by kind."""

    GPU = "gpu"
    CPU = "cpu"
    DRAM = "dram"
    PSYS = "psys"
    """A platform-wide domain (RAPL psys) that already holds the CPU package."""


@dataclass(frozen=True, slots=True)
class Device:
    """One measurable device.

    Attributes:
        device_id: Stable id within the host, such as ``gpu:0`` or ``cpu:package-0``.
        kind: What the device is.
        vendor: ``nvidia``, ``intel``, ``amd`` or ``unknown``.
        name: Model name as the hardware reports it.
        uuid: Hardware UUID where the device has one (``GPU-...``).
        method: How its energy is obtained.
        power_limit_w: Enforced power limit (GPUs) or TDP (CPUs), where known.
        notes: Human-readable remarks (a MIG parent reported once, an estimate's basis).
        mig_slices: For a GPU seen through MIG devices: (their GPU-instance slices, the
            GPU's slices), the part of its energy that is this process's to share.
    """

    device_id: str
    kind: Kind
    vendor: str
    name: str
    method: Method
    uuid: str | None = None
    power_limit_w: float | None = None
    notes: tuple[str, ...] = ()
    mig_slices: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Reading:
    """One reading of one device.

    Attributes:
        device_id: The device's id (``Device.device_id``).
        kind: The device's kind.
        timestamp_s: Monotonic time of the reading (the collector's clock), seconds.
        power_w: Power at that instant or averaged by the hardware, W; None if unknown.
        energy_j: Cumulative energy since an arbitrary origin, J; never decreases.
            None where the device has no counter (power-only devices).
        method: How the energy is obtained.
    """

    device_id: str
    kind: Kind
    timestamp_s: float
    power_w: float | None
    energy_j: float | None
    method: Method


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """What happened to a device during reading, besides its value.

    Attributes:
        device_id: The device's id.
        lost: True once the device stopped answering (GPU fallen off the bus).
        counter_resets: How many times its counter went backwards (driver reload).
        errors: How many reads failed (transient errors, retried).
    """

    device_id: str
    lost: bool = False
    counter_resets: int = 0
    errors: int = 0


@dataclass(slots=True)
class GpuProcess:
    """A process with a compute context on a GPU, as NVML reports it.

    Attributes:
        pid: Process id (a host PID inside containers).
        device_id: The GPU's device id.
        used_memory_bytes: GPU memory the process holds, bytes; None if unknown.
        sm_util_percent: Its mean SM utilization since the previous process list, % of the
            GPU (NVML's per-process samples); None where the GPU cannot tell (MIG mode,
            many consumer GPUs) or NVML has no sample of it since.
    """

    pid: int
    device_id: str
    used_memory_bytes: int | None = None
    sm_util_percent: float | None = None


@dataclass(frozen=True, slots=True)
class Availability:
    """Whether a collector can work here, and why not.

    Attributes:
        name: The collector's name (``nvml``, ``rapl``, ``cpu-model``, ``dram-model``).
        available: True when it found devices to read.
        reason: Why it is unavailable, written for the user (what to do), else None.
        devices: The devices it reads.
    """

    name: str
    available: bool
    reason: str | None = None
    devices: tuple[Device, ...] = field(default_factory=tuple)
