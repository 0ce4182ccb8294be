"""CPU energy estimated from CPU-time counters, where there is no RAPL. Method: model.

Power is linear in load between idle and full load; the full-load power of one logical
CPU, ``per_cpu_w``, comes from :mod:`collectors.cpu_tdp` (TDP scaled to a CPU's share).
Both modes are driven by cumulative CPU-time counters, so no fast polling is needed and
the energy between two reads is exact for the model whatever the reading rate.

- ``process`` mode (the default) charges the job: each CPU-second its process tree used
  (children included) costs one logical CPU's full-load power,
  ``E = per_cpu_w * cpu_s``. Idle power is not charged to the job: it is drawn whether
  the job runs or not, and the node agent (machine mode) accounts for it.
- ``machine`` mode charges the whole machine, for dedicated nodes:
  ``E = P_idle * dt + (P_max - P_idle) * busy_cpu_s / n_cpus`` with
  ``P_max = per_cpu_w * n_cpus`` over the machine's logical CPUs and ``P_idle`` 10% of
  ``P_max`` (CodeCarbon's idle share).

The device's ``power_limit_w`` is ``P_max``: the scaled TDP of the CPUs available to
the job (process mode) or of the machine (machine mode).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from collectors.base import Collector
from collectors.cpu_tdp import available_cpus, estimate_cpu_power, read_cpuinfo, tdp_override
from collectors.cputime import ProcessTreeCpuTime, TreeWalk, machine_busy_cpu_s
from collectors.errors import CollectorError, Unavailable
from collectors.types import Availability, Device, Kind, Method, Reading

IDLE_SHARE = 0.1
"""Idle power as a share of full-load power (CodeCarbon's figure)."""
MODES = ("process", "machine")
DEVICE_ID = "cpu:model"


def check_mode(mode: str) -> str:
    """Return ``mode`` if it is ``process`` or ``machine``.

    Raises:
        ValueError: Any other value (the message names the key and what is accepted).
    """
    if mode not in MODES:
        raise ValueError(f"invalid mode={mode!r}: 'process' or 'machine'")
    return mode


class CpuModelCollector(Collector):
    """Estimates CPU energy from CPU time x per-CPU power (see the module docstring)."""

    name = "cpu-model"

    def __init__(
        self,
        device: Device,
        *,
        mode: str,
        per_cpu_w: float,
        n_cpus: float,
        cpu_seconds: Callable[[], float],
        clock: Callable[[], float],
    ) -> None:
        """Use :meth:`open`. Takes the first counter values now (the energy origin)."""
        self._device = device
        self._mode = check_mode(mode)
        self._per_cpu_w = per_cpu_w
        self._n_cpus = n_cpus
        self._cpu_seconds = cpu_seconds
        self._clock = clock
        self._t0_s = clock()
        self._cpu0_s = cpu_seconds()
        self._last_cpu_s = self._cpu0_s
        self._last: tuple[float, float] | None = None  # (time s, energy J) of the last read

    @classmethod
    def open(
        cls,
        *,
        mode: str = "process",
        pid: int | None = None,
        tdp_w: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] = os.environ,
        proc_root: Path = Path("/proc"),
        cgroup_root: Path = Path("/sys/fs/cgroup"),
        cpu_seconds: Callable[[], float] | None = None,
        walk: TreeWalk | None = None,
    ) -> CpuModelCollector:
        """Build the estimate for this machine.

        Args:
            mode: ``process`` (the job's CPU time) or ``machine`` (the whole machine).
            pid: The job's root process (default: this process, read at call time).
            tdp_w: TDP override, W (else ``GREENAI_CPU_TDP_W``, else CodeCarbon's table).
            clock: Monotonic clock, s.
            environ: Environment holding ``GREENAI_CPU_TDP_W``.
            proc_root: The ``/proc`` folder (cpuinfo, process stats, affinity, cgroup).
            cgroup_root: The cgroup file system, for CPU quotas.
            cpu_seconds: Cumulative CPU-seconds source replacing the process tree's
                (process mode) or the machine's busy time (machine mode).
            walk: A walk of the job's tree shared with other readers (process mode).

        Raises:
            ValueError: Invalid ``mode`` or TDP override.
            Unavailable: The process does not exist.
        """
        check_mode(mode)
        job_pid = os.getpid() if pid is None else pid
        info = read_cpuinfo(proc_root)
        power = estimate_cpu_power(info, tdp_override(tdp_w, environ))
        if mode == "process":
            n_cpus, cpus_note = available_cpus(job_pid, info, proc_root, cgroup_root)
            scope = "process mode: the job's CPU time; idle power not charged to the job"
        else:
            n_cpus = float(info.logical_cpus)
            cpus_note = f"{info.logical_cpus} logical CPUs"
            scope = f"machine mode: idle {IDLE_SHARE:.0%} of full load plus busy CPU time"
        if cpu_seconds is None:
            cpu_seconds = _default_source(mode, job_pid, proc_root, walk)
        p_max_w = power.per_cpu_w * n_cpus
        device = Device(
            DEVICE_ID,
            Kind.CPU,
            info.vendor,
            info.model_name or "unknown CPU",
            Method.MODEL,
            power_limit_w=p_max_w,
            notes=(*power.notes, f"{cpus_note}: {p_max_w:.3g} W at full load", scope),
        )
        return cls(
            device,
            mode=mode,
            per_cpu_w=power.per_cpu_w,
            n_cpus=n_cpus,
            cpu_seconds=cpu_seconds,
            clock=clock,
        )

    def devices(self) -> Sequence[Device]:
        """The one ``cpu:model`` device."""
        return [self._device]

    def energy_j(self, now_s: float, cpu_s: float) -> float:
        """Model energy since opening at time ``now_s`` with cumulative ``cpu_s``, J."""
        used_cpu_s = max(cpu_s - self._cpu0_s, 0.0)
        if self._mode == "process":
            return self._per_cpu_w * used_cpu_s
        p_max_w = self._per_cpu_w * self._n_cpus
        p_idle_w = IDLE_SHARE * p_max_w
        elapsed_s = max(now_s - self._t0_s, 0.0)
        return p_idle_w * elapsed_s + (p_max_w - p_idle_w) * used_cpu_s / self._n_cpus

    def read(self) -> list[Reading]:
        """Cumulative model energy since opening; power averaged since the previous read."""
        try:
            cpu_s = max(self._cpu_seconds(), self._last_cpu_s)
        except (OSError, ValueError) as exc:
            raise CollectorError(f"cpu-model: cannot read CPU time: {exc}") from exc
        now_s = self._clock()
        self._last_cpu_s = cpu_s
        energy_j = self.energy_j(now_s, cpu_s)
        power_w = None
        if self._last is not None:
            last_s, last_j = self._last
            energy_j = max(energy_j, last_j)
            power_w = (energy_j - last_j) / (now_s - last_s) if now_s > last_s else None
        self._last = (now_s, energy_j)
        return [Reading(DEVICE_ID, Kind.CPU, now_s, power_w, energy_j, Method.MODEL)]


def _default_source(
    mode: str, pid: int, proc_root: Path, walk: TreeWalk | None
) -> Callable[[], float]:
    if mode == "machine":
        return machine_busy_cpu_s
    try:
        return ProcessTreeCpuTime(pid, proc_root=proc_root, walk=walk).total_s
    except ProcessLookupError as exc:
        raise Unavailable("cpu-model", f"process {pid} not found: {exc}") from exc


def probe(
    *,
    mode: str = "process",
    tdp_w: float | None = None,
    environ: Mapping[str, str] = os.environ,
    proc_root: Path = Path("/proc"),
) -> Availability:
    """The CPU estimate's device and basis, for ``greenai detect``."""
    try:
        collector = CpuModelCollector.open(
            mode=mode, tdp_w=tdp_w, environ=environ, proc_root=proc_root
        )
    except Unavailable as exc:
        return Availability("cpu-model", False, exc.reason)
    return Availability("cpu-model", True, None, tuple(collector.devices()))
