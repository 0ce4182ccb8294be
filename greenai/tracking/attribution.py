"""Which devices a run is charged for, and what share of each.

GPUs are charged by actual use: the devices where a process of the job's process tree
holds a compute context (NVML's running-process list). Where NVML cannot tell (no
process of ours listed, as in containers that see host PIDs), the device of the job's
``LOCAL_RANK`` among the visible devices, else every visible device. Several processes
on one GPU share its energy equally. The rule applied is recorded on the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from collectors.types import GpuProcess

RULE_PROCESSES = "compute-processes"
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
    """

    rule: str
    shares: Mapping[str, float]


def process_tree_pids(pid: int) -> set[int]:
    """The pid and every live descendant's pid."""
    import psutil

    try:
        root = psutil.Process(pid)
        return {pid} | {child.pid for child in root.children(recursive=True)}
    except (psutil.Error, OSError):
        return {pid}


def attribute_gpus(
    gpu_ids: Sequence[str],
    processes: Iterable[GpuProcess] | None,
    our_pids: set[int],
    environ: Mapping[str, str] = os.environ,
) -> GpuAttribution:
    """Decide which GPUs to charge.

    Args:
        gpu_ids: The visible GPUs' device ids, in CUDA order.
        processes: Compute processes per device from NVML, or None when NVML cannot list them.
        our_pids: The job's process tree.
        environ: Environment with ``LOCAL_RANK`` where a launcher set it.
    """
    if not gpu_ids:
        return GpuAttribution(RULE_NONE, {})
    by_device: dict[str, set[int]] = {}
    for proc in processes or ():
        by_device.setdefault(proc.device_id, set()).add(proc.pid)
    used = {dev: pids for dev, pids in by_device.items() if pids & our_pids}
    if used:
        shares = {}
        for dev in gpu_ids:
            pids = used.get(dev)
            if pids:
                foreign = len(pids - our_pids)
                shares[dev] = 1.0 / (1 + foreign)
            else:
                shares[dev] = 0.0
        return GpuAttribution(RULE_PROCESSES, shares)
    local_rank = environ.get("LOCAL_RANK", "")
    if local_rank.isdigit() and int(local_rank) < len(gpu_ids):
        chosen = gpu_ids[int(local_rank)]
        return GpuAttribution(RULE_LOCAL_RANK, {d: float(d == chosen) for d in gpu_ids})
    return GpuAttribution(RULE_VISIBLE, dict.fromkeys(gpu_ids, 1.0))
