"""Serving intervals on their way to the ledger's day runs (see
:mod:`greenai.agent.serving_record`).

Intervals wait in memory until a flush. There, those where a tracked run ran the engine
are dropped (an engine whose environment names a run the ledger does not hold yet
counts as tracked: that run's first record is on its way), the rest are folded into
their day's run, and every run that changed is written in one transaction. A failed
write keeps them for the next flush (at most :data:`MAX_PENDING` intervals wait, the
oldest dropped first).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from collectors.types import Device
from greenai.agent.engine_processes import ProcessIdentity, process_identity
from greenai.agent.serving import ModelInterval
from greenai.agent.serving_record import (
    RUN_PREFIX,
    DayRun,
    SiteFigures,
    serving_run_id,
    write_day_run,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from greenai.ledger import Ledger

log = logging.getLogger(__name__)

MAX_PENDING = 10_000
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PendingInterval:
    """One engine's models over one interval, and who ran the engine then."""

    items: tuple[ModelInterval, ...]
    identity: ProcessIdentity


@dataclass(frozen=True)
class TrackedRun:
    """A run of this host (id, stored command, span) a serving interval may belong to."""

    run_id: str
    command: str | None
    started_at: datetime
    ended_at: datetime


class ServingLedger:
    """The day runs of the node's serving engines.

    Args:
        host_id: The node (the runs' host_id).
        site: Location, factor and PUE of the runs.
        devices: The node's devices by id (names and UUIDs of the runs' devices).
        version: greenai's version.
        identity: Pid -> what ties it to a tracked run (injectable).
        clock: Ledger time (aware UTC).
    """

    def __init__(
        self,
        host_id: str,
        site: SiteFigures,
        devices: Mapping[str, Device],
        version: str,
        *,
        identity: Callable[[int | None], ProcessIdentity] = process_identity,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._host = host_id
        self._site = site
        self._devices = dict(devices)
        self._version = version
        self._identity = identity
        self._clock = clock
        self._pending: deque[PendingInterval] = deque(maxlen=MAX_PENDING)
        self.runs: dict[str, DayRun] = {}
        self._dirty: set[str] = set()
        self.skipped_tracked = 0

    @property
    def pending(self) -> int:
        """Intervals and runs waiting to be written."""
        return len(self._pending) + len(self._dirty)

    def add(self, intervals: Sequence[ModelInterval]) -> None:
        """Queue an interval's models, grouped by engine (with their processes' identity)."""
        by_engine: dict[tuple[str, str], list[ModelInterval]] = {}
        for item in intervals:
            by_engine.setdefault((item.target.engine, item.target.deployment), []).append(item)
        for items in by_engine.values():
            if items[0].duration_s <= 0.0:  # the agent's last interval, when no time passed
                continue
            if len(self._pending) == self._pending.maxlen:
                log.warning("ledger unreachable for long: an old serving interval dropped")
            self._pending.append(PendingInterval(tuple(items), self._identity(items[0].pid)))

    def flush(self, ledger: Ledger) -> None:
        """Fold the waiting intervals into their runs and write what changed.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: The ledger refused (everything waits).
        """
        if self._pending:
            with ledger.read() as conn:
                tracked = tracked_runs(conn, self._host, list(self._pending))
                known = stored_ids(conn, {i for p in self._pending for i in p.identity.run_ids})
            while self._pending:
                self._fold(self._pending.popleft(), tracked, known)
        if not self._dirty:
            return
        now = self._clock()
        with ledger.write() as conn:
            for run_id in sorted(self._dirty):
                write_day_run(conn, self.runs[run_id], self._host, self._site, self._devices,
                              self._version, now)  # fmt: skip
        for run_id in self._dirty:
            run = self.runs[run_id]
            run.seeded, run.windows = True, []
        self._dirty.clear()

    def _fold(
        self, pending: PendingInterval, tracked: Sequence[TrackedRun], known: set[str]
    ) -> None:
        first = pending.items[0]
        if pending.identity.run_ids - known:  # its run's first record is on its way
            self.skipped_tracked += 1
            return
        for other in tracked:
            overlaps = other.started_at < first.end_at and other.ended_at > first.start_at
            if overlaps and pending.identity.matches(other.run_id, other.command):
                self.skipped_tracked += 1
                return
        run_id = serving_run_id(self._host, first.target, first.start_at.astimezone(UTC).date())
        run = self.runs.get(run_id)
        if run is None:
            run = self.runs[run_id] = DayRun(run_id, first.target, first.start_at, first.end_at)
            self._forget_old_days(first.start_at)
        run.add(pending.items)
        self._dirty.add(run_id)

    def _forget_old_days(self, now: datetime) -> None:
        """Drop written runs of days before yesterday (memory stays bounded)."""
        limit = now - timedelta(days=2)
        for run_id in [k for k, r in self.runs.items() if r.ended_at < limit]:
            if run_id not in self._dirty:
                del self.runs[run_id]


def stored_ids(conn: Connection, run_ids: set[str]) -> set[str]:
    """Those of ``run_ids`` the ledger holds."""
    import sqlalchemy as sa

    from greenai.ledger import schema

    if not run_ids:
        return set()
    runs = schema.runs
    query = sa.select(runs.c.id).where(runs.c.id.in_(sorted(run_ids)))
    return {str(r) for r in conn.execute(query).scalars()}


def tracked_runs(
    conn: Connection, host_id: str, pending: Sequence[PendingInterval]
) -> list[TrackedRun]:
    """Root runs of ``host_id`` (other than serving runs) overlapping the intervals."""
    import sqlalchemy as sa

    from greenai.ledger import schema

    if not any(p.identity.run_ids or p.identity.commands for p in pending):
        return []
    start = min(p.items[0].start_at for p in pending)
    end = max(p.items[0].end_at for p in pending)
    runs = schema.runs
    query = sa.select(
        runs.c.id, runs.c.command, runs.c.started_at, runs.c.ended_at, runs.c.heartbeat_at,
        runs.c.status,
    ).where(
        runs.c.host_id == host_id, runs.c.parent_run_id.is_(None),
        runs.c.started_at < end, ~runs.c.id.startswith(RUN_PREFIX),
    )  # fmt: skip
    found = []
    for row in conn.execute(query):
        until = row.ended_at or (FAR_FUTURE if row.status == "running" else row.heartbeat_at)
        if until is not None and until > start:
            found.append(TrackedRun(row.id, row.command, row.started_at, until))
    return found
