"""Processes with a compute context on the visible GPUs, from NVML.

Inside containers NVML reports host PIDs, which do not match the container's own; the
caller decides what to do when none of them matches its process tree.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from collectors.nvml import library
from collectors.nvml.gpu import Gpu
from collectors.types import GpuProcess

log = logging.getLogger(__name__)


def device_processes(pynvml: Any, gpu: Gpu) -> list[GpuProcess]:
    """The compute processes on one GPU.

    Raises:
        pynvml.NVMLError: The query failed (the caller decides whether the GPU is lost).
    """
    found = pynvml.nvmlDeviceGetComputeRunningProcesses_v3(gpu.handle)
    processes = []
    for info in found:
        used = info.usedGpuMemory
        processes.append(
            GpuProcess(
                pid=int(info.pid),
                device_id=gpu.device.device_id,
                used_memory_bytes=int(used) if used is not None else None,
            )
        )
    return processes


def compute_processes(pynvml: Any, gpus: Iterable[Gpu]) -> tuple[list[GpuProcess], list[Gpu]]:
    """The compute processes on every GPU that answers.

    Args:
        pynvml: The initialized module.
        gpus: The GPUs to ask (lost ones are skipped).

    Returns:
        The processes, and the GPUs that turned out to be lost while asking.
    """
    processes: list[GpuProcess] = []
    lost: list[Gpu] = []
    for gpu in gpus:
        if gpu.lost:
            continue
        try:
            processes.extend(device_processes(pynvml, gpu))
        except pynvml.NVMLError as exc:
            if library.is_lost(exc):
                lost.append(gpu)
            else:
                log.debug("no process list for %s: %s", gpu.device.device_id, exc)
    return processes, lost
