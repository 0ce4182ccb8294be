"""GPU attribution rules: compute processes, else LOCAL_RANK, else visible devices."""

from __future__ import annotations

import os

from collectors.types import GpuProcess
from greenai.tracking.attribution import (
    RULE_LOCAL_RANK,
    RULE_PROCESSES,
    RULE_VISIBLE,
    attribute_gpus,
    process_tree_pids,
)
from greenai.tracking.shares import GpuWatch
from greenai.tracking.spans import (
    LOCAL_RANK,
    PROCESS_LIST,
    PROCESS_UTILIZATION,
    VISIBLE_DEVICES,
    Share,
)

GPUS = ["gpu:0", "gpu:1", "gpu:2"]


def test_devices_with_our_compute_contexts_are_charged_shared_with_foreign_ones() -> None:
    procs = [GpuProcess(100, "gpu:1"), GpuProcess(101, "gpu:1"), GpuProcess(200, "gpu:2")]
    result = attribute_gpus(GPUS, procs, our_pids={100}, environ={})
    assert result.rule == RULE_PROCESSES
    assert result.shares == {"gpu:0": 0.0, "gpu:1": 0.5, "gpu:2": 0.0}


def test_container_host_pids_fall_back_to_local_rank_then_visible() -> None:
    procs = [GpuProcess(99999, "gpu:0")]  # a host PID we cannot match
    ranked = attribute_gpus(GPUS, procs, our_pids={5}, environ={"LOCAL_RANK": "2"})
    assert ranked.rule == RULE_LOCAL_RANK
    assert ranked.shares == {"gpu:0": 0.0, "gpu:1": 0.0, "gpu:2": 1.0}
    visible = attribute_gpus(GPUS, None, our_pids={5}, environ={})
    assert visible.rule == RULE_VISIBLE and set(visible.shares.values()) == {1.0}


def test_the_watch_follows_the_process_list_and_keeps_the_last_one_naming_us() -> None:
    walks = []

    def tree(pid: int) -> set[int]:
        walks.append(pid)
        return {1, 2}

    watch = GpuWatch(GPUS, pid=1, tree=tree)
    assert not watch.known
    watch.environ = {"LOCAL_RANK": "1"}
    assert watch.shares()["gpu:1"] == Share(1.0, LOCAL_RANK)  # nothing listed yet
    watch.observe([GpuProcess(2, "gpu:0"), GpuProcess(9, "gpu:0")])
    assert watch.shares() == {
        "gpu:0": Share(0.5, PROCESS_LIST),
        "gpu:1": Share(0.0, PROCESS_LIST),
        "gpu:2": Share(0.0, PROCESS_LIST),
    }
    watch.observe([GpuProcess(9, "gpu:0"), GpuProcess(2, "gpu:0")])
    assert len(walks) == 1  # the same pids: the process tree is not walked again
    watch.observe([GpuProcess(9, "gpu:0")])  # our child exited
    assert watch.shares()["gpu:0"] == Share(0.5, PROCESS_LIST)  # the last list naming us
    assert len(walks) == 2
    unlisted = GpuWatch(GPUS, pid=1, tree=tree)
    unlisted.environ = {}
    unlisted.observe(None)
    assert set(unlisted.shares().values()) == {Share(1.0, VISIBLE_DEVICES)}


def test_the_watch_splits_by_sm_utilization_afresh_at_every_list() -> None:
    walks = []

    def tree(pid: int) -> set[int]:
        walks.append(pid)
        return {1, 2}

    def listed(ours: float | None, theirs: float | None) -> list[GpuProcess]:
        return [GpuProcess(2, "gpu:0", sm_util_percent=ours), GpuProcess(9, "gpu:0", None, theirs)]

    watch = GpuWatch(GPUS, pid=1, tree=tree)
    watch.observe([GpuProcess(2, "gpu:0", sm_util_percent=60.0)])
    assert watch.shares()["gpu:0"] == Share(1.0, PROCESS_LIST)  # ours alone: nothing to split
    walks.clear()
    watch.observe(listed(60.0, 20.0))
    assert watch.shares()["gpu:0"] == Share(0.75, PROCESS_UTILIZATION)
    assert watch.shares()["gpu:1"] == Share(0.0, PROCESS_LIST)
    watch.observe(listed(10.0, 30.0))  # the same pids: a new split, no new tree walk
    assert watch.shares()["gpu:0"] == Share(0.25, PROCESS_UTILIZATION)
    assert len(walks) == 1
    watch.observe(listed(None, None))  # no sample since: the last split stands
    assert watch.shares()["gpu:0"] == Share(0.25, PROCESS_UTILIZATION)
    watch.observe(listed(None, 30.0))  # no sample of ours: idle
    assert watch.shares()["gpu:0"] == Share(0.0, PROCESS_UTILIZATION)
    watch.observe([*listed(None, None), GpuProcess(7, "gpu:0")])  # new pids, no sample
    assert watch.shares()["gpu:0"] == Share(1 / 3, PROCESS_LIST)
    watch.observe(listed(0.0, 0.0))  # everyone idle: by process count
    assert watch.shares()["gpu:0"] == Share(0.5, PROCESS_LIST)
    watch.observe(listed(None, None))
    assert watch.shares()["gpu:0"] == Share(0.5, PROCESS_LIST)


def test_process_tree_includes_children() -> None:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        assert {os.getpid(), child.pid} <= process_tree_pids(os.getpid())
    finally:
        child.kill()
        child.wait()
