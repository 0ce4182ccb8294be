"""The faults of the matrix. Each one sets itself up around the standard job and says
what the job and the ledger must show afterwards; the test runs them all the same way:

1. :meth:`Fault.arranged` (around the job and the sync: a ledger locked, a server that
   hangs), :meth:`Fault.strike` (during the job: a signal), :meth:`Fault.restore` (the
   ledger comes back), :meth:`Fault.recover` (``greenai sync``);
2. :meth:`Fault.expected`: how the job ends without greenai (the baseline), as
   ``greenai run`` passes it on where it runs under it;
3. :meth:`Fault.check` and :meth:`Fault.loss`: what is particular to the fault.

Names are the README's (its Reliability table).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from greenai.ledger import Ledger
from greenai.ledger.journal import journal_for
from greenai.tracking.signals import signal_name
from tests.reliability.figures import sized
from tests.reliability.hanging_server import HangingServer
from tests.reliability.matrix.harness import (
    GPU_COUNT,
    GPU_POWER_W,
    NO_HANG_S,
    Baseline,
    Case,
    Job,
    Outcome,
)
from tests.reliability.matrix.job import EXIT_CODE, TOKENS_PER_STEP
from tests.reliability.matrix.ledgers import LedgerLock, RefusedPort
from tests.reliability.matrix.seams import FAULT_STEP, rapl_expected_j

STEPS = 6
HEARTBEAT_S = 0.5  # the shortest heartbeat the settings allow, for the SIGKILL faults
SERIES_HZ = 10.0  # energy is settled at every tick: a heartbeat carries the last one's
STALE_AFTER_S = 1.0
KILL_MARGIN_S = 1.5  # a heartbeat's write in flight, a busy machine's scheduling
READ_JITTER_S = 0.5  # generous: a snapshot's time and its GPU reads, on a busy machine


@dataclass(frozen=True)
class Fault:
    """A fault that leaves the job alone: it completes, with its own result and code.

    Attributes:
        name: The README's name for it.
        seam: The in-process seam the job installs (:mod:`.seams`), if any.
        launch: ``track`` (``greenai.track`` in the job) or ``run`` (``greenai run``).
        status: The run's final status in the ledger.
        flags: Prefixes of flags the run must carry.
        crash: A signal the job sends itself once done (``SIGSEGV``).
        hold: Whether the job works on, once ready, until a signal ends it.
    """

    name: str
    seam: str | None = None
    launch: str = "track"
    status: str = "completed"
    flags: tuple[str, ...] = ()
    crash: str | None = None
    hold: bool = False

    runs: ClassVar[int] = 1  # runs the case expects in its ledgers
    postgres: ClassVar[bool] = False
    lost_gpus: ClassVar[tuple[str, ...]] = ()  # fake GPUs the fault takes away

    def job(self) -> dict[str, Any]:
        """The standard job's configuration."""
        return {"steps": STEPS, "seam": self.seam, "hold": self.hold, "crash": self.crash}

    def settings(self) -> dict[str, str]:
        """``GREENAI_*`` variables of the job."""
        return {}

    @contextlib.contextmanager
    def arranged(self, case: Case) -> Iterator[None]:
        """Set the fault up around the job and its sync."""
        yield

    def strike(self, case: Case, job: Job) -> None:
        """What happens to the job while it runs."""

    def restore(self, case: Case) -> None:
        """The job ended: the ledger comes back."""

    def recover(self, case: Case) -> None:
        """Ship what the fault left in the journal."""
        case.sync()

    def expected(self, baseline: Baseline) -> Outcome:
        """How the job ends without greenai (through ``greenai run`` where it runs there)."""
        return baseline.finished(self.crash).through(self.launch)

    def tokens_ok(self, tokens: int) -> bool:
        """Whether the run's output tokens are all the job reported."""
        return tokens == STEPS * TOKENS_PER_STEP

    def check(self, case: Case, record: dict[str, Any]) -> None:
        """What this fault's run must show beyond the checks of every case."""

    def loss(self, case: Case, record: dict[str, Any]) -> dict[str, float]:
        """What was lost beyond whole runs, as numbers: the fake GPUs' energy over the
        run's duration that its device rows lack, J (a GPU that fell off the bus aside)."""
        devices = _devices(record)
        kept = [f"gpu:{n}" for n in range(GPU_COUNT) if f"gpu:{n}" not in self.lost_gpus]
        expected_j = len(kept) * GPU_POWER_W * record["run"]["duration_s"]
        return {"lost_j": round(expected_j - sum(devices.get(gpu, 0.0) for gpu in kept), 3)}

    def loss_ok(self, loss: dict[str, float]) -> bool:
        """Whether the energy lost is what the fault may lose: none (the fake GPUs'
        energy over the run's duration, up to the jitter between a snapshot's time and
        its reads)."""
        return abs(loss["lost_j"]) <= GPU_COUNT * GPU_POWER_W * READ_JITTER_S

    def stored(self, case: Case) -> int:
        """How many of the runs the case expects its ledgers hold."""
        return min(1, sum(r["run"]["name"] == case.name for r in case.runs()))


