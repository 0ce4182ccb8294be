"""Hardware -> readings: NVML GPUs, RAPL CPU/DRAM, CPU-time-driven estimates, sampling.

Imports nothing from ``greenai`` or ``dashboard``; importing this package loads no
vendor library (pynvml, psutil load where a collector is opened).
"""

from collectors.base import Collector
from collectors.errors import CollectorError, Unavailable
from collectors.types import Availability, Device, DeviceStatus, GpuProcess, Kind, Method, Reading

__all__ = [
    "Availability",
    "Collector",
    "CollectorError",
    "Device",
    "DeviceStatus",
    "GpuProcess",
    "Kind",
    "Method",
    "Reading",
    "Unavailable",
]
