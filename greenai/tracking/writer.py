"""Writes run records to the ledger off the job's thread, through a write-ahead journal.

A run record (its start, its final record) is first written to the ledger's journal on
the caller's thread (fsync'd, :func:`~greenai.ledger.journal.journal_for`), then queued;
a background thread, the shipper, writes it through the ledger's
:class:`~greenai.ledger.RecordSink` and deletes its journal file once the ledger has it.
Heartbeats and power series go straight to the shipper and into the journal only when
the ledger cannot take them: a job killed with SIGKILL loses at most the last heartbeat
interval. Every job carries a sequence number given in queue order; run records store it
(``record_seq``) so the ledger never takes an older record over a newer one.

How long the job waits: a run's final record is waited for up to a short bound while
the ledger is up (so the ledger holds the run when ``stop`` returns) and not at all once
it is known to be down, or while the shipper has been stuck on one write for
:data:`STALLED_AFTER_S` (a locked or hanging ledger costs the job those seconds, not a
bound per run; a ledger that is merely busy, its writes slow but done, keeps being waited
for, so jobs do not outrun it); at interpreter exit the shipper has :data:`EXIT_FLUSH_S`
(none when the ledger is down), then whatever is still queued is journaled, for the next
process or ``greenai sync``.
If even the journal cannot be written, the record goes to stderr as one JSON line
(``greenai sync --from-stderr`` re-imports it).

A fork waits for the write in flight (a bounded wait), so no SQLite call is under way
in the copied process; the child opens writers of its own.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenai.ledger.sink import RUN_PREFIX, SERIES_PREFIX
from greenai.ledger.spool import next_sequence, to_json

log = logging.getLogger(__name__)

DEFAULT_TIERS: tuple[tuple[str, int], ...] = (("1s", 7), ("1m", 90), ("1h", 0))
EXIT_FLUSH_S = 2.0
"""At interpreter exit, how long the shipper may keep writing before the rest is journaled."""
STALLED_AFTER_S = 5.0
"""A write taking longer than this means the ledger is stuck (locked, hanging), not busy
(16 processes writing one SQLite file on 2 cores see single writes take over 2 s)."""
WAIT_POLL_S = 0.05
FORK_WAIT_S = 2.0
"""Longest wait of a fork for a write in flight (see :func:`_before_fork`)."""


Ship = Callable[[Any, dict[str, Any], Path | None], str]
"""Writes a journaled run record through the sink: ``(sink, record, journal file)``."""


def _save_run(sink: Any, record: dict[str, Any], journaled: Path | None) -> str:
    return str(sink.save_run(record, journaled))


@dataclass(eq=False)
class WriteJob:
    """A queued write; ``outcome`` says where it went (ledger, spool, stderr) once done.

    ``seq`` is given when the job is queued; a run job's payload is ``(record, journal
    file or None, how to ship it)``.
    """

    kind: str  # "run" | "beat" | "series" | "call"
    payload: Any
    done: threading.Event = field(default_factory=threading.Event)
    outcome: str = ""
    seq: int = 0
    give_up: Callable[[], bool] = lambda: False

    def wait(self, timeout_s: float | None) -> str:
        """Wait up to ``timeout_s`` (None: not at all), less once the ledger is known to be
        down: the outcome, else ``"queued"`` (a run record is in the journal then)."""
        if timeout_s is None:
            return self.outcome if self.done.is_set() else "queued"
        deadline = time.monotonic() + timeout_s
        while not self.done.is_set() and not self.give_up():
            left_s = deadline - time.monotonic()
            if left_s <= 0:
                break
            self.done.wait(min(left_s, WAIT_POLL_S))
        return self.outcome if self.done.is_set() else "queued"


def with_seq(record: dict[str, Any], seq: int) -> dict[str, Any]:
    """``record`` whose run carries ``record_seq`` (a copy; the caller's dict is kept)."""
    return {**record, "run": {**record["run"], "record_seq": seq}}


class Writer:
    """One background writer (the journal's shipper) per ledger URL.

    Args:
        url: The ledger URL (None: the default SQLite file).
        data_dir: Per-user data folder (default ledger file and journals).
        stale_after_s: When a silent running run counts as interrupted.
        series_tiers: Power series tiers and their retention, days.
        journal: The ledger's journal (default: :func:`~greenai.ledger.journal.journal_for`).
    """

    def __init__(
        self,
        url: str | None,
        data_dir: Path | None = None,
        stale_after_s: float = 60.0,
        series_tiers: tuple[tuple[str, int], ...] = DEFAULT_TIERS,
        journal: Any = None,
    ) -> None:
        from greenai.ledger.journal import journal_for

        self.url = url
        self.data_dir = data_dir
        self.stale_after_s = stale_after_s
        self.series_tiers = series_tiers
        self.journal = journal if journal is not None else journal_for(url, data_dir)
        self._queue: queue.Queue[WriteJob | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="greenai-writer", daemon=True)
        self._sink: Any = None
        self._current: WriteJob | None = None
        self._current_since = 0.0
        self._started = False
        self._lock = threading.Lock()
        self._order = threading.Lock()  # sequence numbers in queue order
        self.busy = threading.Lock()
        """Held while the shipper writes (a fork waits for it, see :func:`_before_fork`)."""

    @property
    def ledger_down(self) -> bool:
        """Whether the ledger is known to be down (the last attempt failed, not retried yet)."""
        sink = self._sink
        return sink is not None and bool(sink.ledger_down)

    @property
    def behind(self) -> bool:
        """Whether the shipper has been on one write for :data:`STALLED_AFTER_S` (the
        ledger is locked, or hanging): records are not waited for until it is done."""
        current = self._current
        stuck_s = time.monotonic() - self._current_since
        return current is not None and not current.done.is_set() and stuck_s > STALLED_AFTER_S

    def _not_worth_waiting(self) -> bool:
        return self.ledger_down or self.behind

    def wait_for(self, job: WriteJob, timeout_s: float | None) -> str:
        """Wait up to ``timeout_s`` for a queued job (see :meth:`WriteJob.wait`), and not
        at all while the shipper is :attr:`behind`.

        Returns:
            The job's outcome; ``"queued"`` if not done yet (a run record is in the
            journal then), ``"unjournaled"`` for a run record the journal refused (the
            shipper writes it to the ledger, else to stderr at exit).
        """
        outcome = job.wait(timeout_s)
        if job.done.is_set():
            return outcome
        if job.kind == "run" and job.payload[1] is None:
            return "unjournaled"
        return outcome

    def _ensure_thread(self) -> None:
        with self._lock:
            if not self._started:
                self._started = True
                self._thread.start()

    def _open_sink(self) -> Any:
        from greenai.ledger import Ledger, RecordSink

        _warn_of_legacy_spool(self.data_dir)

        def factory() -> Ledger:
            return Ledger.open(self.url, data_dir=self.data_dir)

        ledger = None
        try:
            ledger = factory()
            replayed = self.journal.replay(ledger)
            if replayed:
                log.info("shipped %d journaled run records", replayed)
            stale = ledger.mark_stale_runs(stale_after_s=self.stale_after_s)
            if stale:
                log.warning("marked %d run(s) interrupted (heartbeat stale)", len(stale))
            ledger.compact_series(tiers=self.series_tiers)  # keep the tiers' retention
        except Exception as exc:  # unreachable now: records stay journaled until it is back
            log.warning("ledger not reachable yet (%s); records are journaled", exc)
            if ledger is not None:
                ledger.close()
            sink = RecordSink(factory, self.journal)
            sink.mark_down()
            return sink
        return RecordSink(factory, self.journal, ledger=ledger)

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            self._current_since = time.monotonic()
            self._current = job
            try:
                with self.busy:
                    if self._sink is None:
                        self._sink = self._open_sink()
                    job.outcome = self._run(job)
            except Exception as exc:  # the sink never raises; this is a last guard
                log.error("greenai could not write a record: %s", exc)
                job.outcome = "error"
            finally:
                self._current = None
                job.done.set()

    def _run(self, job: WriteJob) -> str:
        sink = self._sink
        if job.kind == "run":
            record, journaled, ship = job.payload
            outcome = ship(sink, record, journaled)
            if outcome == "ledger":
                self._ship_leftovers()
            return str(outcome)
        if job.kind == "beat":
            record, full, series = job.payload
            return str(sink.save_heartbeat(record, lambda: with_seq(full(), job.seq), series))
        if job.kind == "series":
            return str(sink.add_series(job.payload))
        job.payload(sink)
        return "done"

    def _ship_leftovers(self) -> None:
        """Ship what the journal still holds while the ledger is up: records of processes
        that ended before shipping them (a forked worker leaves by ``os._exit``, with no
        exit flush), or of an earlier outage. Records queued here are shipped early, which
        their sequence numbers make harmless."""
        ledger = self._sink.ledger
        try:
            if ledger is not None and self.journal.pending():
                self.journal.replay(ledger)
        except Exception as exc:  # the ledger went away meanwhile: the next record retries
            log.debug("shipping the journal's leftovers failed: %s", exc)

    def submit_run(self, record: dict[str, Any], wait_s: float | None = None) -> str:
        """Journal and queue a run record; wait up to ``wait_s`` for it to be shipped."""
        return self.wait_for(self.queue_run(record), wait_s)

    def queue_run(self, record: dict[str, Any], ship: Ship | None = None) -> WriteJob:
        """Journal a run record (fsync'd, on this thread) and queue it for the ledger.

        ``ship(sink, record, journal file or None)`` writes it on the shipper and says
        where it went (default: the sink's ``save_run``; a rank's part has its own).
        """
        self._ensure_thread()
        with self._order:
            job = WriteJob("run", None, seq=next_sequence(), give_up=self._not_worth_waiting)
            stamped = with_seq(record, job.seq)
            job.payload = (stamped, self._journal(stamped), ship or _save_run)
            self._queue.put(job)
        return job

    def _journal(self, record: dict[str, Any]) -> Path | None:
        try:
            return Path(self.journal.write(record))
        except Exception as exc:  # the shipper tries the ledger, then stderr
            log.warning("greenai cannot write the journal %s (%s)", self.journal.folder, exc)
            return None

    def queue_heartbeat(
        self,
        record: dict[str, Any],
        full: Callable[[], dict[str, Any]],
        series: list[dict[str, Any]] | None = None,
    ) -> WriteJob:
        """Queue a heartbeat record (see :meth:`greenai.ledger.RecordSink.save_heartbeat`)
        and the power series rows read since the last one, written in its transaction;
        ``full()`` makes the run's full record where the heartbeat does not apply."""
        return self._queue_job(WriteJob("beat", (record, full, series or [])))

    def submit_series(self, rows: list[dict[str, Any]]) -> None:
        """Queue power series rows."""
        if rows:
            self._queue_job(WriteJob("series", rows))

    def call(self, fn: Callable[[Any], None], wait_s: float | None = None) -> str:
        """Run ``fn(sink)`` on the writer thread (maintenance such as stale-run checks)."""
        job = self._queue_job(WriteJob("call", fn, give_up=self._not_worth_waiting))
        return self.wait_for(job, wait_s)

    def _queue_job(self, job: WriteJob) -> WriteJob:
        self._ensure_thread()
        with self._order:
            job.seq = next_sequence()
            self._queue.put(job)
        return job

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything queued so far is written; False on timeout (and at once
        when the ledger is known to be down)."""
        if not self._started:
            return True
        marker = self._queue_job(WriteJob("call", lambda _sink: None))
        marker.give_up = lambda: self.ledger_down
        marker.wait(timeout_s)
        return marker.done.is_set()

    def journal_unshipped(self) -> int:
        """Journals what is still queued or being shipped (at exit, after the flush timed
        out): power series rows (those a heartbeat carries too), and run records the job's
        thread could not journal (heartbeats are superseded by the final record); what
        even the journal refuses goes to stderr as one JSON line. Returns how many jobs
        were kept."""
        jobs = [self._current] if self._current is not None else []
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                jobs.append(job)
        kept = 0
        for job in jobs:
            if job.done.is_set():
                continue
            if job.kind == "series":
                kept += self._keep(self.journal.write_series, SERIES_PREFIX, job.payload)
            elif job.kind == "beat" and job.payload[2]:  # its series are not superseded
                kept += self._keep(self.journal.write_series, SERIES_PREFIX, job.payload[2])
            elif job.kind == "run" and job.payload[1] is None:
                kept += self._keep(self.journal.write, RUN_PREFIX, job.payload[0])
        return kept

    @staticmethod
    def _keep(write: Callable[[Any], object], prefix: str, payload: Any) -> int:
        try:
            write(payload)
        except Exception:
            try:
                sys.stderr.write(prefix + to_json(payload) + "\n")
                sys.stderr.flush()
            except Exception as exc:
                log.warning("greenai lost a record: stderr failed too (%s)", exc)
                return 0
        return 1


def _warn_of_legacy_spool(data_dir: Path | None) -> None:
    """Records of the old spool folder name no ledger: say so, never replay them here."""
    from greenai.ledger import Spool, default_spool_dir

    try:
        legacy = Spool(default_spool_dir(data_dir))
        pending = legacy.pending()
    except OSError:
        return
    if pending:
        log.warning(
            "%d record(s) wait in the old spool folder %s, whose ledger is unknown; "
            "'greenai sync --legacy-spool --db URL' replays them into the ledger you name",
            pending,
            legacy.folder,
        )


_WRITERS: dict[tuple[str | None, Path | None], Writer] = {}
_WRITERS_LOCK = threading.Lock()


def get_writer(
    url: str | None,
    data_dir: Path | None = None,
    stale_after_s: float = 60.0,
    series_tiers: tuple[tuple[str, int], ...] = DEFAULT_TIERS,
) -> Writer:
    """The writer of a ledger URL and data folder (one per process).

    The data folder (default ledger and spool) is resolved now, so a change of
    ``GREENAI_DATA_DIR`` gets a writer of its own.
    """
    from greenai.ledger.paths import data_dir_path

    data_dir = data_dir_path(data_dir)
    with _WRITERS_LOCK:
        key = (url, data_dir)
        writer = _WRITERS.get(key)
        if writer is None:
            writer = _WRITERS[key] = Writer(url, data_dir, stale_after_s, series_tiers)
        return writer


_HELD: list[Writer] = []


def _before_fork() -> None:
    """Wait (up to :data:`FORK_WAIT_S` per writer) for the writes in flight: a shipper
    inside SQLite at the fork would leave SQLite's own mutexes (its memory allocator's,
    its open's) locked in the child, which would hang on its first ledger access. A write
    that takes longer is waiting on the database (busy, or a server), holding none."""
    _WRITERS_LOCK.acquire()
    _HELD[:] = [w for w in _WRITERS.values() if w.busy.acquire(timeout=FORK_WAIT_S)]


def _after_fork_in_parent() -> None:
    for writer in _HELD:
        writer.busy.release()
    _HELD.clear()
    _WRITERS_LOCK.release()


def _after_fork_in_child() -> None:
    """The parent's writer threads are not in the child: it opens its own writers (and
    never writes the parent's queued records a second time)."""
    _HELD.clear()
    _WRITERS_LOCK.release()
    _WRITERS.clear()


os.register_at_fork(
    before=_before_fork,
    after_in_parent=_after_fork_in_parent,
    after_in_child=_after_fork_in_child,
)


@atexit.register
def flush_all(timeout_s: float = EXIT_FLUSH_S) -> None:
    """Give every writer up to ``timeout_s`` to ship what is queued, then journal the rest
    (at interpreter exit)."""
    with _WRITERS_LOCK:
        writers = list(_WRITERS.values())
    deadline = time.monotonic() + timeout_s
    for writer in writers:
        if not writer.flush(max(0.0, deadline - time.monotonic())):
            journaled = writer.journal_unshipped()
            if journaled:
                log.info("journaled %d unshipped writes for the next process", journaled)