@dataclass(frozen=True)
class Crashed(Fault):
    """The job crashes once it printed its result: its run failed, the signal named."""

    launch: str = "run"
    crash: str | None = "SIGSEGV"
    status: str = "failed"

    def check(self, case: Case, record: dict[str, Any]) -> None:
        run = record["run"]
        assert self.crash is not None and self.crash in (run["error"] or ""), run
        assert run["exit_code"] == -signal.Signals[self.crash]


def _devices(record: dict[str, Any]) -> dict[str, float]:
    return {d["device_id"]: d["energy_j"] for d in record["devices"]}


@dataclass(frozen=True)
class GpuLost(Fault):
    """Fake GPU 1 falls off the bus mid-run: charged up to its last reading, flagged."""

    lost_gpus: ClassVar[tuple[str, ...]] = ("gpu:1",)

    def check(self, case: Case, record: dict[str, Any]) -> None:
        devices = _devices(record)
        assert devices["gpu:1"] < devices["gpu:0"], devices
        # the windows after the loss were measured by the GPU that stayed
        assert all(w["energy_j"] for w in record["windows"]), record["windows"]


@dataclass(frozen=True)
class Rapl(Fault):
    """The package counter of a fake powercap tree wraps (or restarts from 0) mid-run;
    machine mode charges the run the whole counter, so its energy is known exactly."""

    reset: bool = False

    def check(self, case: Case, record: dict[str, Any]) -> None:
        package_j, dram_j = rapl_expected_j(STEPS, self.reset)
        devices = _devices(record)
        assert devices["cpu:package-0"] == pytest.approx(package_j, abs=1e-6), devices
        assert devices["dram:package-0"] == pytest.approx(dram_j, abs=1e-6), devices

    def loss(self, case: Case, record: dict[str, Any]) -> dict[str, float]:
        package_j, _ = rapl_expected_j(STEPS, self.reset)
        error_j = round(_devices(record)["cpu:package-0"] - package_j, 6)
        return {**super().loss(case, record), "cpu_error_j": error_j}


@dataclass(frozen=True)
class WallStepped(Fault):
    """The run's start was read an hour ahead; the wall clock was then stepped back."""

    def check(self, case: Case, record: dict[str, Any]) -> None:
        run = record["run"]
        assert run["heartbeat_at"] >= run["started_at"]
        elapsed_s = (run["ended_at"] - run["started_at"]).total_seconds()
        assert elapsed_s == pytest.approx(run["duration_s"], abs=1e-3)


@dataclass(frozen=True)
class LedgerLocked(Fault):
    """Another process holds the SQLite ledger's write lock for ``hold_s``."""

    hold_s: float = 10.0

    @contextlib.contextmanager
    def arranged(self, case: Case) -> Iterator[None]:
        path = Path(case.read_url.removeprefix("sqlite:///"))
        Ledger.open(case.read_url).close()  # the ledger exists, as it would
        lock = LedgerLock(path, self.hold_s)
        case.notes["lock"] = lock
        try:
            yield
        finally:
            lock.release()

    def restore(self, case: Case) -> None:
        case.notes["lock"].wait_released()


def _pg_url_at(url: str, port: int) -> str:
    return sa.make_url(url).set(port=port).render_as_string(hide_password=False)


@dataclass(frozen=True)
class LedgerRefused(Fault):
    """The PostgreSQL ledger's port refuses connections; it comes back after the job."""

    postgres: ClassVar[bool] = True

    @contextlib.contextmanager
    def arranged(self, case: Case) -> Iterator[None]:
        real = case.fixture("pg_ledger")
        port = RefusedPort()
        case.use_ledger(_pg_url_at(real, port.port), read_url=real)
        case.notes["server"] = port
        try:
            yield
        finally:
            port.close()

    def restore(self, case: Case) -> None:
        real = sa.make_url(case.read_url)
        case.notes["server"].forward_to(real.host or "127.0.0.1", real.port or 5432)


@dataclass(frozen=True)
class LedgerHanging(LedgerRefused):
    """The ledger's port accepts connections and never answers; it comes back after.
    Under ``greenai run`` (whose cost the README bounds), the run is the child's: failed
    with its exit code 3, as ``sys.exit(3)`` is."""

    launch: str = "run"
    status: str = "failed"

    @contextlib.contextmanager
    def arranged(self, case: Case) -> Iterator[None]:
        real = case.fixture("pg_ledger")
        with HangingServer() as server:
            case.use_ledger(_pg_url_at(real, server.port), read_url=real)
            case.notes["server"] = server
            yield
        assert server.accepted >= 1  # the job did try the ledger, which never answered

    def check(self, case: Case, record: dict[str, Any]) -> None:
        assert record["run"]["exit_code"] == EXIT_CODE, record["run"]


