"""Signals reaching a tracked job: it ends as it would without greenai, and its run says how.

Real signals need real processes: each job is a subprocess whose run the test reads
back from the SQLite ledger. Where a job must be caught inside a sampler read, its hub
reads a :class:`~tests.collectors.test_sampler_hang.BlockingCollector` (the
"mid-snapshot" seam), installed where ``greenai.track`` looks for the hub of its
settings.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import greenai
from greenai.tracking import flags as fl
from tests.tracking.helpers import stored

NO_HANG_S = 20.0  # generous: only "did it hang?", never how fast
START_S = 120.0  # a cold start may build the emission-factor table

PRELUDE = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    from pathlib import Path

    import greenai
    from collectors.discover import Discovery
    from greenai.config import load_settings
    from greenai.tracking import hub as hub_module
    from greenai.tracking.hub import Hub
    from greenai.tracking.lifecycle import hub_key
    from tests.collectors.test_sampler_hang import BlockingCollector

    OUT = Path(sys.argv[1])
    SEAM = {"cpu_tdp_w": 321.0}  # runs with these settings are measured by the seam's hub
    collector = BlockingCollector(marker=OUT / "blocked")
    hub = Hub(hub_key(load_settings(SEAM)), Discovery([collector], []))
    hub_module._HUBS[hub.key] = hub


    def ready(run):
        (OUT / "run_id.tmp").write_text(run.id)
        (OUT / "run_id.tmp").rename(OUT / "run_id")
    """
)


