"""Writes many runs into the ledger in one transaction, with bulk upserts.

What :meth:`greenai.ledger.Ledger.save_run` does for one run without devices, windows or
metrics, for a whole stream of them: all are written or, when the stream raises, none.
Runs go in batches of :data:`BATCH_RUNS` through one ``INSERT ... ON CONFLICT DO UPDATE``
executed for many rows; a run given twice keeps its last values, as sequential saves would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from greenai.ledger import Ledger, schema
from greenai.ledger.ledger import utc_now
from greenai.ledger.revisions import revise
from greenai.ledger.rows import run_row
from greenai.ledger.upsert import dialect_insert, upsert

BATCH_RUNS = 1_000
KEPT_ON_UPDATE = ("id", "created_at")
CHILD_TABLES = (schema.run_devices, schema.windows, schema.metrics)


@dataclass(frozen=True)
class SavedRuns:
    """What a bulk save wrote.

    Attributes:
        rows: Runs given (a run given twice counts twice).
        runs: Distinct runs written.
    """

    rows: int
    runs: int


def save_runs(
    ledger: Ledger,
    runs: Iterable[Mapping[str, Any]],
    *,
    reason: str,
    change_reason: str | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> SavedRuns:
    """Upserts every run of ``runs`` in one transaction; their devices, windows and
    metrics, if any were stored, are removed (the runs come without them); each final run
    whose figures changed gets a revision.

    Args:
        ledger: The ledger.
        runs: ``runs`` columns of each run (``id`` required); read as a stream.
        reason: Why the runs hold these figures (their first revision's reason).
        change_reason: Why a run held before changed (default ``reason``).
        clock: Ledger time for ``created_at`` (first save, then kept), ``updated_at`` and
            the revisions.

    Returns:
        How many runs were given and how many distinct ones were written.

    Raises:
        ValueError: A run without id, or keys that are not columns (nothing written).
        sqlalchemy.exc.SQLAlchemyError: The database refused the write (nothing written).
        Exception: Whatever ``runs`` raises, after the transaction is rolled back.
    """
    now = clock()
    given = 0
    ids: set[str] = set()
    batch: dict[str, dict[str, Any]] = {}
    with ledger.write() as conn:
        for run in runs:
            row = run_row(run)
            row.update(created_at=now, updated_at=now)
            given += 1
            ids.add(row["id"])
            batch[row["id"]] = row
            if len(batch) >= BATCH_RUNS:
                _write(conn, list(batch.values()))
                revise(conn, batch, now, reason=reason, change_reason=change_reason)
                batch.clear()
        if batch:
            _write(conn, list(batch.values()))
            revise(conn, batch, now, reason=reason, change_reason=change_reason)
    return SavedRuns(rows=given, runs=len(ids))


def _write(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Upserts ``rows`` (distinct ids, every column) and removes their child rows."""
    ids = [row["id"] for row in rows]
    for table in CHILD_TABLES:
        conn.execute(sa.delete(table).where(table.c.run_id.in_(ids)))
    stmt = dialect_insert(conn, schema.runs)
    if stmt is None:
        for row in rows:
            upsert(conn, schema.runs, row, keys=("id",), keep=("created_at",))
        return
    updates = {c: stmt.excluded[c] for c in rows[0] if c not in KEPT_ON_UPDATE}
    conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=updates), rows)