@dataclass(frozen=True)
class DiskFull(Fault):
    """The journal cannot be written (ENOSPC) while the ledger cannot be reached: the
    records go to stderr, and ``greenai sync --from-stderr`` writes them back."""

    seam: str | None = "disk-full"

    @contextlib.contextmanager
    def arranged(self, case: Case) -> Iterator[None]:
        blocker = case.folder.parent / "not-yet-a-folder"
        blocker.write_text("a file where the ledger's folder should be")
        case.use_ledger(f"sqlite:///{blocker}/ledger.db")
        case.notes["blocker"] = blocker
        yield

    def restore(self, case: Case) -> None:
        case.notes["blocker"].unlink()

    def recover(self, case: Case) -> None:
        out = case.sync("--from-stderr", str(case.folder / "stderr"))
        assert "0 line(s) refused" in out, out


OTHER_RUN = "run-of-another-ledger"


@dataclass(frozen=True)
class AnotherLedger(Fault):
    """This machine's journal of another ledger holds a run: the job's process must
    leave it there, and only a sync of that ledger ships it, into that ledger."""

    runs: ClassVar[int] = 2

    @contextlib.contextmanager
    def arranged(self, case: Case) -> Iterator[None]:
        case.other_url = f"sqlite:///{case.folder.parent / 'other.db'}"
        started = datetime.now(UTC)
        run = {
            "id": OTHER_RUN,
            "name": OTHER_RUN,
            "status": "completed",
            "started_at": started,
            "ended_at": started,
            "host_id": "h",
            "record_seq": 1,
        }
        journal_for(case.other_url).write({"run": run})
        yield

    def restore(self, case: Case) -> None:
        assert case.journaled(case.other_url) == 1  # not shipped into the job's ledger

    def recover(self, case: Case) -> None:
        case.sync()
        case.sync(url=case.other_url)

    def stored(self, case: Case) -> int:
        others = [r for r in case.runs(case.other_url) if r["run"]["id"] == OTHER_RUN]
        return super().stored(case) + min(1, len(others))

    def check(self, case: Case, record: dict[str, Any]) -> None:
        others = case.runs(case.other_url)
        assert [(r["run"]["id"], r["run"]["status"]) for r in others] == [(OTHER_RUN, "completed")]
        assert case.journaled(case.other_url) == 0


@dataclass(frozen=True)
class Signalled(Fault):
    """A signal reaches the job (or ``greenai run``, or the whole process group, as a
    terminal's Ctrl-C does) once it is ready: it ends as it would without greenai."""

    signum: int = signal.SIGTERM
    group: bool = False
    marker: str = "ready"
    status: str = "interrupted"
    flags: tuple[str, ...] = ("interrupted",)
    hold: bool = True

    def strike(self, case: Case, job: Job) -> None:
        job.wait_for(self.marker)
        job.signal(self.signum, group=self.group)

    def expected(self, baseline: Baseline) -> Outcome:
        return baseline.signalled(self.signum, self.group).through(self.launch)

    def tokens_ok(self, tokens: int) -> bool:
        return tokens >= STEPS * TOKENS_PER_STEP

    def check(self, case: Case, record: dict[str, Any]) -> None:
        assert signal_name(self.signum) in (record["run"]["error"] or ""), record["run"]


@dataclass(frozen=True)
class MidSnapshot(Signalled):
    """SIGTERM while the job's thread is inside a collector read that never returns."""

    seam: str | None = "mid-snapshot"
    marker: str = "blocked"
    flags: tuple[str, ...] = ("interrupted", "ended_at_last_snapshot")
    hold: bool = False

    def expected(self, baseline: Baseline) -> Outcome:
        return baseline.signalled(self.signum, self.group)

    def tokens_ok(self, tokens: int) -> bool:
        return tokens == FAULT_STEP * TOKENS_PER_STEP  # the blocked step's tokens never came


