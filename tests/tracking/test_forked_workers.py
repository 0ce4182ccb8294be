"""Workers forked or spawned from a tracked job (multiprocessing's fork and spawn start
methods, DataLoader workers): a run started in one measures that worker, as a child of
the job's run."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import greenai
from greenai.tracking.spawned import ENV_ENCLOSING
from tests.fake_nvml.driver import FakeNvml, subprocess_env
from tests.tracking.helpers import burn_cpu, stored


def _worker(results: Any) -> None:
    with greenai.track(name="worker") as run:
        burn_cpu(0.3)
        time.sleep(1.2)
    gpu = [c.energy_j for c in run.charges() if c.device_id == "gpu:0"]
    results.put((run.id, run.parent_run_id, os.getpid(), run.duration_s, gpu))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_worker_measures_itself_as_a_child_of_the_job(
    fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    for gpu in (0, 1):
        fake_nvml.set_counter_supported(gpu, False)  # power only: needs the worker's sampler
    if method == "spawn":
        # A spawned worker is a fresh interpreter: it finds the fake library as a job's
        # subprocess would (at its defaults: counters), and the job's run through the
        # environment it starts with.
        env = subprocess_env(fake_nvml.path)
        for key in ("LD_LIBRARY_PATH", "PATH", "PYTHONPATH"):
            monkeypatch.setenv(key, env[key])
    ctx = multiprocessing.get_context(method)
    results = ctx.Queue()
    with greenai.track(name="job") as job:
        assert os.environ[ENV_ENCLOSING] == job.id
        worker = ctx.Process(target=_worker, args=(results,))
        worker.start()
        run_id, parent_id, pid, duration_s, gpu = results.get(timeout=120)
        worker.join(60)
    assert worker.exitcode == 0
    assert parent_id == job.id and pid != os.getpid()
    assert gpu and gpu[0] == pytest.approx(100.0 * duration_s, rel=0.03)  # its own sampler
    row = stored(run_id)["run"]
    assert row["parent_run_id"] == job.id
    assert row["status"] == "completed"
    assert "no_collector" not in row["flags"]
    assert row["energy_cpu_j"] > 0.0  # the worker's own CPU time, not the job's
    job_row = stored(job.id)["run"]
    assert job_row["status"] == "completed"  # the worker never wrote the job's record
    assert job_row["parent_run_id"] is None
    assert ENV_ENCLOSING not in os.environ  # the job stopped: processes started now are roots


def _plain_fork_child() -> None:
    with greenai.track(name="forked"):
        time.sleep(0.2)


def test_a_forked_child_that_exits_leaves_the_job_running(fake_nvml: FakeNvml) -> None:
    del fake_nvml
    with greenai.track(name="job") as job:
        pid = os.fork()
        if pid == 0:  # the child: its exit must not finish the job's run
            try:
                _plain_fork_child()
                greenai_flush()
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        greenai_flush()
        assert stored(job.id)["run"]["status"] == "running"
    from greenai.ledger import Ledger

    with Ledger.open() as ledger:
        children = [r for r in ledger.list_runs(limit=10) if r["parent_run_id"] == job.id]
    assert [r["name"] for r in children] == ["forked"]


def greenai_flush() -> None:
    from greenai.tracking.writer import flush_all

    flush_all(10.0)


def test_the_environment_names_the_latest_run_still_active() -> None:
    with greenai.track(name="outer") as outer:
        with greenai.track(name="child"):  # nested in this process: not announced
            assert os.environ[ENV_ENCLOSING] == outer.id
        started: list[greenai.Run] = []
        thread = threading.Thread(target=lambda: started.append(greenai.start(name="second")))
        thread.start()  # another thread's run: a root of its own
        thread.join()
        (second,) = started
        assert second.parent_run_id is None
        assert os.environ[ENV_ENCLOSING] == second.id
    assert os.environ[ENV_ENCLOSING] == second.id  # outer stopped, second still runs
    second.stop()
    assert ENV_ENCLOSING not in os.environ


def test_a_ranks_spawned_workers_nest_under_its_part(monkeypatch: pytest.MonkeyPatch) -> None:
    # A torchrun rank's DataLoader workers started with spawn: children of the rank's
    # part (whose process tree holds them), not roots beside the job.
    torchrun = {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}
    for key, value in {**torchrun, "TORCHELASTIC_RUN_ID": "job-7"}.items():
        monkeypatch.setenv(key, value)
    with greenai.track(name="rank") as part:
        assert part.parent_run_id is not None  # a part of the job
        assert os.environ[ENV_ENCLOSING] == part.id
    assert ENV_ENCLOSING not in os.environ


def test_a_fork_waits_for_the_write_in_flight(tmp_path: Path) -> None:
    # A writer thread inside SQLite at the fork leaves SQLite's own mutexes locked in the
    # child, which then hangs on its first ledger access: fork waits for the write.
    from greenai.tracking.writer import get_writer

    writer = get_writer(f"sqlite:///{tmp_path / 'l.db'}", tmp_path)
    marker = tmp_path / "written"
    started = threading.Event()

    def slow_write(_sink: Any) -> None:
        started.set()
        time.sleep(0.5)
        marker.write_text("done")

    writer.call(slow_write, wait_s=None)
    assert started.wait(30)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if marker.exists() else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
