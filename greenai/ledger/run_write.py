"""Writing one run record inside a transaction: newest record wins, whoever commits last.

A run's records carry increasing ``record_seq`` numbers; a record that is not newer
than the stored run is skipped. Two writers of the same run can race: the run's own
process writing its final record while another process replays the run's start record
from the shared journal. On PostgreSQL ``SELECT ... FOR UPDATE`` locks nothing while the
row does not exist yet, so the check takes a transaction-scoped advisory lock on the run
id first; on SQLite the transaction's ``BEGIN IMMEDIATE`` already serializes writers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from greenai.ledger import schema
from greenai.ledger.revisions import RECORDED, REPLACED, revise
from greenai.ledger.rows import child_rows, run_row
from greenai.ledger.upsert import upsert

CHILDREN = (
    ("devices", schema.run_devices),
    ("windows", schema.windows),
    ("metrics", schema.metrics),
)
RUN_LOCKS = b"greenai-run:"
JOB_LOCKS = b"greenai-job:"


def lock_key(namespace: bytes, name: str) -> int:
    """An advisory lock key (a signed 64-bit integer) for ``name`` in ``namespace``."""
    digest = hashlib.sha256(namespace + name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def hold_lock(conn: Connection, namespace: bytes, name: str) -> None:
    """Holds the named lock until the end of ``conn``'s transaction (PostgreSQL; SQLite
    needs nothing more)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(namespace, name)}
        )


def superseded(conn: Connection, run_id: str, record_seq: int | None) -> bool:
    """Whether the stored run was written from a record newer than ``record_seq``, or the
    same one (a record without a sequence number always applies). Holds the run's lock
    until the transaction ends."""
    if record_seq is None:
        return False
    hold_lock(conn, RUN_LOCKS, run_id)
    query = sa.select(schema.runs.c.record_seq).where(schema.runs.c.id == run_id)
    stored = conn.execute(query).scalar()
    return stored is not None and int(stored) >= int(record_seq)


def write_run(conn: Connection, record: Mapping[str, Any], now: datetime) -> bool:
    """Upserts a run record and replaces its devices, windows and metrics on ``conn``,
    unless the stored run is newer (see :func:`superseded`); a final run whose figures
    changed gets a new revision (:func:`~greenai.ledger.revisions.revise`).

    Args:
        conn: A connection inside a write transaction.
        record: ``{"run": {runs columns}, "devices": [...], "windows": [...],
            "metrics": [...]}``.
        now: Ledger time: ``created_at`` on the first write (kept after), ``updated_at``.

    Returns:
        Whether the record was written.

    Raises:
        ValueError: No run id, or keys that are not columns.
    """
    row = run_row(record["run"])
    run_id: str = row["id"]
    children = [
        (table, child_rows(table, record.get(key) or (), run_id, f"record[{key!r}]"))
        for key, table in CHILDREN
    ]
    row.update(created_at=now, updated_at=now)
    if superseded(conn, run_id, row["record_seq"]):
        return False
    upsert(conn, schema.runs, row, keys=("id",), keep=("created_at",))
    for table, rows in children:
        conn.execute(sa.delete(table).where(table.c.run_id == run_id))
        if rows:
            conn.execute(sa.insert(table), rows)
    revise(conn, [run_id], now, reason=RECORDED, change_reason=REPLACED)
    return True