@dataclass(frozen=True)
class Killed(Signalled):
    """SIGKILL once a heartbeat is in the ledger: the run stays ``running`` until the
    next greenai process (here ``greenai sync``) marks it interrupted; what it loses is
    the energy since its last heartbeat, measured against the fake GPUs' known power."""

    signum: int = signal.SIGKILL
    flags: tuple[str, ...] = ("interrupted: heartbeat stale",)

    def settings(self) -> dict[str, str]:
        return {"GREENAI_HEARTBEAT_S": str(HEARTBEAT_S), "GREENAI_SERIES_HZ": str(SERIES_HZ)}

    def strike(self, case: Case, job: Job) -> None:
        job.wait_for(self.marker)
        case.notes["job_pid"] = job.job_pid()
        _wait_for_a_heartbeat(case)
        time.sleep(random.uniform(0.0, HEARTBEAT_S))  # anywhere in a heartbeat interval
        case.notes["killed_at"] = datetime.now(UTC)
        job.signal(self.signum)

    def recover(self, case: Case) -> None:
        (record,) = case.runs()
        assert record["run"]["status"] == "running"  # as the kill left it
        case.notes["before_sync"] = record["run"]
        seen = record["run"]["heartbeat_at"] or record["run"]["started_at"]
        while (datetime.now(UTC) - seen).total_seconds() <= STALE_AFTER_S:
            time.sleep(0.1)
        case.sync(GREENAI_STALE_AFTER_S=str(STALE_AFTER_S))

    def check(self, case: Case, record: dict[str, Any]) -> None:
        before = case.notes["before_sync"]
        assert record["run"]["energy_j"] == before["energy_j"]  # kept as the last refresh

    def loss_ok(self, loss: dict[str, float]) -> bool:
        """At most the last heartbeat interval (and the tick its energy was settled at)."""
        return loss["lost_s"] <= HEARTBEAT_S + 1.0 / SERIES_HZ + KILL_MARGIN_S

    def tokens_ok(self, tokens: int) -> bool:
        return tokens >= 0  # as of the last heartbeat

    def loss(self, case: Case, record: dict[str, Any]) -> dict[str, float]:
        """The GPU energy the fake GPUs used up to the kill that the ledger lacks."""
        run = record["run"]
        ran_s = (case.notes["killed_at"] - run["started_at"]).total_seconds()
        lost_j = GPU_COUNT * GPU_POWER_W * ran_s - run["energy_gpu_j"]
        return {"lost_j": round(lost_j, 3), "lost_s": round(lost_j / (GPU_COUNT * GPU_POWER_W), 3)}


@dataclass(frozen=True)
class KilledRun(Killed):
    """SIGKILL of ``greenai run``: the child gets SIGTERM (its parent-death signal)."""

    launch: str = "run"

    def expected(self, baseline: Baseline) -> Outcome:
        return Outcome(-signal.SIGKILL, None)  # greenai run's own; the child's is checked

    def check(self, case: Case, record: dict[str, Any]) -> None:
        super().check(case, record)
        assert case.notes["child_ended"], "the child outlived greenai run"

    def restore(self, case: Case) -> None:
        case.notes["child_ended"] = _ends(case.notes["job_pid"])


def _wait_for_a_heartbeat(case: Case) -> None:
    """Until the job's run was refreshed at least once with some energy (read-only: the
    ledger is the job's to create)."""
    path = Path(case.read_url.removeprefix("sqlite:///"))
    query = (
        "SELECT count(*) FROM runs WHERE energy_gpu_j > 0"
        " AND julianday(heartbeat_at) > julianday(started_at)"
    )
    deadline = time.monotonic() + NO_HANG_S
    while time.monotonic() < deadline:
        if path.exists():
            with (
                contextlib.suppress(sqlite3.Error),
                contextlib.closing(
                    sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
                ) as conn,
            ):
                if conn.execute(query).fetchone()[0]:
                    return
        time.sleep(0.05)
    pytest.fail("no heartbeat reached the ledger")


def _ends(pid: int) -> bool:
    """Whether process ``pid`` is gone within NO_HANG_S."""
    deadline = time.monotonic() + NO_HANG_S
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return False


FAULTS: list[Fault] = [
    Fault("collector raising", seam="collector-raising", flags=("collector_errors:raising=",)),
    GpuLost("GPU lost", seam="gpu-lost", flags=("device_lost:gpu:1",)),
    Rapl("RAPL counter wrap", seam="rapl-wrap"),
    Rapl(
        "RAPL counter reset", seam="rapl-reset", reset=True, flags=("counter_reset:cpu:package-0",)
    ),
    WallStepped("wall clock stepped back", seam="wall-step"),
    LedgerLocked(f"ledger locked {sized(3, 10)} s", hold_s=sized(3, 10)),
    LedgerRefused("ledger refused"),
    LedgerHanging("ledger hanging"),
    DiskFull("disk full (journal)"),
    Signalled("SIGTERM of a tracked job"),
    Signalled("SIGINT of a tracked job", signum=signal.SIGINT, group=True),
    Killed("SIGKILL of a tracked job"),
    MidSnapshot("SIGTERM mid-snapshot"),
    Signalled("SIGTERM of greenai run", launch="run"),
    Signalled("SIGINT of greenai run", launch="run", signum=signal.SIGINT, group=True),
    KilledRun("SIGKILL of greenai run"),
    Crashed("crashing child (SIGSEGV)"),
    AnotherLedger("journal of another ledger"),
]
