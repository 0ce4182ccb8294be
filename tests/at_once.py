"""Many OS processes let go at the same instant: real interpreters racing on one ledger.

:func:`run_at_once` starts one ``python -c SCRIPT ARGS...`` per entry of ``argv`` (with
this repository on ``PYTHONPATH``), waits until every one has done its imports and
called :func:`wait_for_go`, then lets them all go at once and waits for them (killing
any still running after ``timeout_s``). Their stderr goes to files, not pipes, so a
chatty process never blocks on a pipe nobody reads.

In the script::

    from tests.at_once import wait_for_go
    ...  # imports, setup
    wait_for_go()
    ...  # the racing part; print a result on stdout
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

READY = "ready"
REPO = Path(__file__).resolve().parent.parent


def wait_for_go() -> None:
    """In a started process: say it is ready, then wait for the signal to go."""
    print(READY, flush=True)
    sys.stdin.readline()


@dataclass(frozen=True)
class Finished:
    """How one process ended.

    Attributes:
        returncode: Its exit status (negative: killed by that signal).
        stdout: What it printed after :func:`wait_for_go`.
        stderr: Everything it wrote to stderr.
    """

    returncode: int
    stdout: str
    stderr: str

    def why(self) -> str:
        """A line for an assertion message: the status and the end of stderr."""
        return f"exit {self.returncode}: {self.stderr.strip()[-2000:]}"


def run_at_once(
    script: str,
    argv: Sequence[Sequence[str]],
    *,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 240.0,
) -> list[Finished]:
    """Run ``script`` once per entry of ``argv``, all let go together; their ends, in order.

    Args:
        script: Python source; it must call :func:`wait_for_go` once (see the module).
        argv: The arguments of each process.
        env: Their environment (default ``os.environ``); the repository is put first on
            ``PYTHONPATH``.
        timeout_s: Most seconds to wait for all of them, from the go.
    """
    environ = dict(os.environ if env is None else env)
    path = environ.get("PYTHONPATH")
    environ["PYTHONPATH"] = str(REPO) + (os.pathsep + path if path else "")
    with tempfile.TemporaryDirectory(prefix="greenai-at-once-") as folder:
        logs = [Path(folder) / f"{n}.stderr" for n in range(len(argv))]
        processes = [
            _start(script, args, environ, log) for args, log in zip(argv, logs, strict=True)
        ]
        for process in processes:  # each has done its imports (or died trying)
            assert process.stdout is not None
            process.stdout.readline()
        for process in processes:
            _go(process)
        deadline = time.monotonic() + timeout_s
        outs = [_wait(process, deadline) for process in processes]
        return [
            Finished(p.returncode, out, log.read_text(errors="replace"))
            for p, out, log in zip(processes, outs, logs, strict=True)
        ]


def _start(
    script: str, args: Sequence[str], environ: Mapping[str, str], log: Path
) -> subprocess.Popen[str]:
    with log.open("w") as stderr:
        return subprocess.Popen(
            [sys.executable, "-c", script, *args],
            env=environ, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
            text=True,
        )  # fmt: skip


def _go(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    try:
        process.stdin.write("go\n")
        process.stdin.flush()  # closed by communicate()
    except BrokenPipeError:  # it died before the go: its status says why
        pass


def _wait(process: subprocess.Popen[str], deadline: float) -> str:
    try:
        out, _ = process.communicate(timeout=max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out
