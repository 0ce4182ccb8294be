"""Processes with a compute context on the visible GPUs, from NVML, and their SM utilization.

Inside containers NVML reports host PIDs, which do not match the container's own; the
caller decides what to do when none of them matches its process tree.

Each process carries its mean SM utilization since the previous list, from the driver's
per-process samples (``nvmlDeviceGetProcessUtilization``, one call per GPU, from the
newest sample already read). The first list of a GPU averages every sample the driver
still holds. A GPU that cannot sample per-process utilization (MIG mode, many consumer
GPUs) is not asked again; its processes carry None, as do processes NVML has no sample of.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from collectors.nvml import library
from collectors.nvml.gpu import Gpu
from collectors.types import GpuProcess

log = logging.getLogger(__name__)

_NEVER_SAMPLES = frozenset({library.ERROR_NOT_SUPPORTED, library.ERROR_FUNCTION_NOT_FOUND})
"""Errors that mean the GPU (or its driver) cannot sample per-process utilization at all."""


def device_processes(pynvml: Any, gpu: Gpu) -> list[GpuProcess]:
    """The compute processes on one GPU, with their SM utilization since the last list.

    Raises:
        pynvml.NVMLError: The query failed (the caller decides whether the GPU is lost).
    """
    found = pynvml.nvmlDeviceGetComputeRunningProcesses_v3(gpu.handle)
    sm_util = sm_utilization(pynvml, gpu) if found else {}
    processes = []
    for info in found:
        used = info.usedGpuMemory
        pid = int(info.pid)
        processes.append(
            GpuProcess(
                pid=pid,
                device_id=gpu.device.device_id,
                used_memory_bytes=int(used) if used is not None else None,
                sm_util_percent=sm_util.get(pid),
            )
        )
    return processes


def sm_utilization(pynvml: Any, gpu: Gpu) -> dict[int, float]:
    """Each sampled process's mean SM utilization since the previous call on this GPU, %.

    Returns:
        Pid -> mean SM utilization; empty where NVML has no sample since, cannot sample
        per-process utilization on this GPU, or failed (logged at debug level).

    Raises:
        pynvml.NVMLError: The GPU is lost (:func:`library.is_lost`).
    """
    if not gpu.process_utilization:
        return {}
    try:
        samples = pynvml.nvmlDeviceGetProcessUtilization(gpu.handle, gpu.utilization_seen_us)
    except Exception as exc:  # never a reason to lose the process list
        if library.is_lost(exc):
            raise
        code = library.error_code(exc)
        if code in _NEVER_SAMPLES:
            gpu.process_utilization = False
            log.debug("%s has no per-process utilization: %s", gpu.device.device_id, exc)
        elif code != library.ERROR_NOT_FOUND:  # NOT_FOUND: no sample since the last one
            log.debug("no process utilization for %s: %s", gpu.device.device_id, exc)
        return {}
    sums: dict[int, tuple[float, int]] = {}
    for sample in samples:
        pid = int(sample.pid)
        total, count = sums.get(pid, (0.0, 0))
        sums[pid] = (total + float(sample.smUtil), count + 1)
        gpu.utilization_seen_us = max(gpu.utilization_seen_us, int(sample.timeStamp))
    return {pid: total / count for pid, (total, count) in sums.items()}


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
