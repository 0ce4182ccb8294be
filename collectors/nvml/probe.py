"""Whether NVML works here, for ``greenai detect``."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from collectors.errors import Unavailable
from collectors.nvml import library
from collectors.types import Availability

log = logging.getLogger(__name__)


def probe(*, environ: Mapping[str, str] = os.environ) -> Availability:
    """Open the NVML collector once, list its devices and close it; never raises.

    Args:
        environ: Environment holding ``CUDA_VISIBLE_DEVICES`` and ``CUDA_DEVICE_ORDER``.

    Returns:
        Available with the visible GPUs, or unavailable with the reason.
    """
    from collectors.nvml.collector import NvmlCollector

    try:
        collector = NvmlCollector.open(environ=environ)
    except Unavailable as exc:
        return Availability(library.NAME, False, exc.reason)
    except Exception as exc:  # detection reports, it does not fail
        log.debug("NVML probe failed", exc_info=True)
        return Availability(library.NAME, False, f"NVML failed: {type(exc).__name__}: {exc}")
    try:
        return Availability(library.NAME, True, None, tuple(collector.devices()))
    finally:
        collector.close()
