"""One NVIDIA GPU: how its energy and power are read, chosen once when it is opened.

- Volta and newer GPUs have an energy counter (``nvmlDeviceGetTotalEnergyConsumption``,
  mJ since the driver loaded): method COUNTER, exact whatever the sampling rate. Their
  power, for the 1 Hz series only, comes from ``nvmlDeviceGetPowerUsage``, which on
  Ampere and newer is a 1 s average: the right thing for a 1 s series.
- Without a counter: method POWER, integrated over time by the sampler. Instantaneous
  power comes from ``nvmlDeviceGetFieldValues(NVML_FI_DEV_POWER_INSTANT)`` where the
  driver has it, else from ``nvmlDeviceGetPowerUsage`` (a 1 s average on Ampere and newer,
  which smooths short bursts; said in the device's notes).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from collectors.nvml import library
from collectors.nvml.counter import DEFAULT_MAX_POWER_W, EnergyCounter
from collectors.types import Device, Kind, Method

log = logging.getLogger(__name__)

FI_DEV_POWER_INSTANT = 186
"""``NVML_FI_DEV_POWER_INSTANT``: instantaneous power, mW."""

_VALUE_FIELDS = ("dVal", "uiVal", "ulVal", "ullVal", "sllVal", "siVal", "usVal")
"""``nvmlValue_t`` member by ``nvmlValueType_t`` (0..6)."""

NOTE_INSTANT = (
    "no energy counter on this GPU: instantaneous power (NVML_FI_DEV_POWER_INSTANT) is "
    "sampled and integrated over time"
)
NOTE_USAGE = (
    "no energy counter on this GPU: power from nvmlDeviceGetPowerUsage is sampled and "
    "integrated over time; on Ampere and newer GPUs that value is a 1 s average, so bursts "
    "shorter than a second are smoothed"
)
NOTE_MIG = (
    "MIG is enabled on this GPU: its energy covers every MIG instance on it, other users' included"
)


class PowerSource(enum.Enum):
    """Where a GPU's power comes from."""

    INSTANT = "instant"
    """``nvmlDeviceGetFieldValues(NVML_FI_DEV_POWER_INSTANT)``."""
    USAGE = "usage"
    """``nvmlDeviceGetPowerUsage``."""
    NONE = "none"
    """No power reading works."""


@dataclass(slots=True)
class Gpu:
    """An opened GPU and its reading state.

    Attributes:
        device: Its description.
        index: NVML index.
        handle: NVML device handle.
        power_source: Where its power comes from.
        counter: Its energy counter (COUNTER devices), else None.
        lost: True once it is gone for good (GPU_IS_LOST, GPU_NOT_FOUND).
        errors: Failed reads since it was opened (transient errors included).
        failures: Consecutive failed reads (0 once it answers again).
        retry_at_s: Before this monotonic time it is not read (backoff after failures).
        process_utilization: Whether it may sample per-process utilization (False once
            NVML said it cannot: MIG mode, many consumer GPUs).
        utilization_seen_us: Timestamp of the newest per-process utilization sample read,
            NVML's CPU timestamp in us (0: none yet).
    """

    device: Device
    index: int
    handle: Any
    power_source: PowerSource
    counter: EnergyCounter | None
    lost: bool = False
    errors: int = 0
    failures: int = 0
    retry_at_s: float = 0.0
    process_utilization: bool = True
    utilization_seen_us: int = 0


def field_value(value: Any) -> float:
    """The number inside an ``nvmlFieldValue_t``, by its ``valueType``."""
    kind = int(value.valueType)
    name = _VALUE_FIELDS[kind] if 0 <= kind < len(_VALUE_FIELDS) else "uiVal"
    return float(getattr(value.value, name))


def read_instant_power_w(pynvml: Any, handle: Any) -> float:
    """Instantaneous power, W.

    Raises:
        pynvml.NVMLError: The call or the field failed (NOT_SUPPORTED where the driver
            lacks the field).
    """
    value = pynvml.nvmlDeviceGetFieldValues(handle, [FI_DEV_POWER_INSTANT])[0]
    if value.nvmlReturn != library.SUCCESS:
        raise pynvml.NVMLError(value.nvmlReturn)
    return field_value(value) / 1000.0


