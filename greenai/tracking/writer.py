"""Writes run records to the ledger off the job's thread.

Start and stop of a run only queue a record; a background thread writes it through
the ledger's :class:`~greenai.ledger.RecordSink`, which spools it when the ledger is
unreachable and prints it to stderr when even the spool fails. A run's final record
is waited for (up to a timeout) so a finished run is in the ledger when ``stop``
returns; at interpreter exit whatever is queued is flushed.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_TIERS: tuple[tuple[str, int], ...] = (("1s", 7), ("1m", 90), ("1h", 0))


@dataclass(eq=False)
class WriteJob:
    """A queued write; ``outcome`` says where it went (ledger, spool, stderr) once done."""

    kind: str  # "run" | "beat" | "series" | "call"
    payload: Any
    done: threading.Event = field(default_factory=threading.Event)
    outcome: str = ""

    def wait(self, timeout_s: float | None) -> str:
        """Wait up to ``timeout_s`` (None: not at all): the outcome, else ``"queued"``."""
        if timeout_s is not None and self.done.wait(timeout_s):
            return self.outcome
        return "queued"


class Writer:
    """One background writer per ledger URL.

    Args:
        url: The ledger URL (None: the default SQLite file).
        data_dir: Per-user data folder (ledger file and spool).
    """

    def __init__(
        self,
        url: str | None,
        data_dir: Path | None = None,
        stale_after_s: float = 60.0,
        series_tiers: tuple[tuple[str, int], ...] = DEFAULT_TIERS,
    ) -> None:
        self.url = url
        self.data_dir = data_dir
        self.stale_after_s = stale_after_s
        self.series_tiers = series_tiers
        self._queue: queue.Queue[WriteJob | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="greenai-writer", daemon=True)
        self._sink: Any = None
        self._started = False
        self._lock = threading.Lock()

    def _ensure_thread(self) -> None:
        with self._lock:
            if not self._started:
                self._started = True
                self._thread.start()

    def _open_sink(self) -> Any:
        from greenai.ledger import Ledger, RecordSink, Spool, default_spool_dir

        spool = Spool(default_spool_dir(self.data_dir))

        def factory() -> Ledger:
            return Ledger.open(self.url, data_dir=self.data_dir)

        sink = RecordSink(factory, spool)
        try:
            ledger = factory()
            replayed = spool.replay(ledger)
            if replayed:
                log.info("replayed %d spooled run records", replayed)
            stale = ledger.mark_stale_runs(stale_after_s=self.stale_after_s)
            if stale:
                log.warning("marked %d run(s) interrupted (heartbeat stale)", len(stale))
            ledger.compact_series(tiers=self.series_tiers)  # keep the tiers' retention
            ledger.close()
        except Exception as exc:  # unreachable now: records spool until it is back
            log.warning("ledger not reachable yet (%s); records are spooled", exc)
        return sink

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                if self._sink is None:
                    self._sink = self._open_sink()
                if job.kind == "run":
                    job.outcome = self._sink.save_run(job.payload)
                elif job.kind == "beat":
                    job.outcome = self._sink.save_heartbeat(*job.payload)
                elif job.kind == "series":
                    job.outcome = self._sink.add_series(job.payload)
                else:
                    job.payload(self._sink)
                    job.outcome = "done"
            except Exception as exc:  # the sink never raises; this is a last guard
                log.error("greenai could not write a record: %s", exc)
                job.outcome = "error"
            finally:
                job.done.set()

    def submit_run(self, record: dict[str, Any], wait_s: float | None = None) -> str:
        """Queue a run record; wait up to ``wait_s`` for it to be written."""
        return self._submit(WriteJob("run", record), wait_s)

    def queue_run(self, record: dict[str, Any]) -> WriteJob:
        """Queue a run record without waiting."""
        return self._queue_job(WriteJob("run", record))

    def queue_heartbeat(
        self, record: dict[str, Any], full: Callable[[], dict[str, Any]]
    ) -> WriteJob:
        """Queue a heartbeat record (see :meth:`greenai.ledger.RecordSink.save_heartbeat`);
        ``full()`` makes the run's full record where the heartbeat does not apply."""
        return self._queue_job(WriteJob("beat", (record, full)))

    def submit_series(self, rows: list[dict[str, Any]]) -> None:
        """Queue power series rows."""
        if rows:
            self._submit(WriteJob("series", rows), None)

    def call(self, fn: Callable[[Any], None], wait_s: float | None = None) -> str:
        """Run ``fn(sink)`` on the writer thread (maintenance such as stale-run checks)."""
        return self._submit(WriteJob("call", fn), wait_s)

    def _queue_job(self, job: WriteJob) -> WriteJob:
        self._ensure_thread()
        self._queue.put(job)
        return job

    def _submit(self, job: WriteJob, wait_s: float | None) -> str:
        return self._queue_job(job).wait(wait_s)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything queued so far is written; False on timeout."""
        if not self._started:
            return True
        marker = WriteJob("call", lambda _sink: None)
        self._queue.put(marker)
        return marker.done.wait(timeout_s)


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


def _after_fork_in_child() -> None:
    """The parent's writer threads are not in the child: it opens its own writers (and
    never writes the parent's queued records a second time)."""
    _WRITERS_LOCK.release()
    _WRITERS.clear()


os.register_at_fork(
    before=_WRITERS_LOCK.acquire,
    after_in_parent=_WRITERS_LOCK.release,
    after_in_child=_after_fork_in_child,
)


@atexit.register
def flush_all(timeout_s: float = 10.0) -> None:
    """Flush every writer (at interpreter exit)."""
    with _WRITERS_LOCK:
        writers = list(_WRITERS.values())
    for writer in writers:
        writer.flush(timeout_s)
