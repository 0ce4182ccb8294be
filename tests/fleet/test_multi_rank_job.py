"""A simulated job of 2 nodes x 2 ranks (4 processes with distinct host ids) is one run:
GPU energy is the sum of the 4 ranks' own devices, node-level energy counts once per
node; a rank that dies marks its part interrupted while the others carry on.

The ranks run the real tracking code against the fake NVML library (manual time, so each
GPU's energy is exact) and a fake RAPL tree per node (the test moves its counters while
the runs are open, so the node's CPU and DRAM energy is exact too).
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from greenai.ledger import Ledger
from tests.collectors.powercap_tree import server_tree
from tests.fleet.launch import finish, rank_env, start_rank, wait_for

NODES = ("node-a", "node-b")
CPU_UJ = {"node-a": 5_000_000, "node-b": 7_000_000}
DRAM_UJ = {"node-a": 1_000_000, "node-b": 2_000_000}


def _stored(url: str, run_id: str) -> bool:
    if not Path(url.removeprefix("sqlite:///")).exists():
        return False
    with Ledger.open(url) as ledger:
        return ledger.get_run(run_id) is not None


def _power_w(rank: int, device: int) -> float:
    return 100.0 * (rank + 1) + 10.0 * device


def test_two_nodes_two_ranks_make_one_run_counted_once(
    fake_nvml_library: Path, tmp_path: Path, ledger_url: str
) -> None:
    trees = {host: server_tree(tmp_path / host) for host in NODES}
    processes = {}
    for rank in range(4):
        host, local = NODES[rank // 2], rank % 2
        extra = {
            "GREENAI_MODE": "machine",
            "GREENAI_POWERCAP_ROOT": str(trees[host].root),
            "TEST_MANUAL_TIME": "1",
            "TEST_SECONDS": str(10.0 * (rank + 1)),
            **{f"TEST_POWER_W_{i}": str(_power_w(rank, i)) for i in range(2)},
        }
        env = rank_env(fake_nvml_library, job="j42", rank=rank, world_size=4, local_rank=local,
                       local_world_size=2, host=host, db_url=ledger_url, extra=extra)  # fmt: skip
        processes[rank] = start_rank(tmp_path, env)
    wait_for(lambda: all((tmp_path / f"ready-{r}").exists() for r in range(4)), "4 ranks")
    for host, tree in trees.items():  # the node draws energy while every rank runs
        tree.advance("intel-rapl:0", CPU_UJ[host])
        tree.advance("intel-rapl:0:1", DRAM_UJ[host])
    (tmp_path / "go").touch()
    results = {rank: finish(p) for rank, p in processes.items()}
    for rank, (code, _out, err) in results.items():
        assert code == 0, f"rank {rank}: {err[-2000:]}"
        assert "greenai" not in err, f"rank {rank}: {err[-2000:]}"  # nothing went wrong

    with Ledger.open(ledger_url) as ledger:
        job = ledger.get_run("torchelastic-j42")
        parts = {r: ledger.get_run(f"torchelastic-j42/rank{r}") for r in range(4)}
        roots = ledger.list_runs(root_only=True)
    assert job is not None and all(p is not None for p in parts.values())
    assert [r["id"] for r in roots] == ["torchelastic-j42"]  # one run for the whole job
    run = job["run"]
    gpu_exact = sum(_power_w(r, r % 2) * 10.0 * (r + 1) for r in range(4))
    assert run["energy_gpu_j"] == pytest.approx(gpu_exact, abs=0.01)
    assert run["energy_cpu_j"] == pytest.approx(sum(CPU_UJ.values()) / 1e6, abs=1e-6)
    assert run["energy_dram_j"] == pytest.approx(sum(DRAM_UJ.values()) / 1e6, abs=1e-6)
    assert run["hosts"] == list(NODES) and run["world_size"] == 4
    assert run["status"] == "completed" and run["tokens_output"] == 400
    gpus = sorted((d["host_id"], d["device_id"]) for d in job["devices"]
                  if d["kind"] == "gpu" and d["share"] > 0)  # fmt: skip
    assert gpus == [("node-a", "gpu:0"), ("node-a", "gpu:1"), ("node-b", "gpu:0"),
                    ("node-b", "gpu:1")]  # fmt: skip
    for rank, record in parts.items():
        assert record is not None
        part = record["run"]
        assert part["parent_run_id"] == "torchelastic-j42" and part["rank"] == rank
        assert part["host_id"] == NODES[rank // 2] and part["attribution"] == "local-rank"
        if rank % 2:  # local rank 1: the node's CPU and DRAM are on local rank 0
            assert part["energy_cpu_j"] == 0.0 and part["energy_dram_j"] == 0.0
            assert "node_energy_on_local_rank_0" in part["flags"]
        else:
            assert part["energy_cpu_j"] == pytest.approx(CPU_UJ[part["host_id"]] / 1e6)
    printed = json.loads(results[0][1].strip().splitlines()[-1])
    assert printed["id"] == "torchelastic-j42/rank0"


def test_a_rank_killed_by_sigterm_leaves_its_part_interrupted_and_the_job_goes_on(
    fake_nvml_library: Path, tmp_path: Path, ledger_url: str
) -> None:
    processes = {}
    for rank in range(2):
        extra = {"TEST_MANUAL_TIME": "1", "TEST_SECONDS": "20"}
        env = rank_env(fake_nvml_library, job="j7", rank=rank, world_size=2, local_rank=rank,
                       local_world_size=2, host="a", db_url=ledger_url, extra=extra)  # fmt: skip
        processes[rank] = start_rank(tmp_path, env)
    wait_for(lambda: all((tmp_path / f"ready-{r}").exists() for r in range(2)), "2 ranks")
    wait_for(lambda: _stored(ledger_url, "torchelastic-j7/rank0"), "rank 0's part")
    processes[1].send_signal(signal.SIGTERM)
    code, _out, _err = finish(processes[1])
    assert code == -signal.SIGTERM
    with Ledger.open(ledger_url) as ledger:
        during = ledger.get_run("torchelastic-j7")
        dead = ledger.get_run("torchelastic-j7/rank1")
    assert dead is not None and dead["run"]["status"] == "interrupted"
    assert during is not None and during["run"]["status"] == "running"
    assert "rank_interrupted:1" in during["run"]["flags"]

    (tmp_path / "go").touch()
    code, _out, err = finish(processes[0])
    assert code == 0, err[-2000:]
    with Ledger.open(ledger_url) as ledger:
        job = ledger.get_run("torchelastic-j7")
        alive = ledger.get_run("torchelastic-j7/rank0")
    assert alive is not None and alive["run"]["status"] == "completed"
    assert job is not None and job["run"]["status"] == "interrupted"
    assert job["run"]["energy_gpu_j"] == pytest.approx(100.0 * 20.0, abs=0.01)  # rank 0's GPU
