"""Loading NVML through nvidia-ml-py, and NVML errors in words a user can act on.

``pynvml`` is imported here, inside functions, never when ``collectors`` is imported.
"""

from __future__ import annotations

import contextlib
from types import ModuleType
from typing import Any

from collectors.errors import Unavailable

NAME = "nvml"

SUCCESS = 0
ERROR_UNINITIALIZED = 1
ERROR_NOT_SUPPORTED = 3
ERROR_NO_PERMISSION = 4
ERROR_NOT_FOUND = 6
ERROR_DRIVER_NOT_LOADED = 9
ERROR_LIBRARY_NOT_FOUND = 12
ERROR_FUNCTION_NOT_FOUND = 13
ERROR_GPU_IS_LOST = 15
ERROR_LIB_RM_VERSION_MISMATCH = 18
ERROR_GPU_NOT_FOUND = 28

LOST_CODES = frozenset({ERROR_GPU_IS_LOST, ERROR_GPU_NOT_FOUND})
"""Errors that mean the GPU is gone (fallen off the bus, removed); any other error on a
GPU that answered before is transient: retried, never a reason to stop reading it."""

_INIT_REASONS = {
    ERROR_LIBRARY_NOT_FOUND: (
        "the NVIDIA driver library libnvidia-ml.so.1 was not found: no NVIDIA driver is "
        "installed, or it is not on the library path (in a container, start it with the "
        "NVIDIA Container Toolkit, e.g. `docker run --gpus all`)"
    ),
    ERROR_DRIVER_NOT_LOADED: (
        "the NVIDIA kernel driver is not loaded: no NVIDIA GPU, or the driver failed to "
        "load (check `nvidia-smi` and `dmesg`)"
    ),
    ERROR_NO_PERMISSION: (
        "no permission to open the NVIDIA devices (/dev/nvidia*): run as a user in the "
        "group that owns them"
    ),
    ERROR_LIB_RM_VERSION_MISMATCH: (
        "the NVIDIA driver library and kernel module versions differ (driver upgraded "
        "without a reboot): reboot or reload the nvidia kernel module"
    ),
    ERROR_FUNCTION_NOT_FOUND: (
        "libnvidia-ml.so.1 is too old for nvidia-ml-py (nvmlInitWithFlags missing): "
        "update the NVIDIA driver"
    ),
}


def error_code(exc: BaseException) -> int | None:
    """The NVML return code carried by a ``pynvml.NVMLError``, else None."""
    value = getattr(exc, "value", None)
    return value if isinstance(value, int) else None


def is_lost(exc: BaseException) -> bool:
    """Whether an error means the GPU is gone for good (see :data:`LOST_CODES`)."""
    return error_code(exc) in LOST_CODES


def describe(exc: BaseException) -> str:
    """A short description of an NVML error: its message and code."""
    code = error_code(exc)
    try:
        text = str(exc)
    except Exception:  # pynvml formats unknown codes through nvmlErrorString
        text = type(exc).__name__
    return text if code is None else f"{text} (NVML error {code})"


def load() -> ModuleType:
    """Import ``pynvml`` and initialize NVML.

    Returns:
        The ``pynvml`` module, initialized (pair with :func:`shutdown`).

    Raises:
        Unavailable: nvidia-ml-py is not installed, or NVML cannot initialize; the
            reason says what to do.
    """
    try:
        import pynvml
    except ImportError as exc:
        raise Unavailable(
            NAME, "the Python package nvidia-ml-py is not installed (pip install nvidia-ml-py)"
        ) from exc
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        code = error_code(exc)
        reason = _INIT_REASONS.get(code if code is not None else -1)
        raise Unavailable(NAME, reason or f"NVML failed to initialize: {describe(exc)}") from exc
    module: ModuleType = pynvml
    return module


def shutdown(pynvml: Any) -> None:
    """Release one NVML initialization; errors are ignored (the library may be gone)."""
    with contextlib.suppress(pynvml.NVMLError):
        pynvml.nvmlShutdown()
