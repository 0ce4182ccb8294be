"""INSERT ... ON CONFLICT on SQLite and PostgreSQL, and a portable fallback elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

CHUNK_ROWS = 500


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    """The dialect's ``insert`` with ``on_conflict_*``, or None when it has none."""
    return _dialect_insert(conn.dialect.name, table)


def _dialect_insert(dialect_name: str, table: sa.Table) -> Any:
    if dialect_name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    if dialect_name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    return None


@cache
def insert_or_skip(dialect_name: str, table: sa.Table) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` for ``table``, built once per dialect."""
    stmt = _dialect_insert(dialect_name, table)
    return None if stmt is None else stmt.on_conflict_do_nothing()


def _key_clause(table: sa.Table, row: dict[str, Any], keys: Sequence[str]) -> Any:
    return sa.and_(*(table.c[k] == row[k] for k in keys))


def upsert(
    conn: Connection,
    table: sa.Table,
    row: dict[str, Any],
    keys: Sequence[str],
    keep: Sequence[str] = (),
) -> None:
    """Inserts ``row`` or, when its ``keys`` exist, updates every column but ``keep``."""
    stmt = dialect_insert(conn, table)
    updates = [c for c in row if c not in keys and c not in keep]
    if stmt is not None:
        stmt = stmt.values(row)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in updates}
        )
        conn.execute(stmt)
        return
    found = conn.execute(sa.select(sa.literal(1)).where(_key_clause(table, row, keys))).first()
    if found is None:
        conn.execute(sa.insert(table), [row])
    else:
        values = {c: row[c] for c in updates}
        conn.execute(sa.update(table).where(_key_clause(table, row, keys)).values(values))


def insert_ignore(
    conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Inserts ``rows``; those whose ``keys`` already exist are left alone."""
    stmt = insert_or_skip(conn.dialect.name, table)
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = list(rows[start : start + CHUNK_ROWS])
        if stmt is not None:
            conn.execute(stmt, chunk)
            continue
        for row in chunk:
            found = conn.execute(
                sa.select(sa.literal(1)).where(_key_clause(table, row, keys))
            ).first()
            if found is None:
                conn.execute(sa.insert(table), [row])
