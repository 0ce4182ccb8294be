"""The 1 Hz path of GPUs with an energy counter: one C call per value, preallocated buffers.

Every series tick reads each counter GPU's energy (and its power, for the series).
pynvml's wrappers allocate a ctypes value and look the function up by name on every
call; over 8 GPUs at 1 Hz that is a good part of a tick's cost. This reader resolves
the C functions once and keeps one buffer per value and GPU. A non-success return is
handed, as pynvml's ``NVMLError``, to the collector's error handling (lost, or retried
after a backoff); a power that is not supported leaves the GPU's energy read, as on the
ordinary path.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from collectors.nvml import library
from collectors.nvml.gpu import Gpu, PowerSource
from collectors.types import Kind, Method, Reading

SUCCESS = 0


class FastCounterReader:
    """Reads counter GPUs whose power comes from ``nvmlDeviceGetPowerUsage`` (or none).

    Args:
        pynvml: The loaded ``pynvml`` module.
        failed: The collector's handling of a failed read (marks the GPU lost, or backs off).
        clock: Monotonic clock of the readings.
    """

    def __init__(
        self,
        pynvml: Any,
        failed: Callable[[Gpu, BaseException], None],
        clock: Callable[[], float],
    ) -> None:
        self._error = pynvml.NVMLError
        self._energy = pynvml._nvmlGetFunctionPointer("nvmlDeviceGetTotalEnergyConsumption")
        self._usage = pynvml._nvmlGetFunctionPointer("nvmlDeviceGetPowerUsage")
        self._failed = failed
        self._clock = clock
        self._buffers: dict[int, tuple[Any, Any, Any, Any]] = {}

    @staticmethod
    def handles(gpu: Gpu) -> bool:
        """Whether this reader reads ``gpu`` (a counter; power by usage, or none)."""
        return gpu.counter is not None and gpu.power_source in (PowerSource.USAGE, PowerSource.NONE)

    def _buffers_of(self, gpu: Gpu) -> tuple[Any, Any, Any, Any]:
        found = self._buffers.get(gpu.index)
        if found is None:
            energy_mj, power_mw = ctypes.c_ulonglong(0), ctypes.c_uint(0)
            found = (energy_mj, ctypes.byref(energy_mj), power_mw, ctypes.byref(power_mw))
            self._buffers[gpu.index] = found
        return found

    def read(self, gpu: Gpu) -> Reading | None:
        """One reading of a GPU this reader :meth:`handles`; None where it failed."""
        counter = gpu.counter
        if counter is None:
            return None
        energy_mj, energy_ref, power_mw, power_ref = self._buffers_of(gpu)
        rc = self._energy(gpu.handle, energy_ref)
        if rc != SUCCESS:
            self._failed(gpu, self._error(rc))
            return None
        now = self._clock()
        power_w = None
        if gpu.power_source is PowerSource.USAGE:
            rc = self._usage(gpu.handle, power_ref)
            if rc == SUCCESS:
                power_w = power_mw.value / 1000.0
            elif rc == library.ERROR_NOT_SUPPORTED:
                gpu.power_source = PowerSource.NONE  # the energy stands; no power from now on
            else:
                self._failed(gpu, self._error(rc))
                return None
        gpu.failures, gpu.retry_at_s = 0, 0.0
        energy_j = counter.update(int(energy_mj.value), now)
        return Reading(gpu.device.device_id, Kind.GPU, now, power_w, energy_j, Method.COUNTER)
