"""Revisions of runs' final figures: appended in the transaction of every change.

A run's figures are final once its status is no longer ``running``. Each write that leaves
a final row different from its latest revision appends the whole row as the next revision,
with the ledger time of the write and a reason, so that a report as of an earlier time
reads the figures the ledger held then (:mod:`greenai.queries.frames`). Columns that a
write touches without changing a figure (:data:`NOT_REVISED`) do not make a revision.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from greenai.ledger import schema

__all__ = [
    "IMPORTED",
    "INTERRUPTED",
    "NOT_REVISED",
    "RECORDED",
    "REPLACED",
    "RUN_COLUMNS",
    "revise",
    "revisions_between",
]

RUN_COLUMNS = tuple(c.name for c in schema.runs.columns)
NOT_REVISED = ("created_at", "updated_at", "heartbeat_at", "record_seq")
"""Columns whose change alone is no revision: ledger times and the record's sequence."""
RECORDED = "recorded"
REPLACED = "replaced by a later record of the run"
INTERRUPTED = "marked interrupted: no heartbeat since {seen}"
IMPORTED = "imported from {source}"
CHUNK_IDS = 500


def _chunks(run_ids: Iterable[str]) -> Iterator[list[str]]:
    """The distinct ids, sorted, in lists that keep IN clauses within every database's
    limits."""
    ids = sorted(set(run_ids))
    for i in range(0, len(ids), CHUNK_IDS):
        yield ids[i : i + CHUNK_IDS]


def _latest(conn: Connection, run_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The latest revision of each of ``run_ids`` that has one (every column)."""
    rev = schema.run_revisions
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(run_ids):
        last = (
            sa.select(rev.c.id, sa.func.max(rev.c.revision).label("last"))
            .where(rev.c.id.in_(chunk))
            .group_by(rev.c.id)
            .subquery()
        )
        query = sa.select(rev).join(
            last, sa.and_(rev.c.id == last.c.id, rev.c.revision == last.c.last)
        )
        found.update({row.id: dict(row._mapping) for row in conn.execute(query)})
    return found


def _same(row: dict[str, Any], revision: dict[str, Any]) -> bool:
    return all(row[c] == revision[c] for c in RUN_COLUMNS if c not in NOT_REVISED)


def revise(
    conn: Connection,
    run_ids: Iterable[str],
    now: datetime,
    *,
    reason: str,
    change_reason: str | None = None,
) -> list[str]:
    """Appends a revision for each run of ``run_ids`` whose row is final and differs from
    its latest revision (inside the caller's transaction).

    Args:
        conn: A connection inside the write transaction that changed the runs.
        run_ids: The runs written.
        now: Ledger time of the write (the revisions' ``recorded_at``).
        reason: Why the figures are what they are (a run's first revision).
        change_reason: Why they changed (later revisions); default ``reason``.

    Returns:
        The ids revised, sorted.
    """
    runs = schema.runs
    revised: list[str] = []
    for chunk in _chunks(run_ids):
        query = sa.select(runs).where(runs.c.id.in_(chunk), runs.c.status != "running")
        rows = [dict(r._mapping) for r in conn.execute(query)]
        if not rows:
            continue
        latest = _latest(conn, (r["id"] for r in rows))
        added = []
        for row in rows:
            before = latest.get(row["id"])
            if before is not None and _same(row, before):
                continue
            number = 1 if before is None else int(before["revision"]) + 1
            why = reason if before is None else change_reason or reason
            added.append({**row, "revision": number, "recorded_at": now, "reason": why[:500]})
        if added:
            conn.execute(sa.insert(schema.run_revisions), added)
            revised.extend(r["id"] for r in added)
    return sorted(revised)


def revisions_between(
    conn: Connection, run_ids: Iterable[str], after: datetime, until: datetime
) -> dict[str, list[dict[str, Any]]]:
    """The revisions of ``run_ids`` recorded in ``(after, until]``, oldest first: revision,
    recorded_at (ISO 8601 UTC) and reason."""
    rev = schema.run_revisions
    found: dict[str, list[dict[str, Any]]] = {}
    for chunk in _chunks(run_ids):
        query = (
            sa.select(rev.c.id, rev.c.revision, rev.c.recorded_at, rev.c.reason)
            .where(
                rev.c.id.in_(chunk),
                rev.c.recorded_at > after,
                rev.c.recorded_at <= until,
            )
            .order_by(rev.c.id, rev.c.revision)
        )
        for run_id, number, recorded_at, reason in conn.execute(query):
            found.setdefault(run_id, []).append(
                {
                    "revision": int(number),
                    "recorded_at": recorded_at.isoformat().replace("+00:00", "Z"),
                    "reason": reason,
                }
            )
    return found
