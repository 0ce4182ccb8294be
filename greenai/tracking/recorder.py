"""One run's records on their way to the ledger: full ones, and cheap heartbeats between.

The first and the last record of a run are full records (every column, every device,
window and metric row). A heartbeat of a running root run is a small record of what
changed since the last one (:func:`~greenai.tracking.record.heartbeat_record`), which
the ledger applies with one prepared statement per table; where it cannot (the run's
rows are not there: spooled, or another ledger), the writer asks for a full record
instead. A heartbeat is skipped while the previous one is still queued, so a slow
ledger gets one write per run at a time. A rank's part of a multi-rank job is always
written whole: the job's totals are aggregated from its parts. The power series read
since the last record travel with the heartbeat, in its transaction.

Records are made and queued under one lock, so they reach the writer in the order they
were made, and no heartbeat is queued after the final record.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from greenai.tracking.record import build_record, heartbeat_record
from greenai.tracking.series import series_rows

if TYPE_CHECKING:
    from greenai.tracking.run import Run
    from greenai.tracking.writer import WriteJob, Writer

log = logging.getLogger(__name__)


class Recorder:
    """Makes a run's records and hands them to its ledger's writer.

    Args:
        run: The run.
        writer: The writer of the run's ledger.
        identity: host_id, user_id and greenai_version, for every record.
    """

    def __init__(self, run: Run, writer: Writer, identity: dict[str, Any]) -> None:
        self.run = run
        self.writer = writer
        self.identity = identity
        self._lock = threading.Lock()
        self._windows_from = 0  # windows before this index were closed at the last record
        self._metrics_from = 0  # metrics before this index are in the ledger's record
        self._last_beat: WriteJob | None = None

    def write(self, wait_s: float | None) -> str:
        """Write the run's full record; wait up to ``wait_s`` for it (None: do not)."""
        with self._lock:
            self._series()
            rank = getattr(self.run, "rank", None)
            if rank is not None:
                return self._write_part(rank, wait_s)
            job = self.writer.queue_run(self._full_record())
        return self.writer.wait_for(job, wait_s)

    def beat(self) -> None:
        """Write what changed since the last record, if the run is still running."""
        if self._last_beat is not None and not self._last_beat.done.is_set():
            return  # the writer is behind: the next heartbeat carries this one's figures
        with self._lock:
            if self.run.stopped:
                return  # the final record is written (or on its way)
            rank = getattr(self.run, "rank", None)
            if rank is not None:
                self._series()
                self._write_part(rank, None)
                return
            series = self._series_rows()
            with self.run.lock:
                record = heartbeat_record(self.run, self._windows_from, self._metrics_from)
                self._mark()
            self._last_beat = self.writer.queue_heartbeat(record, self.full_record, series)

    def full_record(self) -> dict[str, Any]:
        """The run's full record now (the writer's fallback for a heartbeat)."""
        with self._lock:
            return self._full_record()

    def _full_record(self) -> dict[str, Any]:
        with self.run.lock:
            record = build_record(self.run, self.identity)
            self._mark()
        return record

    def _mark(self) -> None:
        """Remember what the record just made holds (under the run's lock)."""
        windows = self.run.windows
        index = self._windows_from
        while index < len(windows) and windows[index].closed:
            index += 1
        self._windows_from = index
        self._metrics_from = len(self.run.metrics)

    def _series(self) -> None:
        """Queue the power series read since the last record (root runs' only)."""
        self.writer.submit_series(self._series_rows())

    def _series_rows(self) -> list[dict[str, Any]]:
        """The power series rows read since the last record (root runs' only)."""
        hub = self.run.hub
        if hub is None or self.run.parent is not None:
            return []
        readings = list(hub.sampler.series)
        hub.sampler.series.clear()
        origin = self.run.root_span.wall_at(0.0)  # the run's times, not the wall clock's now
        return series_rows(readings, [self.run.id], self.identity["host_id"], origin)

    def _write_part(self, rank: Any, wait_s: float | None) -> str:
        from greenai.fleet.rank_run import part_record, submit_part

        with self.run.lock:
            record = build_record(self.run, self.identity)
        part = part_record(rank, record)
        stale_s = self.run.settings.stale_after_s
        return submit_part(self.writer, part, stale_after_s=stale_s, wait_s=wait_s)
