"""NVIDIA GPUs through NVML: energy counters, power, utilization, compute processes.

Importing this package does not import ``pynvml``; :meth:`NvmlCollector.open` does.
"""

from collectors.nvml.collector import NvmlCollector
from collectors.nvml.probe import probe
from collectors.nvml.visible import GpuInfo, Visibility, resolve_visible, visible_from_environ

__all__ = [
    "GpuInfo",
    "NvmlCollector",
    "Visibility",
    "probe",
    "resolve_visible",
    "visible_from_environ",
]
