"""The 10 Hz power path of power-only GPUs: one C call per GPU into preallocated buffers.

pynvml's wrappers allocate ctypes structures and dispatch by name on every call; at
10 Hz over many GPUs that is most of the sampler's cost. This reader resolves the C
functions once, keeps one output buffer per GPU, and returns plain floats. Any
non-success return hands the GPU to the collector's ordinary path, which classifies
the error (lost, not supported) exactly as a 1 Hz read would.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import Any

from collectors.nvml.gpu import FI_DEV_POWER_INSTANT, Gpu, PowerSource, field_value

SUCCESS = 0


class FastPowerReader:
    """Reads the power of power-only GPUs, W, in the order given.

    Args:
        pynvml: The loaded ``pynvml`` module.
        gpus: The power-only GPUs to read.
        fallback: Reads one GPU the ordinary way (marks it lost on failure); its power
            in W, or None.
    """

    def __init__(
        self, pynvml: Any, gpus: Sequence[Gpu], fallback: Callable[[Gpu], float | None]
    ) -> None:
        self._fallback = fallback
        self._usage = pynvml._nvmlGetFunctionPointer("nvmlDeviceGetPowerUsage")
        self._fields = pynvml._nvmlGetFunctionPointer("nvmlDeviceGetFieldValues")
        self._plan: list[tuple[Gpu, Any]] = []
        for gpu in gpus:
            if gpu.power_source is PowerSource.INSTANT:
                buffer: Any = (pynvml.c_nvmlFieldValue_t * 1)()
                buffer[0].fieldId = FI_DEV_POWER_INSTANT
            else:
                buffer = ctypes.c_uint(0)
            self._plan.append((gpu, buffer))

    def __call__(self) -> list[float | None]:
        """One power value per GPU (None for a lost GPU or a failed read)."""
        out: list[float | None] = []
        for gpu, buffer in self._plan:
            value: float | None = None
            if gpu.lost:
                pass
            elif gpu.power_source is PowerSource.INSTANT:
                rc = self._fields(gpu.handle, 1, buffer)
                if rc == SUCCESS and buffer[0].nvmlReturn == SUCCESS:
                    value = field_value(buffer[0]) / 1000.0
                else:
                    value = self._fallback(gpu)
            elif gpu.power_source is PowerSource.USAGE:
                rc = self._usage(gpu.handle, ctypes.byref(buffer))
                value = buffer.value / 1000.0 if rc == SUCCESS else self._fallback(gpu)
            if value is not None and gpu.failures:
                gpu.failures, gpu.retry_at_s = 0, 0.0  # it answers again: no more backoff
            out.append(value)
        return out