def read_usage_power_w(pynvml: Any, handle: Any) -> float:
    """Power from ``nvmlDeviceGetPowerUsage`` (a 1 s average on Ampere and newer), W."""
    return float(pynvml.nvmlDeviceGetPowerUsage(handle)) / 1000.0


def power_reader(source: PowerSource) -> Callable[[Any, Any], float] | None:
    """The function reading power from ``source``; None for NONE."""
    if source is PowerSource.INSTANT:
        return read_instant_power_w
    if source is PowerSource.USAGE:
        return read_usage_power_w
    return None


def _optional(pynvml: Any, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, or None when it fails (not supported, no permission, too old a
    driver): an optional feature never keeps a GPU out. A lost GPU still raises."""
    try:
        return fn(*args)
    except pynvml.NVMLError as exc:
        if library.is_lost(exc):
            raise
        log.debug("%s unavailable: %s", getattr(fn, "__name__", fn), exc)
        return None


def _works(pynvml: Any, read: Callable[[Any, Any], float], handle: Any) -> bool:
    """Whether a power reader answers on this GPU (NOT_SUPPORTED and the like: no)."""
    try:
        read(pynvml, handle)
    except pynvml.NVMLError as exc:
        if library.is_lost(exc):
            raise
        return False
    return True


def _power_limit_w(pynvml: Any, handle: Any) -> float | None:
    """The enforced power limit (else the management limit), W; None if unsupported."""
    for fn in (pynvml.nvmlDeviceGetEnforcedPowerLimit, pynvml.nvmlDeviceGetPowerManagementLimit):
        limit_mw = _optional(pynvml, fn, handle)
        if limit_mw:
            return float(limit_mw) / 1000.0
    return None


def _mig_enabled(pynvml: Any, handle: Any) -> bool:
    """Whether MIG mode is currently enabled on the GPU."""
    modes = _optional(pynvml, pynvml.nvmlDeviceGetMigMode, handle)
    return bool(modes and modes[0] == 1)


def _power_source(pynvml: Any, handle: Any, has_counter: bool) -> PowerSource:
    """The first power reading that works: the 1 s average first for the series of a
    COUNTER GPU, instantaneous power first for the integral of a POWER GPU."""
    order = (PowerSource.USAGE, PowerSource.INSTANT)
    if not has_counter:
        order = (PowerSource.INSTANT, PowerSource.USAGE)
    for candidate in order:
        reader = power_reader(candidate)
        if reader is not None and _works(pynvml, reader, handle):
            return candidate
    return PowerSource.NONE


def open_gpu(
    pynvml: Any,
    index: int,
    handle: Any,
    identity: tuple[str, str],
    now_s: Callable[[], float],
    notes: Sequence[str] = (),
) -> Gpu | None:
    """Decide how to measure one GPU and take its first counter reading.

    Args:
        pynvml: The initialized module.
        index: NVML index.
        handle: Its NVML handle.
        identity: Its (name, uuid).
        now_s: Monotonic clock, s.
        notes: Remarks to attach to the device (visibility).

    Returns:
        The opened GPU, or None when it reports neither energy nor power.

    Raises:
        pynvml.NVMLError: The GPU failed (lost) while being opened.
    """
    limit_w = _power_limit_w(pynvml, handle)
    raw_mj = _optional(pynvml, pynvml.nvmlDeviceGetTotalEnergyConsumption, handle)
    counter = None
    if raw_mj is not None:
        counter = EnergyCounter(
            int(raw_mj), now_s(), 2.0 * limit_w if limit_w else DEFAULT_MAX_POWER_W
        )
    source = _power_source(pynvml, handle, counter is not None)
    if counter is None and source is PowerSource.NONE:
        return None
    all_notes = list(notes)
    if counter is None:
        all_notes.append(NOTE_INSTANT if source is PowerSource.INSTANT else NOTE_USAGE)
    if _mig_enabled(pynvml, handle):
        all_notes.append(NOTE_MIG)
    name, uuid = identity
    device = Device(
        device_id=f"gpu:{index}",
        kind=Kind.GPU,
        vendor="nvidia",
        name=name,
        method=Method.COUNTER if counter is not None else Method.POWER,
        uuid=uuid,
        power_limit_w=limit_w,
        notes=tuple(all_notes),
    )
    return Gpu(device, index, handle, source, counter)
