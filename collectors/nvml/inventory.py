"""What NVML enumerates: every GPU's index, handle, name and UUID; MIG parents."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from collectors.errors import Unavailable
from collectors.nvml import library
from collectors.nvml.visible import GpuInfo

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Inventory:
    """The GPUs NVML enumerates.

    Attributes:
        gpus: The GPUs that answered, in NVML order.
        handles: NVML index -> device handle.
        failed: NVML index -> why it could not be enumerated (lost GPU).
    """

    gpus: list[GpuInfo] = field(default_factory=list)
    handles: dict[int, Any] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)


def _text(value: Any) -> str:
    """NVML strings arrive as str from nvidia-ml-py; bytes from older versions."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def enumerate_gpus(pynvml: Any) -> Inventory:
    """List every GPU NVML knows.

    Raises:
        Unavailable: NVML cannot count the GPUs, or counts none.
    """
    try:
        count = int(pynvml.nvmlDeviceGetCount())
    except pynvml.NVMLError as exc:
        raise Unavailable(
            library.NAME, f"NVML could not count the GPUs: {library.describe(exc)}"
        ) from exc
    if count == 0:
        raise Unavailable(library.NAME, "the NVIDIA driver is loaded but reports no GPU")
    inventory = Inventory()
    for index in range(count):
        try:
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = _text(pynvml.nvmlDeviceGetName(handle))
            uuid = _text(pynvml.nvmlDeviceGetUUID(handle))
        except pynvml.NVMLError as exc:
            log.warning("GPU %d does not answer NVML and is left out: %s", index, exc)
            inventory.failed[index] = library.describe(exc)
            continue
        inventory.gpus.append(GpuInfo(index, uuid, name))
        inventory.handles[index] = handle
    return inventory


def mig_parent_uuid(pynvml: Any, mig_uuid: str) -> str | None:
    """The UUID of the GPU a MIG device (``MIG-...``) belongs to; None if NVML does not know
    it."""
    try:
        handle = pynvml.nvmlDeviceGetHandleByUUID(mig_uuid)
        parent = pynvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(handle)
        return _text(pynvml.nvmlDeviceGetUUID(parent))
    except pynvml.NVMLError as exc:
        log.debug("MIG device %s not found through NVML: %s", mig_uuid, exc)
        return None
