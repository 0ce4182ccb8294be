"""Multi-rank jobs in the ledger: each rank writes its part, the job's row aggregates them.

A rank's part is a child run of the job (``parent_run_id`` = the job's id) with its
``rank``; the job's row is the root run, so totals that add root runs count the job once
and the parts are its breakdown. Parts never overwrite each other (each has its own
row and devices). Writing a part and recomputing the job's row from every part happen
in one transaction under a per-job lock: ``pg_advisory_xact_lock`` on PostgreSQL; on
SQLite the transaction's ``BEGIN IMMEDIATE`` already serializes writers. Ranks writing
at once therefore never lose each other's energy.

A part still ``running`` whose heartbeat is older than ``stale_after_s`` (its rank died)
is marked ``interrupted`` by the next aggregation; the other ranks carry on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from greenai.figures.flags import stale_heartbeat
from greenai.ledger import schema
from greenai.ledger.job_totals import job_record
from greenai.ledger.revisions import INTERRUPTED, revise
from greenai.ledger.rows import as_dict
from greenai.ledger.run_write import JOB_LOCKS, hold_lock, write_run

if TYPE_CHECKING:
    from greenai.ledger.ledger import Ledger


def _utc_now() -> datetime:
    return datetime.now(UTC)


def lock_job(conn: Connection, job_id: str) -> None:
    """Holds the job's lock until the end of ``conn``'s transaction (PostgreSQL).

    SQLite needs nothing more: write transactions start with ``BEGIN IMMEDIATE``.
    """
    hold_lock(conn, JOB_LOCKS, job_id)


def part_job_id(record: Mapping[str, Any]) -> str:
    """The job a part record belongs to.

    Raises:
        ValueError: The record is not a rank's part (no ``rank`` or no parent run).
    """
    run = record.get("run") or {}
    job_id, rank = run.get("parent_run_id"), run.get("rank")
    if not isinstance(job_id, str) or not job_id or not isinstance(rank, int) or rank < 0:
        raise ValueError("a rank's part needs run.parent_run_id (the job) and run.rank >= 0")
    return job_id


def save_part(
    ledger: Ledger,
    record: Mapping[str, Any],
    *,
    stale_after_s: float | None = None,
    now: datetime | None = None,
) -> None:
    """Writes a rank's part and recomputes its job's row, in one transaction under the
    job's lock.

    Args:
        ledger: The ledger.
        record: The part's record (run row with ``rank`` and ``parent_run_id`` = job id).
        stale_after_s: Parts of the job still running without a heartbeat for this long
            are marked interrupted (None: left alone).
        now: Ledger time, aware UTC (default: now).

    Raises:
        ValueError: Not a part record, or keys that are not columns.
        sqlalchemy.exc.SQLAlchemyError: The database refused the write.
    """
    job_id = part_job_id(record)
    moment = now or _utc_now()
    with ledger.write() as conn:
        lock_job(conn, job_id)
        write_run(conn, record, moment)
        aggregate_job(conn, job_id, moment, stale_after_s)


def aggregate(
    ledger: Ledger,
    job_id: str,
    *,
    stale_after_s: float | None = None,
    now: datetime | None = None,
) -> bool:
    """Recomputes a job's row from its parts (one transaction, under the job's lock).

    Returns:
        False when the job has no parts.
    """
    with ledger.write() as conn:
        lock_job(conn, job_id)
        return aggregate_job(conn, job_id, now or _utc_now(), stale_after_s)


def _children_of(conn: Connection, table: sa.Table, ids: list[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {i: [] for i in ids}
    order = table.c.id if table is schema.metrics else table.c.run_id
    for row in conn.execute(sa.select(table).where(table.c.run_id.in_(ids)).order_by(order)):
        out[row.run_id].append(as_dict(row, ("run_id", "id") if table is schema.metrics else ()))
    return out


def _mark_stale_parts(
    conn: Connection, parts: list[dict[str, Any]], now: datetime, stale_after_s: float
) -> None:
    cutoff = now - timedelta(seconds=stale_after_s)
    for part in parts:
        seen = part.get("heartbeat_at") or part["started_at"]
        if part["status"] != "running" or seen >= cutoff:
            continue
        flag = stale_heartbeat(seen)
        flags = [*(part.get("flags") or []), flag]
        values = {"status": "interrupted", "ended_at": seen, "flags": flags, "updated_at": now}
        runs = schema.runs
        conn.execute(sa.update(runs).where(runs.c.id == part["id"]).values(values))
        revise(conn, [part["id"]], now, reason=INTERRUPTED.format(seen=seen.isoformat()))
        part.update(values)


def aggregate_job(
    conn: Connection, job_id: str, now: datetime, stale_after_s: float | None = None
) -> bool:
    """Recomputes a job's row on ``conn`` (the caller holds the job's lock).

    Returns:
        False when the job has no parts (nothing written).
    """
    runs = schema.runs
    query = sa.select(runs).where(runs.c.parent_run_id == job_id, runs.c.rank.is_not(None))
    parts = [as_dict(r) for r in conn.execute(query.order_by(runs.c.rank, runs.c.id))]
    if not parts:
        return False
    if stale_after_s is not None:
        _mark_stale_parts(conn, parts, now, stale_after_s)
    ids = [p["id"] for p in parts]
    devices = _children_of(conn, schema.run_devices, ids)
    metrics = _children_of(conn, schema.metrics, ids)
    awaiting = stale_after_s is not None and _last_seen(parts) >= now - timedelta(
        seconds=stale_after_s
    )
    record = job_record(job_id, parts, devices, metrics, awaiting_ranks=awaiting)
    write_run(conn, record, now)
    return True


def _last_seen(parts: list[dict[str, Any]]) -> datetime:
    seen: datetime = max(
        p.get("heartbeat_at") or p.get("ended_at") or p["started_at"] for p in parts
    )
    return seen


def jobs_changed_since(ledger: Ledger, since: datetime) -> list[str]:
    """Ids of jobs with a part written at or after ``since`` (ledger time)."""
    runs = schema.runs
    query = (
        sa.select(runs.c.parent_run_id)
        .where(runs.c.rank.is_not(None), runs.c.updated_at >= since)
        .distinct()
        .order_by(runs.c.parent_run_id)
    )
    with ledger.read() as conn:
        return [str(job) for (job,) in conn.execute(query) if job]


def reaggregate(
    ledger: Ledger, job_ids: Iterable[str], *, stale_after_s: float | None = None
) -> list[str]:
    """Recomputes the rows of the given jobs (parts replayed from a spool, dead ranks).

    Returns:
        The jobs whose row was written.
    """
    return [job for job in job_ids if aggregate(ledger, job, stale_after_s=stale_after_s)]
