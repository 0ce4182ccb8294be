"""``greenai run`` and signals: the child gets each signal once, dies with its parent, and
its run says how it ended.

Each test starts ``greenai run`` as the leader of a new process group (as a shell does
for a job), so the test can signal the group the way a terminal does.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from greenai.ledger import Ledger

GREENAI = [sys.executable, "-m", "greenai.cli.main"]
SHIM = [sys.executable, "-m", "greenai.cli.exec_shim"]
NO_HANG_S = 20.0  # generous: only "did it hang?", never how fast
START_S = 120.0  # a cold start may build the emission-factor table


def the_run() -> dict[str, Any]:
    with Ledger.open() as ledger:
        (row,) = ledger.list_runs(limit=10)
    return row


def greenai_run(child: str, *args: str) -> subprocess.Popen[str]:
    """``greenai run -- python -c CHILD ARGS...`` as the leader of its own process group."""
    return subprocess.Popen(
        [*GREENAI, "run", "--", sys.executable, "-c", child, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        process_group=0,
    )


def wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_S
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"ended before {path.name}: rc={proc.returncode}\n{out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no {path.name}")
        time.sleep(0.02)


def ended(proc: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        _out, err = proc.communicate(timeout=NO_HANG_S + START_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
        pytest.fail(f"greenai run still alive after the signal\n{err}")
    return proc.returncode, err


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


CHECKPOINTING = """
import pathlib, sys, time
ready, checkpoint = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
try:
    ready.touch()
    time.sleep(60)
except KeyboardInterrupt:
    time.sleep(1.0)  # saving a checkpoint takes a while
    checkpoint.write_text("saved")
    sys.exit(3)
