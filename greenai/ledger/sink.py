"""What the tracker writes through: the ledger, else the journal, else stderr. Never raises.

A run record arrives already in the ledger's journal (written there on the job's thread);
once the ledger has it, its journal file, and the run's older ones, are deleted. Other
records (heartbeats, power series) go to the journal only when the ledger cannot take
them. No SQLAlchemy at import: the ledger is opened by the factory on first use.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from greenai.ledger.spool import Spool, record_seq, to_json

if TYPE_CHECKING:
    from greenai.ledger.ledger import Ledger

log = logging.getLogger(__name__)

RUN_PREFIX = "greenai: unsaved run record: "
SERIES_PREFIX = "greenai: unsaved series rows: "
RETRY_AFTER_S = 30.0


class RecordSink:
    """Writes records to the ledger; spools them when it cannot; prints them when even
    the spool fails. Never raises (``KeyboardInterrupt`` and ``SystemExit`` aside).

    After a ledger failure the ledger is left alone for ``retry_after_s`` (records go to
    the spool meanwhile), so a ledger that is down costs one attempt per interval.

    Args:
        ledger_factory: Opens the ledger (called lazily, again after a failure).
        spool: Where records go while the ledger cannot be reached.
        stderr: Last resort: one JSON line per record (None: ``sys.stderr`` at the time).
        retry_after_s: Seconds before the ledger is tried again after a failure.
        clock: Monotonic clock in seconds (tests inject one).
        ledger: The ledger, already open (else the factory opens it on first use).
    """

    def __init__(
        self,
        ledger_factory: Callable[[], Ledger],
        spool: Spool,
        stderr: TextIO | None = None,
        *,
        retry_after_s: float = RETRY_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
        ledger: Ledger | None = None,
    ) -> None:
        self._factory = ledger_factory
        self.spool = spool
        self._stderr = stderr
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._ledger: Ledger | None = ledger
        self._retry_at = float("-inf")
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    @property
    def ledger(self) -> Ledger | None:
        """The ledger opened so far (None before the first write or after it failed)."""
        return self._ledger

    @property
    def ledger_down(self) -> bool:
        """Whether the last attempt failed and the ledger is left alone for now."""
        return self._clock() < self._retry_at

    def mark_down(self) -> None:
        """The ledger just failed elsewhere (opening it): leave it alone for a while."""
        self._retry_at = self._clock() + self._retry_after_s

    def save_run(self, record: Mapping[str, Any], journaled: Path | None = None) -> str:
        """Saves a run record.

        Args:
            record: The record.
            journaled: Its journal file, when it was journaled before (else it is journaled
                here if the ledger cannot take it).

        Returns:
            Where it went: ``"ledger"``, ``"spool"`` (the journal) or ``"stderr"``.
        """
        with self._lock:
            if self.to_ledger(lambda ledger: ledger.save_run(record)):
                self._discard_spooled(record)
                return "ledger"
            if journaled is not None or self._to_spool(lambda: self.spool.write(record)):
                return "spool"
            self._to_stderr(RUN_PREFIX, record)
            return "stderr"

    def save_heartbeat(
        self,
        record: Mapping[str, Any],
        full: Callable[[], Mapping[str, Any]],
        series: Sequence[Mapping[str, Any]] = (),
    ) -> str:
        """Saves a heartbeat record of a running run and the power series rows read since
        the last one, in one transaction; where the ledger cannot take it (unreachable,
        or the run's rows are not there as the heartbeat expects), saves ``full()``, the
        run's full record, as :meth:`save_run` does, and the rows as :meth:`add_series`.

        Returns:
            Where the record went: ``"ledger"``, ``"spool"`` or ``"stderr"``.
        """
        applied: list[bool] = []
        with self._lock:
            if self.to_ledger(lambda ledger: applied.append(ledger.save_heartbeat(record, series))):
                applied_all = applied[0]
            else:
                applied_all = False
        if applied_all:
            return "ledger"
        outcome = self.save_run(full())
        self.add_series(series)
        return outcome

    def add_series(self, rows: Sequence[Mapping[str, Any]]) -> str:
        """Adds power series rows.

        Returns:
            Where they went: ``"ledger"``, ``"spool"`` or ``"stderr"``.
        """
        with self._lock:
            if not rows:
                return "ledger"
            if self.to_ledger(lambda ledger: ledger.add_series(rows)):
                return "ledger"
            if self._to_spool(lambda: self.spool.write_series(rows)):
                return "spool"
            self._to_stderr(SERIES_PREFIX, list(rows))
            return "stderr"

    def close(self) -> None:
        """Closes the ledger, if one is open. Never raises."""
        with self._lock:
            ledger, self._ledger = self._ledger, None
            if ledger is not None:
                try:
                    ledger.close()
                except Exception as exc:
                    log.debug("closing the ledger failed: %s", exc)

    def _warn_once(self, what: str, message: str, *args: object) -> None:
        if what in self._warned:
            log.debug(message, *args)
        else:
            self._warned.add(what)
            log.warning(message, *args)

    def to_ledger(self, write: Callable[[Ledger], None]) -> bool:
        """Run ``write(ledger)`` on the sink's ledger; False (never an exception) when the
        ledger cannot be opened or the write fails, so the caller can spool instead."""
        if self._ledger is None:
            if self._clock() < self._retry_at:
                return False
            try:
                self._ledger = self._factory()
            except Exception as exc:
                self._retry_at = self._clock() + self._retry_after_s
                self._warn_once(
                    "ledger",
                    "greenai cannot open the ledger (%s); records are spooled and replayed later",
                    exc,
                )
                return False
        elif self._clock() < self._retry_at:
            return False
        try:
            write(self._ledger)
        except Exception as exc:
            if not isinstance(exc, ValueError | TypeError | KeyError):
                self._retry_at = self._clock() + self._retry_after_s
            self._warn_once(
                "ledger",
                "greenai cannot write to the ledger %s (%s); records "
                "are spooled and replayed later",
                self._ledger.url,
                exc,
            )
            return False
        return True

    def _discard_spooled(self, record: Mapping[str, Any]) -> None:
        """This record's journal file and the run's older ones are superseded: drop them
        (not newer ones, journaled meanwhile and still to be shipped)."""
        try:
            run_id = str(record["run"]["id"])
            if self.spool.pending():
                self.spool.discard_run(run_id, up_to=record_seq(record))
        except Exception as exc:
            log.debug("cannot clean the spool: %s", exc)

    def _to_spool(self, write: Callable[[], object]) -> bool:
        try:
            write()
        except Exception as exc:
            self._warn_once(
                "spool",
                "greenai cannot write to the spool %s (%s); records are printed to stderr",
                self.spool.folder,
                exc,
            )
            return False
        return True

    def _to_stderr(self, prefix: str, payload: object) -> None:
        try:
            stream = self._stderr if self._stderr is not None else sys.stderr
            stream.write(prefix + to_json(payload) + "\n")
            stream.flush()
        except Exception as exc:
            self._warn_once("stderr", "greenai lost a record: stderr failed too (%s)", exc)
