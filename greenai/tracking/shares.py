"""The process's share of each device, decided again at every segment.

- GPUs seen through MIG devices: the visible instances' slices over the GPU's.
- Other GPUs: by NVML's running-process list, read at the series rate from the first span on
  (:class:`GpuWatch`). The process tree is walked again only when the set of listed
  pids changes; after the job's processes leave a GPU (a child exited), the last list
  that named them keeps applying. A GPU the job shares is split by the processes' SM
  utilization over the segment, taken afresh from every list, where NVML samples it
  (``process_utilization``; while no process has a new sample, the last split stands),
  else equally among the listed processes (``process_list``). Where NVML cannot tell,
  the device of the local rank, else every visible device (see
  :mod:`greenai.tracking.attribution`).
- CPU, psys and DRAM counters that cover the whole machine (RAPL) in process mode: the
  process tree's share of the machine's busy CPU time over the segment
  (:class:`CpuTimeShare`). DRAM follows the same rule: its counter covers every DIMM,
  and CPU time is what can be read cheaply per segment.
- Everything else (the CPU and DRAM models, which already follow the process tree; any
  device in machine mode) is the process's alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence

from collectors.types import GpuProcess
from greenai.tracking import spans
from greenai.tracking.accounting import Charge
from greenai.tracking.attribution import (
    RULE_LOCAL_RANK,
    RULE_MIG,
    RULE_NONE,
    RULE_PROCESSES,
    RULE_UTILIZATION,
    RULE_VISIBLE,
    GpuAttribution,
    attribute_gpus,
    process_tree_pids,
)

_SHARE_RULES = {
    RULE_PROCESSES: spans.PROCESS_LIST,
    RULE_UTILIZATION: spans.PROCESS_UTILIZATION,
    RULE_LOCAL_RANK: spans.LOCAL_RANK,
    RULE_VISIBLE: spans.VISIBLE_DEVICES,
}
_RUN_RULES = {v: k for k, v in _SHARE_RULES.items()} | {spans.MIG_SLICES: RULE_MIG}


def run_rule(share_rules: Iterable[str]) -> str:
    """The run-level GPU rule (``process-utilization``, ``compute-processes``,
    ``mig-slices``, ``local-rank``, ``visible-devices`` or ``none``) from the share rules
    its GPU rows carry, the best one seen.

    A GPU split by utilization was matched by the process list too, and the job's unused
    GPUs carry ``process_list``: utilization, the finer rule, ranks first.
    """
    seen = {part for rule in share_rules for part in rule.replace(",", "+").split("+")}
    order = (
        spans.PROCESS_UTILIZATION,
        spans.PROCESS_LIST,
        spans.MIG_SLICES,
        spans.LOCAL_RANK,
        spans.VISIBLE_DEVICES,
    )
    for share_rule in order:
        if share_rule in seen:
            return _RUN_RULES[share_rule]
    return RULE_NONE


def gpu_rule(charges: Iterable[Charge]) -> str:
    """How a span's GPUs were charged (see :func:`run_rule`), from its charges."""
    return run_rule(c.rule for c in charges if c.kind == "gpu")


class GpuWatch:
    """Which GPUs the job uses, from successive process lists.

    Args:
        gpu_ids: The visible GPUs, in CUDA order.
        pid: The job's root process.
        tree: Returns the pids of a process tree (injectable for tests).
    """

    def __init__(
        self,
        gpu_ids: Sequence[str],
        pid: int | None = None,
        tree: Callable[[int], set[int]] = process_tree_pids,
        mig: Mapping[str, tuple[int, int]] | None = None,
    ) -> None:
        self.gpu_ids = list(gpu_ids)
        self.mig = dict(mig or {})
        self.pid = os.getpid() if pid is None else pid
        self._tree = tree
        self._listed: frozenset[tuple[int, str]] | None = None
        self._ours: set[int] = set()
        self._current: GpuAttribution | None = None
        self._by_processes: GpuAttribution | None = None
        self._decided: tuple[GpuAttribution, dict[str, spans.Share]] | None = None
        self.environ: Mapping[str, str] = os.environ

    @property
    def known(self) -> bool:
        """Whether a process list was seen at all."""
        return self._current is not None

    def observe(self, processes: list[GpuProcess] | None) -> None:
        """Take a new process list (None: NVML cannot list processes).

        The shares are decided afresh from every list (utilization changes while the pids
        stay); the process tree is walked only when the listed pids change.
        """
        listed = frozenset((p.pid, p.device_id) for p in processes or ())
        same = self._current is not None and listed == self._listed
        if not same:
            self._listed = listed
            self._ours = self._tree(self.pid)
        previous = self._current if same else None
        seen = attribute_gpus(self.gpu_ids, processes, self._ours, self.environ, previous)
        if seen.rule == RULE_PROCESSES:
            self._by_processes = seen
        self._current = seen

    def shares(self) -> dict[str, spans.Share]:
        """Each GPU's share now: the latest list naming our processes, else the fallback."""
        chosen = self._by_processes or self._current
        if chosen is None:
            chosen = attribute_gpus(self.gpu_ids, None, set(), self.environ)
        if self._decided is not None and self._decided[0] == chosen:
            return dict(self._decided[1])  # a tick of the same list: the same shares
        out = {}
        for dev in self.gpu_ids:
            rule = _SHARE_RULES.get(chosen.device_rules.get(dev, chosen.rule), spans.EXCLUSIVE)
            out[dev] = spans.Share(chosen.shares.get(dev, 0.0), rule)
        for dev, (ours, total) in self.mig.items():
            # The process list of a MIG GPU names every tenant's processes, and per-process
            # utilization is not available in MIG mode: the visible slices decide.
            out[dev] = spans.Share(ours / total, spans.MIG_SLICES)
        self._decided = (chosen, out)
        return dict(out)


class CpuTimeShare:
    """The process tree's share of the machine's busy CPU time, segment by segment.

    Args:
        read: Returns (job CPU s, machine busy CPU s).
        device_ids: The machine-wide counters it applies to.
    """

    def __init__(self, read: Callable[[], tuple[float, float]], device_ids: Sequence[str]) -> None:
        self._read = read
        self.device_ids = list(device_ids)
        self._last: tuple[float, float] | None = None
        self._fraction = 1.0

    def advance(self) -> None:
        """Read the counters: the share of the segment since the previous read."""
        try:
            now = self._read()
        except Exception:  # unreadable now: the previous segment's share stands
            return
        if self._last is not None:
            job_s = now[0] - self._last[0]
            machine_s = now[1] - self._last[1]
            if machine_s > 0:
                self._fraction = min(max(job_s / machine_s, 0.0), 1.0)
        self._last = now

    def shares(self) -> dict[str, spans.Share]:
        """The latest segment's share of each machine-wide counter."""
        share = spans.Share(self._fraction, spans.CPU_TIME)
        return dict.fromkeys(self.device_ids, share)
