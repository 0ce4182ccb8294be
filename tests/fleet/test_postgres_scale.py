"""Many processes write one PostgreSQL ledger at once: no run lost, totals exact.

8 processes x 50 runs in parallel, as plain runs and as the 8 ranks of 50 jobs (each
part written twice: running, then completed). Energies are binary fractions, so sums
are exact in floating point and compared with ``==``. No timing asserts.
"""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from greenai.ledger import Ledger, schema, upgrade
from greenai.ledger.ranks import save_part
from tests.fleet.parts import part

pytestmark = pytest.mark.postgres

PROCESSES = 8
RUNS = 50
HOSTS = 4
_CTX = multiprocessing.get_context("fork")
T0 = datetime(2026, 6, 1, tzinfo=UTC)


def _gpu_j(job: int, rank: int) -> float:
    return 1000.0 * job + 10.0 * rank + 0.25


def _cpu_j(job: int, rank: int) -> float:
    return 100.0 + job + 0.5 if rank % 2 == 0 else 0.0  # local rank 0 of each host


def _plain_runs(url: str, worker: int, barrier: Any, errors: Any) -> None:
    try:
        with Ledger.open(url) as ledger:
            barrier.wait()
            for i in range(RUNS):
                run_id = f"w{worker}-r{i}"
                ledger.save_run(
                    {
                        "run": {
                            "id": run_id,
                            "status": "completed",
                            "started_at": T0 + timedelta(seconds=i),
                            "energy_j": _gpu_j(i, worker),
                            "host_id": f"h{worker % HOSTS}",
                        },
                        "devices": [
                            {
                                "device_id": "gpu:0",
                                "kind": "gpu",
                                "method": "counter",
                                "energy_j": _gpu_j(i, worker),
                            }
                        ],
                    }
                )
                ledger.add_series([{"run_id": run_id, "device_id": "gpu:0", "tier": "1s",
                                    "ts": T0, "power_w": 1.0}])  # fmt: skip
    except BaseException as exc:
        errors.put(f"worker {worker}: {type(exc).__name__}: {exc}")
        raise


def _rank_parts(url: str, rank: int, barrier: Any, errors: Any) -> None:
    host = f"h{rank // 2}"
    try:
        with Ledger.open(url) as ledger:
            barrier.wait()
            for job in range(RUNS):
                devices = [(f"gpu:{rank % 2}", "gpu", _gpu_j(job, rank), 1.0)]
                if _cpu_j(job, rank):
                    devices.append(("cpu:package-0", "cpu", _cpu_j(job, rank), 1.0))
                halves = [(d, k, e / 2, s) for d, k, e, s in devices]
                running = part(f"job-{job}", rank, host, halves, status="running", end_s=None,
                               world_size=PROCESSES)  # fmt: skip
                save_part(ledger, running)
                save_part(ledger, part(f"job-{job}", rank, host, devices, world_size=PROCESSES))
    except BaseException as exc:
        errors.put(f"rank {rank}: {type(exc).__name__}: {exc}")
        raise


def _run_all(target: Any, url: str) -> None:
    barrier = _CTX.Barrier(PROCESSES)
    errors = _CTX.Queue()
    processes = [
        _CTX.Process(target=target, args=(url, n, barrier, errors)) for n in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=240)
    alive = [p for p in processes if p.is_alive()]
    for process in alive:
        process.kill()
        process.join()
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert not alive and not found, found
    assert all(p.exitcode == 0 for p in processes)


def test_eight_processes_fifty_runs_each_nothing_lost(pg_url: str) -> None:
    upgrade(pg_url)
    _run_all(_plain_runs, pg_url)
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        runs = conn.execute(sa.select(sa.func.count(), sa.func.sum(schema.runs.c.energy_j))).one()
        devices = conn.execute(sa.select(sa.func.count()).select_from(schema.run_devices)).scalar()
        series = conn.execute(sa.select(sa.func.count()).select_from(schema.series)).scalar()
    engine.dispose()
    expected = sum(_gpu_j(i, w) for i in range(RUNS) for w in range(PROCESSES))
    assert (
        runs[0] == PROCESSES * RUNS and devices == PROCESSES * RUNS and series == PROCESSES * RUNS
    )
    assert runs[1] == expected


def test_eight_ranks_of_fifty_jobs_write_at_once_and_every_job_adds_up(pg_url: str) -> None:
    upgrade(pg_url)
    _run_all(_rank_parts, pg_url)
    with Ledger.open(pg_url) as ledger:
        jobs = ledger.list_runs(limit=1000, root_only=True)
        parts = [r for r in ledger.list_runs(limit=1000) if r["rank"] is not None]
    assert len(jobs) == RUNS and len(parts) == PROCESSES * RUNS
    for job in jobs:
        n = int(job["id"].split("-")[1])
        gpu = sum(_gpu_j(n, r) for r in range(PROCESSES))
        cpu = sum(_cpu_j(n, r) for r in range(PROCESSES))
        assert job["status"] == "completed", job["id"]
        assert job["energy_gpu_j"] == gpu and job["energy_cpu_j"] == cpu, job["id"]
        assert job["energy_j"] == gpu + cpu
        assert job["hosts"] == [f"h{i}" for i in range(HOSTS)]
        assert job["world_size"] == PROCESSES and job["tokens_output"] == 1000 * PROCESSES
