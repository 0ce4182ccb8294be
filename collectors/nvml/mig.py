"""A MIG tenant's part of its GPU: the GPU-instance slices it can see over the GPU's.

NVML measures energy and power per physical GPU only, every MIG instance on it
included. A process that sees MIG devices (``CUDA_VISIBLE_DEVICES=MIG-...``) is given
the part of its GPU that its instances hold: the sum of their ``gpuInstanceSliceCount``
(``nvmlDeviceGetAttributes_v2`` on the MIG device handle) over the whole GPU's slices
(the same call on the GPU's handle; where that is not supported, 7, the slice count of
the A100, H100 and H200). Per-process utilization is not available in MIG mode, so the
slices are the best split NVML allows. A legacy ``MIG-GPU-<uuid>/<gi>/<ci>`` entry has
no handle to ask: it counts one slice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from collectors.nvml import library

log = logging.getLogger(__name__)

DEFAULT_GPU_SLICES = 7
"""GPU slices of an A100, H100 or H200 (an A30 has 4)."""


def _slices(pynvml: Any, handle: Any) -> int | None:
    try:
        count = int(pynvml.nvmlDeviceGetAttributes_v2(handle).gpuInstanceSliceCount)
    except pynvml.NVMLError as exc:
        if library.is_lost(exc):
            raise
        log.debug("MIG attributes unavailable: %s", library.describe(exc))
        return None
    return count if count > 0 else None


def mig_slices(pynvml: Any, gpu_handle: Any, entries: Sequence[str]) -> tuple[int, int]:
    """(slices of the visible MIG devices, slices of the whole GPU).

    Args:
        pynvml: The initialized module.
        gpu_handle: The physical GPU's handle.
        entries: The visible MIG entries on it, as ``CUDA_VISIBLE_DEVICES`` names them.
    """
    total = _slices(pynvml, gpu_handle) or DEFAULT_GPU_SLICES
    ours = 0
    for entry in entries:
        count = None
        if not entry.startswith("MIG-GPU-"):
            try:
                count = _slices(pynvml, pynvml.nvmlDeviceGetHandleByUUID(entry))
            except pynvml.NVMLError as exc:
                log.debug("MIG device %s not found: %s", entry, library.describe(exc))
        ours += count or 1
    return min(ours, total), total


def mig_note(ours: int, total: int) -> str:
    """The device note that says how a MIG tenant's part was decided."""
    return (
        f"MIG: charged {ours} of the GPU's {total} slices (the visible instances' "
        "gpuInstanceSliceCount over the GPU's), since NVML measures only the whole GPU"
    )
