"""GPU attribution rules: compute processes, else LOCAL_RANK, else visible devices."""

from __future__ import annotations

import os

from collectors.types import GpuProcess
from greenai.tracking.attribution import (
    RULE_LOCAL_RANK,
    RULE_PROCESSES,
    RULE_VISIBLE,
    attribute_gpus,
    merge_attributions,
    process_tree_pids,
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


def test_devices_used_at_any_time_of_the_run_count() -> None:
    first = attribute_gpus(GPUS, [GpuProcess(1, "gpu:0")], {1}, {})
    later = attribute_gpus(GPUS, [GpuProcess(1, "gpu:2")], {1}, {})
    merged = merge_attributions(first, later)
    assert merged.shares["gpu:0"] == 1.0 and merged.shares["gpu:2"] == 1.0
    fallback = attribute_gpus(GPUS, None, {1}, {})
    assert merge_attributions(merged, fallback).rule == RULE_PROCESSES


def test_process_tree_includes_children() -> None:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        assert {os.getpid(), child.pid} <= process_tree_pids(os.getpid())
    finally:
        child.kill()
        child.wait()
