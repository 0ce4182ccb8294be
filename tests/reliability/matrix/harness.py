"""Runs the standard job for one case of the fault matrix and reads back what it left.

A :class:`Case` is one fault's folder, environment and ledger; :meth:`Case.start`
starts the standard job (:mod:`tests.reliability.matrix.job`) tracked by
``greenai.track`` or under ``greenai run``, as the leader of a process group of its own
(as a shell starts a job, so a test can signal the group as a terminal does);
:meth:`Case.greenai` runs a ``greenai`` command such as ``sync``.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from greenai.ledger import Ledger
from greenai.ledger.journal import journal_for
from tests.fake_nvml.driver import subprocess_env
from tests.reliability.matrix.job import RESULT_PREFIX
from tests.reliability.matrix.seams import FAKE_NVML_ENV

GREENAI = [sys.executable, "-m", "greenai.cli.main"]
JOB = [sys.executable, "-m", "tests.reliability.matrix.job"]
START_S = 120.0  # a cold start may build the emission-factor table
NO_HANG_S = 30.0  # generous: only "did it end?", never how fast
GPU_COUNT = 2
GPU_POWER_W = 100.0  # each fake GPU draws this, constantly (the fake's default)


@dataclass
class Ended:
    """How a job ended: its return code, its result line (None: none), its stderr, and
    the seconds from its start to its end (a figure, never a test's threshold)."""

    returncode: int
    result: int | None
    stderr: str
    wall_s: float


class Job:
    """A started job: its process, its markers' folder, its output files."""

    def __init__(self, proc: subprocess.Popen[bytes], out: Path) -> None:
        self.proc = proc
        self.out = out
        self.pid = proc.pid
        self.started_s = time.monotonic()

    def wait_for(self, marker: str, timeout_s: float = START_S) -> str:
        """The marker's text once the job wrote it; fails the test if it ends first."""
        path = self.out / marker
        deadline = time.monotonic() + timeout_s
        while not path.exists():
            if self.proc.poll() is not None:
                ended = self.end()
                pytest.fail(
                    f"the job ended before {marker}: rc={ended.returncode}\n{ended.stderr[-3000:]}"
                )
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"no {marker} from the job in {timeout_s:.0f} s")
            time.sleep(0.02)
        return path.read_text()

    def job_pid(self) -> int:
        """The standard job's own pid (under ``greenai run``, greenai's child)."""
        return int(self.wait_for("pid"))

    def signal(self, signum: int, *, group: bool = False) -> None:
        """Send ``signum`` to the process, or to its whole group as a terminal does."""
        if group:
            os.killpg(self.pid, signum)
        else:
            self.proc.send_signal(signum)

    def end(self, timeout_s: float = START_S + NO_HANG_S) -> Ended:
        """Wait for the process to end (killing it, and failing, if it does not)."""
        try:
            self.proc.wait(timeout=timeout_s)
            wall_s = time.monotonic() - self.started_s
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait()
            pytest.fail(f"the job was still running {timeout_s:.0f} s on")
        stdout = (self.out / "stdout").read_text(errors="replace")
        stderr = (self.out / "stderr").read_text(errors="replace")
        return Ended(self.proc.returncode, _result(stdout), stderr, wall_s)


def _result(stdout: str) -> int | None:
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return int(line[len(RESULT_PREFIX) :])
    return None


