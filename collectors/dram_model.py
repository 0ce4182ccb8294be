"""DRAM energy estimated from memory size, where RAPL has no DRAM domain. Method: model.

The model is ``0.375 W per GB`` (GB = 2**30 bytes): 3 W per 8 GB, the figure CodeCarbon
used for RAM before its per-DIMM model (its 3.x default is about 5 W per DIMM), close to
Green Algorithms' 0.3725 W/GB (Lannelongue et al., 2021). It can be changed with
``GREENAI_DRAM_W_PER_GB`` or the ``w_per_gb`` argument.

- ``machine`` mode charges the machine's memory (``MemTotal`` of ``/proc/meminfo``,
  slightly less than what is installed, as the kernel keeps some): a constant power.
- ``process`` mode (the default) charges the job's resident memory: the RSS of its
  process tree (a sum, so pages shared between processes count once per process).

RSS is not cumulative: energy is the trapezoidal integral of the modelled power between
reads, so it is only as good as the reading rate; the sampler reads it at the 1 Hz
series rate and at run and window boundaries.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from collectors.base import Collector
from collectors.cpu_model import check_mode
from collectors.cputime import TreeWalk, process_tree_rss_bytes, read_proc_stat
from collectors.errors import CollectorError, Unavailable
from collectors.types import Availability, Device, Kind, Method, Reading

W_PER_GB = 0.375
"""Modelled DRAM power per GB (2**30 bytes) of memory, W."""
ENV_W_PER_GB = "GREENAI_DRAM_W_PER_GB"
DEVICE_ID = "dram:model"
_BYTES_PER_GB = 2**30


def mem_total_bytes(proc_root: Path = Path("/proc")) -> int:
    """``MemTotal`` of ``<proc_root>/meminfo``, bytes.

    Raises:
        OSError: The file cannot be read.
        ValueError: It holds no ``MemTotal`` line.
    """
    for line in (proc_root / "meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024  # the kernel writes kB (KiB)
    raise ValueError(f"no MemTotal in {proc_root / 'meminfo'}")


def _w_per_gb(value: float | None, environ: Mapping[str, str]) -> float:
    key, raw = (
        ("w_per_gb", value) if value is not None else (ENV_W_PER_GB, environ.get(ENV_W_PER_GB))
    )
    if raw is None or raw == "":
        return W_PER_GB
    try:
        watts = float(raw)
    except (TypeError, ValueError):
        watts = math.nan
    if not math.isfinite(watts) or watts <= 0:
        raise ValueError(f"invalid {key}={raw!r}: watts per GB of memory, a number above 0")
    return watts


class DramModelCollector(Collector):
    """Estimates DRAM energy as memory x W/GB integrated over time."""

    name = "dram-model"

    def __init__(
        self,
        device: Device,
        *,
        w_per_gb: float,
        memory_bytes: Callable[[], int],
        clock: Callable[[], float],
    ) -> None:
        """Use :meth:`open`. Takes the first memory sample now (the energy origin)."""
        self._device = device
        self._w_per_gb = w_per_gb
        self._memory_bytes = memory_bytes
        self._clock = clock
        self._last_s = clock()
        self._last_power_w = self._power_w(memory_bytes())
        self._energy_j = 0.0

    @classmethod
    def open(
        cls,
        *,
        mode: str = "process",
        pid: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] = os.environ,
        proc_root: Path = Path("/proc"),
        w_per_gb: float | None = None,
        memory_bytes: Callable[[], int] | None = None,
        walk: TreeWalk | None = None,
    ) -> DramModelCollector:
        """Build the estimate.

        Args:
            mode: ``process`` (the job's resident memory) or ``machine`` (all memory).
            pid: The job's root process (default: this process, read at call time).
            clock: Monotonic clock, s.
            environ: Environment holding ``GREENAI_DRAM_W_PER_GB``.
            proc_root: The ``/proc`` folder.
            w_per_gb: Model power per GB, W (default ``GREENAI_DRAM_W_PER_GB``, else 0.375).
            memory_bytes: Memory source replacing the process tree's RSS or MemTotal, bytes.
            walk: A walk of the job's tree shared with other readers (process mode).

        Raises:
            ValueError: Invalid ``mode`` or W/GB.
            Unavailable: The process or ``/proc/meminfo`` cannot be read.
        """
        check_mode(mode)
        watts = _w_per_gb(w_per_gb, environ)
        job_pid = os.getpid() if pid is None else pid
        if memory_bytes is None:
            memory_bytes = _default_source(mode, job_pid, proc_root, walk)
        if mode == "process":
            scope = "process mode: resident memory (RSS) of the job's process tree"
        else:
            scope = f"machine mode: all memory ({memory_bytes() / _BYTES_PER_GB:.1f} GB)"
        device = Device(
            DEVICE_ID,
            Kind.DRAM,
            "unknown",
            "DRAM",
            Method.MODEL,
            notes=(f"{watts:g} W per GB of memory", scope),
        )
        return cls(device, w_per_gb=watts, memory_bytes=memory_bytes, clock=clock)

    def _power_w(self, memory_bytes: int) -> float:
        return self._w_per_gb * memory_bytes / _BYTES_PER_GB

    def devices(self) -> Sequence[Device]:
        """The one ``dram:model`` device."""
        return [self._device]

    def read(self) -> list[Reading]:
        """Energy since opening (trapezoids between reads); power at this instant."""
        try:
            power_w = self._power_w(self._memory_bytes())
        except (OSError, ValueError) as exc:
            raise CollectorError(f"dram-model: cannot read memory: {exc}") from exc
        now_s = self._clock()
        elapsed_s = max(now_s - self._last_s, 0.0)
        self._energy_j += (self._last_power_w + power_w) / 2 * elapsed_s
        self._last_s, self._last_power_w = max(now_s, self._last_s), power_w
        return [Reading(DEVICE_ID, Kind.DRAM, now_s, power_w, self._energy_j, Method.MODEL)]


def _default_source(
    mode: str, pid: int, proc_root: Path, walk: TreeWalk | None
) -> Callable[[], int]:
    if mode == "machine":
        try:
            total = mem_total_bytes(proc_root)
        except (OSError, ValueError) as exc:
            raise Unavailable("dram-model", f"cannot read the memory size: {exc}") from exc
        return lambda: total
    if read_proc_stat(pid, proc_root) is None:
        raise Unavailable("dram-model", f"process {pid} not found in {proc_root}")
    return lambda: process_tree_rss_bytes(pid, proc_root, walk)


def probe(
    *,
    mode: str = "process",
    environ: Mapping[str, str] = os.environ,
    proc_root: Path = Path("/proc"),
) -> Availability:
    """The DRAM estimate's device and basis, for ``greenai detect``."""
    try:
        collector = DramModelCollector.open(mode=mode, environ=environ, proc_root=proc_root)
    except Unavailable as exc:
        return Availability("dram-model", False, exc.reason)
    return Availability("dram-model", True, None, tuple(collector.devices()))
