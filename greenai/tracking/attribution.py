"""Which devices a run is charged for, and what share of each.

GPUs are charged by actual use: the devices where a process of the job's process tree
holds a compute context (NVML's running-process list). Where NVML cannot tell (no
process of ours listed, as in containers that see host PIDs), the device of the job's
``LOCAL_RANK`` among the visible devices, else every visible device. A GPU shared with
foreign processes is split by the processes' SM utilization where NVML samples it per
process (rule process-utilization), else equally among them. The rule applied is
recorded on the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from collectors.types import GpuProcess

RULE_PROCESSES = "compute-processes"
RULE_UTILIZATION = "process-utilization"
RULE_LOCAL_RANK = "local-rank"
RULE_VISIBLE = "visible-devices"
RULE_MIG = "mig-slices"
RULE_NONE = "none"


@dataclass(frozen=True, slots=True)
class GpuAttribution:
    """The GPUs charged to a run.

    Attributes:
        rule: compute-processes, local-rank, visible-devices or none.
        shares: GPU device id -> share of its energy charged (0..1); absent GPUs get 0.
        device_rules: GPU device id -> its own rule where it is not ``rule``: a GPU of a
            compute-processes attribution split by its processes' SM utilization
            (process-utilization).
    """

    rule: str
    shares: Mapping[str, float]
    device_rules: Mapping[str, str] = field(default_factory=dict)


def process_tree_pids(pid: int) -> set[int]:
    """The pid and every live descendant's pid."""
    import psutil

    try:
        root = psutil.Process(pid)
        return {pid} | {child.pid for child in root.children(recursive=True)}
    except (psutil.Error, OSError):
        return {pid}


def utilization_split(sm_util: Mapping[int, float | None], our_pids: set[int]) -> float | None:
    """Our processes' share of one GPU's SM utilization, 0..1.

    Args:
        sm_util: Pid -> mean SM utilization over the segment, % (None: no sample of it,
            counted as idle when other processes were sampled).
        our_pids: The job's process tree.

    Returns:
        The share, or None when no process was sampled or all were idle.
    """
    total = sum(v for v in sm_util.values() if v is not None)
    if total <= 0.0:
        return None
    ours = sum(v for pid, v in sm_util.items() if v is not None and pid in our_pids)
    return ours / total


def attribute_gpus(
    gpu_ids: Sequence[str],
    processes: Iterable[GpuProcess] | None,
    our_pids: set[int],
    environ: Mapping[str, str] = os.environ,
    previous: GpuAttribution | None = None,
) -> GpuAttribution:
    """Decide which GPUs to charge.

    Args:
        gpu_ids: The visible GPUs' device ids, in CUDA order.
        processes: Compute processes per device from NVML, or None when NVML cannot list them.
        our_pids: The job's process tree.
        environ: Environment with ``LOCAL_RANK`` where a launcher set it.
        previous: The attribution of the previous list of the same processes: a GPU split
            by utilization keeps that split while NVML has no new sample of any of them.
    """
    if not gpu_ids:
        return GpuAttribution(RULE_NONE, {})
    by_device: dict[str, dict[int, float | None]] = {}
    for proc in processes or ():
        by_device.setdefault(proc.device_id, {}).setdefault(proc.pid, proc.sm_util_percent)
    used = {dev: pids for dev, pids in by_device.items() if pids.keys() & our_pids}
    if used:
        return _by_processes(gpu_ids, used, our_pids, previous)
    local_rank = environ.get("LOCAL_RANK", "")
    if local_rank.isdigit() and int(local_rank) < len(gpu_ids):
        chosen = gpu_ids[int(local_rank)]
        return GpuAttribution(RULE_LOCAL_RANK, {d: float(d == chosen) for d in gpu_ids})
    return GpuAttribution(RULE_VISIBLE, dict.fromkeys(gpu_ids, 1.0))


def _by_processes(
    gpu_ids: Sequence[str],
    used: Mapping[str, Mapping[int, float | None]],
    our_pids: set[int],
    previous: GpuAttribution | None,
) -> GpuAttribution:
    """Shares of the GPUs our processes use: a GPU shared with foreign processes by SM
    utilization, else by process count (a GPU that is ours alone: all of it)."""
    shares: dict[str, float] = {}
    rules: dict[str, str] = {}
    for dev in gpu_ids:
        sm_util = used.get(dev)
        if not sm_util:
            shares[dev] = 0.0
            continue
        foreign = len(sm_util.keys() - our_pids)
        split = _shared_split(dev, sm_util, our_pids, previous) if foreign else None
        if split is not None:
            shares[dev] = split
            rules[dev] = RULE_UTILIZATION
        else:
            shares[dev] = 1.0 / (1 + foreign)
    return GpuAttribution(RULE_PROCESSES, shares, rules)


def _shared_split(
    dev: str,
    sm_util: Mapping[int, float | None],
    our_pids: set[int],
    previous: GpuAttribution | None,
) -> float | None:
    """A shared GPU's utilization split; while no process on it has a new sample, the
    previous list's utilization split; None: split by process count."""
    split = utilization_split(sm_util, our_pids)
    if split is not None or any(v is not None for v in sm_util.values()):
        return split
    if previous is not None and previous.device_rules.get(dev) == RULE_UTILIZATION:
        return previous.shares.get(dev)
    return None