@dataclass
class Case:
    """One fault's run of the standard job.

    Attributes:
        name: The run's name (the fault's, made a slug).
        folder: Where the job's markers and output go.
        env: The job's environment (the fake NVML library's 2 GPUs at 100 W each).
        job_url: The ledger URL the job and ``greenai sync`` use (None: the default).
        read_url: The URL this test reads that ledger through.
        other_url: A second ledger some faults use.
        fixture: Gets a pytest fixture by name (a PostgreSQL ledger, for some faults).
        notes: What a fault measured on the way (kill time, ...).
    """

    name: str
    folder: Path
    env: dict[str, str]
    job_url: str | None
    read_url: str
    fixture: Callable[[str], Any]
    other_url: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def make(
        cls, name: str, folder: Path, fake_nvml_library: Path, fixture: Callable[[str], Any]
    ) -> Case:
        env = subprocess_env(fake_nvml_library, COUNT=str(GPU_COUNT), POWER_W=str(GPU_POWER_W))
        env[FAKE_NVML_ENV] = str(fake_nvml_library)
        data_dir = Path(env["GREENAI_DATA_DIR"])
        slug = name.replace(" ", "-").replace("(", "").replace(")", "")
        return cls(slug, folder, env, None, f"sqlite:///{data_dir / 'ledger.db'}", fixture)

    def use_ledger(self, job_url: str, read_url: str | None = None) -> None:
        """The job writes to ``job_url`` (read back through ``read_url``)."""
        self.job_url = job_url
        self.read_url = read_url or job_url
        self.env["GREENAI_DB_URL"] = job_url

    def start(self, *, launch: str, **job: Any) -> Job:
        """Start the standard job: ``launch`` is ``track``, ``run`` (under ``greenai
        run``) or ``bare`` (no greenai); ``job`` is the rest of its configuration."""
        self.folder.mkdir(parents=True, exist_ok=True)
        mode = {"track": "track", "run": "plain", "bare": "bare"}[launch]
        config = {"mode": mode, "case": self.name, "out": str(self.folder), **job}
        config_path = self.folder / "job.json"
        config_path.write_text(json.dumps(config))
        argv = [*JOB, str(config_path)]
        if launch == "run":
            argv = [*GREENAI, "run", "--name", self.name, "--", *argv]
        with (self.folder / "stdout").open("wb") as out, (self.folder / "stderr").open("wb") as err:
            proc = subprocess.Popen(argv, stdout=out, stderr=err, env=self.env, process_group=0)
        return Job(proc, self.folder)

    def greenai(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """A ``greenai`` command with the job's environment (and ``env``)."""
        done = subprocess.run(
            [*GREENAI, *args],
            capture_output=True,
            text=True,
            timeout=START_S,
            env={**self.env, **env},
        )
        assert done.returncode == 0, f"greenai {' '.join(args)}: {done.stderr[-3000:]}"
        return done

    def sync(self, *args: str, url: str | None = None, **env: str) -> str:
        """``greenai sync`` of a ledger's journal (default: the job's ledger)."""
        url = url or self.job_url
        done = self.greenai("sync", *(["--db", url] if url else []), *args, **env)
        self.notes.setdefault("synced", []).append(done.stdout + done.stderr)
        return done.stdout

    def journaled(self, url: str | None = None) -> int:
        """Records waiting in this machine's journal of a ledger (default: the job's)."""
        return journal_for(url or self.job_url, Path(self.env["GREENAI_DATA_DIR"])).pending()

    def runs(self, url: str | None = None) -> list[dict[str, Any]]:
        """Every run of a ledger (default: the job's), each with its devices and windows."""
        with Ledger.open(url or self.read_url) as ledger:
            rows = ledger.list_runs(limit=1000)
            return [ledger.get_run(str(row["id"])) or {"run": row} for row in rows]


def finite_non_negative(value: object) -> bool:
    """Whether an energy figure is a number, finite and at least 0."""
    return isinstance(value, int | float) and math.isfinite(value) and value >= 0


def exit_status(returncode: int) -> int:
    """The exit status a shell sees for a child's ``returncode`` (128 + N: signal N)."""
    return 128 - returncode if returncode < 0 else returncode


@dataclass(frozen=True)
class Outcome:
    """How a job ends: return code (``-N``: signal N) and printed result (None: none)."""

    returncode: int
    result: int | None

    def through(self, launch: str) -> Outcome:
        """The same end as ``greenai run`` reports it (the child's exit status)."""
        if launch != "run":
            return self
        return Outcome(exit_status(self.returncode), self.result)


class Baseline:
    """The standard job without greenai: how it ends when left alone, when it crashes,
    when a signal reaches it. Each is measured once (a bare job starts in milliseconds).

    Args:
        folder: Where the bare jobs' folders go.
        steps: The standard job's steps.
    """

    def __init__(self, folder: Path, steps: int) -> None:
        self.folder = folder
        self.steps = steps
        self._seen: dict[str, Outcome] = {}
        self._env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}

    def _case(self, key: str) -> Case:
        return Case("bare", self.folder / key, dict(self._env), None, "", _no_fixture)

    def finished(self, crash: str | None = None) -> Outcome:
        """The job left alone (and crashing by ``crash`` once done, if given)."""
        key = f"finished-{crash}"
        if key not in self._seen:
            job = self._case(key).start(launch="bare", steps=self.steps, crash=crash)
            self._seen[key] = _outcome(job.end())
        return self._seen[key]

    def signalled(self, signum: int, group: bool) -> Outcome:
        """The job held at work and sent ``signum`` (to its process group if ``group``)."""
        key = f"signalled-{signum}-{group}"
        if key not in self._seen:
            job = self._case(key).start(launch="bare", steps=self.steps, hold=True)
            job.wait_for("ready")
            job.signal(signum, group=group)
            self._seen[key] = _outcome(job.end())
        return self._seen[key]


def _outcome(ended: Ended) -> Outcome:
    return Outcome(ended.returncode, ended.result)


def _no_fixture(name: str) -> Any:
    raise LookupError(f"a bare job has no fixture {name}")