def spawn(job: str, out: Path) -> subprocess.Popen[str]:
    out.mkdir(exist_ok=True)
    script = PRELUDE + textwrap.dedent(job)
    return subprocess.Popen(
        [sys.executable, "-c", script, str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_S
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the job ended before {path.name}: rc={proc.returncode}\n{out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no {path.name} from the job")
        time.sleep(0.02)


def ended(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """The job's return code and stderr; fails the test if it is still alive."""
    try:
        _out, err = proc.communicate(timeout=NO_HANG_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
        pytest.fail(f"the job was still alive {NO_HANG_S:.0f} s after the signal\n{err}")
    return proc.returncode, err


def run_id(out: Path) -> str:
    return (out / "run_id").read_text()


WINDOW_LOOP = """
with greenai.track(model="windows", **SEAM) as run:
    ready(run)
    for step in range(10**9):
        if step == 50:
            collector.arm("MainThread")  # the 51st window's start snapshot blocks
        with run.window("step"):
            run.add_tokens(output=1)
"""


@pytest.mark.parametrize("signals", [1, 2], ids=["once", "twice"])
def test_sigterm_while_the_main_thread_is_inside_a_snapshot(tmp_path: Path, signals: int) -> None:
    out = tmp_path / "job"
    proc = spawn(WINDOW_LOOP, out)
    wait_for(out / "blocked", proc)
    for _ in range(signals):
        proc.send_signal(signal.SIGTERM)
    code, err = ended(proc)
    assert code == -signal.SIGTERM, err
    row = stored(run_id(out))["run"]
    assert row["status"] == "interrupted"
    assert fl.INTERRUPTED in row["flags"]
    assert fl.LAST_SNAPSHOT in row["flags"]  # its end is the last snapshot's, and says so
    assert "SIGTERM" in row["error"] and row["exit_code"] == -signal.SIGTERM
    assert row["tokens_output"] == 50 and row["energy_j"] > 0


def test_sigterm_while_a_driver_read_hangs_in_the_sampler_thread(tmp_path: Path) -> None:
    out = tmp_path / "job"
    job = """
    with greenai.track(model="driver", **SEAM) as run:
        ready(run)
        collector.arm("greenai-sampler")  # its next series tick never returns
        while True:
            time.sleep(0.02)
            run.add_tokens(output=1)
    """
    proc = spawn(job, out)
    wait_for(out / "blocked", proc)
    proc.send_signal(signal.SIGTERM)
    code, err = ended(proc)
    assert code == -signal.SIGTERM, err
    row = stored(run_id(out))["run"]
    assert row["status"] == "interrupted"
    assert fl.LAST_SNAPSHOT in row["flags"]
    assert row["tokens_output"] > 0


def test_sigterm_in_a_loop_of_windows_never_hangs(tmp_path: Path) -> None:
    # The users' report: 5 of 6 such jobs were still alive 6 s after SIGTERM. The real
    # collectors of this machine; the signal lands wherever the loop happens to be.
    job = """
    with greenai.track(model="loop") as run:
        ready(run)
        while True:
            with run.window("step"):
                run.add_tokens(output=1)
    """
    for trial in range(4):
        out = tmp_path / f"job{trial}"
        proc = spawn(job, out)
        wait_for(out / "run_id", proc)
        time.sleep(random.uniform(0.05, 0.5))
        proc.send_signal(signal.SIGTERM)
        code, err = ended(proc)
        assert code == -signal.SIGTERM, err
        row = stored(run_id(out))["run"]
        assert row["status"] == "interrupted" and "SIGTERM" in row["error"]


def test_the_jobs_own_sigterm_handler_comes_first_and_the_run_goes_on(tmp_path: Path) -> None:
    out = tmp_path / "job"
    job = """
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))  # finish the epoch, then stop
    with greenai.track(model="epoch") as run:
        ready(run)
        while not stop:
            run.add_tokens(output=1)
            time.sleep(0.01)
        time.sleep(0.3)  # the epoch's last seconds
        run.add_tokens(output=1000)
    print("epoch saved", flush=True)
    """
    proc = spawn(job, out)
    wait_for(out / "run_id", proc)
    proc.send_signal(signal.SIGTERM)
    code, err = ended(proc)
    assert code == 0, err
    assert "after the run stopped" not in err  # no late-update warning
    row = stored(run_id(out))["run"]
    assert row["status"] == "completed"
    assert fl.SIGNAL_RECEIVED in row["flags"] and fl.INTERRUPTED not in row["flags"]
    assert row["tokens_output"] >= 1000


def test_a_job_handler_that_exits_ends_the_run_with_its_exit_code(tmp_path: Path) -> None:
    out = tmp_path / "job"
    job = """
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with greenai.track(model="exits") as run:
        ready(run)
        time.sleep(60)
    """
    proc = spawn(job, out)
    wait_for(out / "run_id", proc)
    proc.send_signal(signal.SIGTERM)
    code, err = ended(proc)
    assert code == 143, err
    row = stored(run_id(out))["run"]
    assert (row["status"], row["exit_code"]) == ("failed", 143)
    assert fl.SIGNAL_RECEIVED in row["flags"]


def test_an_ignored_sighup_stays_ignored(tmp_path: Path) -> None:
    # nohup: SIGHUP is ignored, and so it stays for the job and the programs it starts.
    out = tmp_path / "job"
    job = """
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    with greenai.track(model="nohup") as run:
        ready(run)
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGHUP)
        time.sleep(0.2)
        run.add_tokens(output=7)
    """
    proc = spawn(job, out)
    code, err = ended(proc)
    assert code == 0, err
    row = stored(run_id(out))["run"]
    assert row["status"] == "completed" and row["tokens_output"] == 7


def test_sigint_is_interrupted_with_the_signal_named(tmp_path: Path) -> None:
    out = tmp_path / "job"
    job = """
    with greenai.track(model="ctrl-c") as run:
        ready(run)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(60)
    """
    proc = spawn(job, out)
    code, err = ended(proc)
    assert code == -signal.SIGINT, err  # how Python ends on an uncaught KeyboardInterrupt
    row = stored(run_id(out))["run"]
    assert row["status"] == "interrupted" and "SIGINT" in row["error"]


@pytest.mark.parametrize(
    ("code", "status", "exit_code"),
    [(0, "completed", 0), (None, "completed", 0), (3, "failed", 3), ("bad input", "failed", 1)],
)
def test_system_exit_inside_track(code: str | int | None, status: str, exit_code: int) -> None:
    with pytest.raises(SystemExit), greenai.track(model="exit") as run:
        sys.exit(code)
    row = stored(run.id)["run"]
    assert (row["status"], row["exit_code"]) == (status, exit_code)
    assert fl.INTERRUPTED not in row["flags"]


def test_system_exit_zero_from_a_decorated_function_is_completed() -> None:
    @greenai.track(model="cli-main")
    def main() -> None:
        sys.exit(0)

    with pytest.raises(SystemExit):
        main()
    row = greenai_last_run()
    assert (row["status"], row["exit_code"], row["error"]) == ("completed", 0, None)


def greenai_last_run() -> dict[str, Any]:
    from greenai.ledger import Ledger

    with Ledger.open() as ledger:
        return ledger.list_runs(limit=1)[0]