"""


def test_ctrl_c_reaches_the_child_once(tmp_path: Path) -> None:
    ready, checkpoint = tmp_path / "ready", tmp_path / "checkpoint"
    proc = greenai_run(CHECKPOINTING, str(ready), str(checkpoint))
    wait_for(ready, proc)
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    code, err = ended(proc)
    assert code == 3, err
    assert checkpoint.read_text() == "saved"
    row = the_run()
    assert (row["status"], row["exit_code"]) == ("failed", 3)


def test_ctrl_backslash_reaches_the_child_and_greenai_records_it(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    child = (
        "import pathlib, resource, sys, time\n"
        "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
        "pathlib.Path(sys.argv[1]).touch()\n"
        "time.sleep(60)\n"
    )
    proc = greenai_run(child, str(ready))
    wait_for(ready, proc)
    os.killpg(proc.pid, signal.SIGQUIT)
    code, err = ended(proc)
    assert code == 128 + signal.SIGQUIT, err
    row = the_run()
    assert row["status"] == "interrupted" and "SIGQUIT" in row["error"]


def test_the_child_stays_in_greenais_process_group(tmp_path: Path) -> None:
    child = "import os, pathlib, sys; pathlib.Path(sys.argv[1]).write_text(str(os.getpgrp()))"
    proc = greenai_run(child, str(tmp_path / "pgrp"))
    code, err = ended(proc)
    assert code == 0, err
    assert int((tmp_path / "pgrp").read_text()) == proc.pid


def test_the_child_reads_from_the_terminal() -> None:
    # On a terminal only the foreground process group may read: a child moved out of
    # greenai's group would be stopped by SIGTTIN instead of reading the line.
    child = "print('got ' + input().upper(), flush=True)"
    pid, fd = pty.fork()
    if pid == 0:  # greenai run, a session leader whose terminal is the pty
        try:
            os.execvp(GREENAI[0], [*GREENAI, "run", "--", sys.executable, "-c", child])
        finally:
            os._exit(127)
    try:
        os.write(fd, b"hello\n")
        seen = read_until(fd, b"got HELLO")
    finally:
        status = reap(pid)
        os.close(fd)
    assert b"got HELLO" in seen, seen
    assert os.waitstatus_to_exitcode(status) == 0


def read_until(fd: int, wanted: bytes) -> bytes:
    seen = b""
    deadline = time.monotonic() + START_S
    while wanted not in seen and time.monotonic() < deadline:
        readable, _, _ = select.select([fd], [], [], 1.0)
        if readable:
            try:
                seen += os.read(fd, 1024)
            except OSError:  # EIO: every process of the terminal left
                break
    return seen


def reap(pid: int) -> int:
    """The wait status of ``pid``, killed first if it is still running after NO_HANG_S."""
    deadline = time.monotonic() + NO_HANG_S
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    os.killpg(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def test_sigkill_of_greenai_run_terminates_the_child(tmp_path: Path) -> None:
    child = (
        "import os, pathlib, signal, sys, time\n"
        "out = pathlib.Path(sys.argv[1])\n"
        "def on_term(*_):\n"
        "    (out / 'terminated').touch()\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, on_term)\n"
        "(out / 'pid.tmp').write_text(str(os.getpid()))\n"
        "(out / 'pid.tmp').rename(out / 'pid')\n"
        "time.sleep(60)\n"
    )
    proc = greenai_run(child, str(tmp_path))
    wait_for(tmp_path / "pid", proc)
    child_pid = int((tmp_path / "pid").read_text())
    try:
        proc.kill()
        proc.wait(timeout=NO_HANG_S)  # the child may still hold its output pipes
        deadline = time.monotonic() + NO_HANG_S
        while not (tmp_path / "terminated").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "terminated").exists(), "the child outlived greenai run untold"
    finally:
        if alive(child_pid):
            os.kill(child_pid, signal.SIGKILL)


CRASHES = ["SIGSEGV", "SIGABRT", "SIGBUS", "SIGFPE", "SIGILL"]


def _assert_run_ended_by(name: str, child: str, status: str) -> None:
    """``greenai run`` of ``child``, which signal ``name`` ends: exit code and run row."""
    signum = signal.Signals[name]
    out = subprocess.run(
        [*GREENAI, "run", "--", sys.executable, "-c", child],
        capture_output=True,
        text=True,
        timeout=START_S,
    )
    assert out.returncode == 128 + signum, out.stderr
    row = the_run()
    assert (row["status"], row["exit_code"]) == (status, -signum)
    assert name in row["error"]


@pytest.mark.parametrize("name", CRASHES)
def test_a_child_that_crashes_is_failed_with_the_signal_named(name: str) -> None:
    child = (
        "import os, resource, signal\n"
        "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
        f"os.kill(os.getpid(), signal.{name})\n"
    )
    _assert_run_ended_by(name, child, "failed")


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_child_ended_by_a_stop_signal_is_interrupted_with_the_signal_named(name: str) -> None:
    child = f"import os, signal, time; os.kill(os.getpid(), signal.{name}); time.sleep(60)"
    _assert_run_ended_by(name, child, "interrupted")


def test_a_command_that_cannot_start_is_127_with_a_message() -> None:
    out = subprocess.run(
        [*GREENAI, "run", "--", "no-such-command-greenai"],
        capture_output=True,
        text=True,
        timeout=START_S,
    )
    assert out.returncode == 127
    assert "cannot start 'no-such-command-greenai'" in out.stderr
    assert the_run()["status"] == "failed"


def test_the_exec_shim_runs_the_command_under_its_expected_parent() -> None:
    out = subprocess.run(
        [*SHIM, "--parent", str(os.getpid()), "--", "sh", "-c", "exit 5"], timeout=NO_HANG_S
    )
    assert out.returncode == 5


def test_the_exec_shim_does_not_start_an_orphan(tmp_path: Path) -> None:
    # Its parent died before the death signal was set: the command must not start.
    marker = tmp_path / "started"
    out = subprocess.run(
        [*SHIM, "--parent", "1", "--", "touch", str(marker)],
        capture_output=True,
        timeout=NO_HANG_S,
    )
    assert out.returncode != 0
    assert not marker.exists()


def test_the_exec_shim_reports_a_command_it_cannot_start() -> None:
    out = subprocess.run(
        [*SHIM, "--parent", str(os.getpid()), "--", "no-such-command-greenai"],
        capture_output=True,
        text=True,
        timeout=NO_HANG_S,
    )
    assert out.returncode == 127
    assert "cannot start 'no-such-command-greenai'" in out.stderr


def test_the_exec_shim_imports_nothing_heavy() -> None:
    code = (
        "import sys, greenai.cli.exec_shim\n"
        "heavy = ('typer', 'rich', 'sqlalchemy', 'pandas', 'psutil', 'pynvml', 'codecarbon')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
