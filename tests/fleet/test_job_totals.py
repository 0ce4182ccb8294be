"""A job's row from its ranks' parts: no joule counted twice (pure aggregation)."""

from __future__ import annotations

import pytest

from greenai.ledger.job_totals import job_record
from tests.fleet.parts import part


def aggregate(*records):
    parts = [r["run"] for r in records]
    devices = {r["run"]["id"]: r["devices"] for r in records}
    return job_record("job", parts, devices)


def two_nodes_two_ranks(**kw):
    # Local rank 0 of each node carries the node's CPU and DRAM; the other has none.
    return [
        part("job", 0, "a", [("gpu:0", "gpu", 1000.0, 1.0), ("cpu:package-0", "cpu", 300.0, 1.0),
                             ("dram:package-0", "dram", 40.0, 1.0)], **kw),
        part("job", 1, "a", [("gpu:1", "gpu", 1100.0, 1.0)], **kw),
        part("job", 2, "b", [("gpu:0", "gpu", 1200.0, 1.0), ("cpu:package-0", "cpu", 310.0, 1.0),
                             ("dram:package-0", "dram", 50.0, 1.0)], **kw),
        part("job", 3, "b", [("gpu:1", "gpu", 1300.0, 1.0)], **kw),
    ]  # fmt: skip


def test_gpu_energy_is_the_sum_of_the_ranks_devices_and_node_energy_once_per_node() -> None:
    job = aggregate(*two_nodes_two_ranks())
    run = job["run"]
    assert run["energy_gpu_j"] == 4600.0
    assert run["energy_cpu_j"] == 610.0 and run["energy_dram_j"] == 90.0
    assert run["energy_j"] == 5300.0 and run["measured_energy_j"] == 5300.0
    assert run["hosts"] == ["a", "b"] and run["world_size"] == 4
    assert run["status"] == "completed" and run["parent_run_id"] is None and run["rank"] is None
    assert run["tokens_output"] == 4000
    keys = {(d["host_id"], d["device_id"]) for d in job["devices"]}
    assert keys == {("a", "gpu:0"), ("a", "gpu:1"), ("b", "gpu:0"), ("b", "gpu:1"),
                    ("a", "cpu:package-0"), ("a", "dram:package-0"),
                    ("b", "cpu:package-0"), ("b", "dram:package-0")}  # fmt: skip
    assert run["energy_by_kind"]["gpu"] == {"energy_j": 4600.0, "method": "counter"}


def test_facility_energy_and_emissions_keep_each_ranks_own_factor() -> None:
    records = two_nodes_two_ranks()
    records[2] = part("job", 2, "b", [("gpu:0", "gpu", 1200.0, 1.0)], pue=1.5,
                      intensity_g_per_kwh=400.0)  # fmt: skip
    run = aggregate(*records)["run"]
    facility = 1340.0 + 1100.0 + 1200.0 * 1.5 + 1300.0
    assert run["facility_energy_j"] == pytest.approx(facility)
    emissions = (1340.0 + 1100.0 + 1300.0) / 3.6e6 * 0.1 + 1800.0 / 3.6e6 * 0.4
    assert run["emissions_kg"] == pytest.approx(emissions)
    assert run["pue"] == pytest.approx(facility / run["energy_j"])
    assert run["intensity_g_per_kwh"] == pytest.approx(emissions * 1000 / (facility / 3.6e6))


def test_a_gpu_charged_whole_to_two_ranks_is_counted_once_and_flagged() -> None:
    # Both ranks of host a fell back to every visible GPU: each was charged all of gpu:0.
    a0 = part("job", 0, "a", [("gpu:0", "gpu", 1000.0, 1.0)], world_size=2)
    a1 = part("job", 1, "a", [("gpu:0", "gpu", 1000.0, 1.0)], world_size=2)
    job = aggregate(a0, a1)
    assert job["run"]["energy_gpu_j"] == pytest.approx(1000.0)
    assert job["run"]["facility_energy_j"] == pytest.approx(1000.0)
    assert "ranks_shared_device:a/gpu:0" in job["run"]["flags"]
    (device,) = job["devices"]
    assert device["share"] == 1.0


def test_ranks_sharing_a_gpu_by_processes_add_up_without_scaling() -> None:
    a0 = part("job", 0, "a", [("gpu:0", "gpu", 500.0, 0.5)], world_size=2)
    a1 = part("job", 1, "a", [("gpu:0", "gpu", 480.0, 0.5)], world_size=2)
    run = aggregate(a0, a1)["run"]
    assert run["energy_gpu_j"] == 980.0
    assert not [f for f in run["flags"] if f.startswith("ranks_shared_device")]


def test_status_runs_while_a_part_runs_then_takes_the_worst_outcome() -> None:
    records = two_nodes_two_ranks()
    records[1] = part("job", 1, "a", [("gpu:1", "gpu", 600.0, 1.0)], status="interrupted",
                      end_s=30.0, error="KeyboardInterrupt: ")  # fmt: skip
    records[3] = part("job", 3, "b", [("gpu:1", "gpu", 700.0, 1.0)], status="running",
                      end_s=None)  # fmt: skip
    running = aggregate(*records)["run"]
    assert running["status"] == "running" and running["ended_at"] is None
    assert "rank_interrupted:1" in running["flags"]
    records[3] = part("job", 3, "b", [("gpu:1", "gpu", 1300.0, 1.0)], end_s=90.0)
    done = aggregate(*records)["run"]
    assert done["status"] == "interrupted"
    assert done["ended_at"] == records[3]["run"]["ended_at"]
    assert done["duration_s"] == 90.0
    assert done["error"] == "rank 1: KeyboardInterrupt: "
    assert done["energy_gpu_j"] == 1000.0 + 600.0 + 1200.0 + 1300.0


def test_missing_ranks_are_flagged_once_no_part_runs() -> None:
    records = two_nodes_two_ranks()[:3]
    assert "ranks_missing:1" in aggregate(*records)["run"]["flags"]


def test_metadata_comes_from_rank_0() -> None:
    records = two_nodes_two_ranks()
    records[0]["run"]["model"] = "lead-model"
    run = aggregate(*reversed(records))["run"]
    assert run["model"] == "lead-model" and run["host_id"] == "a"
