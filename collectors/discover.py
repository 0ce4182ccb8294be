"""Open every collector that can work here, and say why the others cannot.

Order: NVML GPUs; RAPL for CPU and DRAM; where RAPL has no package domain, the
CPU-time-driven CPU estimate; where it has no DRAM domain, the DRAM estimate.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from collectors.base import Collector
from collectors.errors import Unavailable
from collectors.types import Availability, Kind

if TYPE_CHECKING:
    from collectors.cputime import TreeWalk

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Discovery:
    """What was found.

    Attributes:
        collectors: The open collectors.
        availability: One entry per collector tried, available or with its reason.
        walk: The one walk of the job's process tree the models read at each tick, for
            whatever else follows the job's CPU time (None: not walked here).
    """

    collectors: list[Collector]
    availability: list[Availability]
    walk: TreeWalk | None = None


def _try(
    name: str, opener: Callable[[], Collector], found: list[Collector], avail: list[Availability]
) -> Collector | None:
    try:
        collector = opener()
    except Unavailable as exc:
        avail.append(Availability(name, False, exc.reason))
        return None
    except Exception as exc:  # an unexpected failure makes the collector unavailable
        log.warning("collector %s could not open: %s", name, exc)
        avail.append(Availability(name, False, f"failed to open: {type(exc).__name__}: {exc}"))
        return None
    found.append(collector)
    avail.append(Availability(name, True, None, tuple(collector.devices())))
    return collector


def discover(
    *,
    mode: str = "process",
    pid: int | None = None,
    powercap_root: Path | None = None,
    cpu_tdp_w: float | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    gpus: bool = True,
) -> Discovery:
    """Open the collectors that work on this machine.

    Args:
        mode: ``process`` (charge the job's share of CPU and memory) or ``machine``.
        pid: The job's root process (default: this process).
        powercap_root: RAPL sysfs root (default from ``GREENAI_POWERCAP_ROOT`` or
            ``/sys/class/powercap``).
        cpu_tdp_w: CPU TDP override for the estimate, W.
        environ: Environment (``CUDA_VISIBLE_DEVICES`` and the ``GREENAI_*`` overrides).
        clock: Monotonic clock for reading timestamps.
        gpus: Whether to try NVML.
    """
    from collectors.cpu_model import CpuModelCollector
    from collectors.cputime import TreeWalk
    from collectors.dram_model import DramModelCollector
    from collectors.rapl import RaplCollector

    env = os.environ if environ is None else environ
    job_pid = os.getpid() if pid is None else pid
    found: list[Collector] = []
    avail: list[Availability] = []
    if gpus:
        from collectors.nvml import NvmlCollector

        _try("nvml", lambda: NvmlCollector.open(clock=clock, environ=env), found, avail)
    rapl = _try(
        "rapl",
        lambda: RaplCollector.open(root=powercap_root, clock=clock, environ=env),
        found,
        avail,
    )
    kinds = {d.kind for d in rapl.devices()} if rapl is not None else set()
    walk = TreeWalk(job_pid)  # one walk of the job's tree per tick serves both models
    if Kind.CPU not in kinds and Kind.PSYS not in kinds:
        _try(
            "cpu-model",
            lambda: CpuModelCollector.open(
                mode=mode, pid=job_pid, tdp_w=cpu_tdp_w, clock=clock, environ=env, walk=walk
            ),
            found,
            avail,
        )
    if Kind.DRAM not in kinds:
        _try(
            "dram-model",
            lambda: DramModelCollector.open(
                mode=mode, pid=job_pid, clock=clock, environ=env, walk=walk
            ),
            found,
            avail,
        )
    return Discovery(found, avail, walk)
