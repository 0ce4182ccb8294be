"""Heartbeats of a SQLite ledger written through the driver, with prepared statements.

A heartbeat comes every few seconds from each running run, and its transaction holds a
handful of rows: the run's totals, its device and window rows, and some tens of power
series rows. Through SQLAlchemy's connection and Core statements, the Python around
each write (connection checkout, transaction events, parameters checked, completed and
bound one value at a time) costs several times the database's own work, in a thread
that wakes from sleep with cold caches. Here the same statements are compiled once for
the dialect, each parameter's bind processor (the one Core applies, so a timestamp or a
JSON value is stored as the same text) is looked up once, and the rows go to sqlite3 as
tuples, one ``executemany`` per table, on one driver connection kept for heartbeats.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FunctionType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect, Engine

from greenai.ledger import schema
from greenai.ledger.heartbeat import write_heartbeat
from greenai.ledger.upsert import insert_or_skip

__all__ = ["SqliteHeartbeats"]


@dataclass(frozen=True)
class _Prepared:
    """A statement compiled for the dialect, run through the driver."""

    sql: str
    plan: tuple[tuple[str, Any, Callable[[Any], Any] | None, bool], ...]
    """Per parameter, in order: its name, the value it defaults to (the statement's own
    literal, else None), its bind processor, and whether that processor is Python code
    whose results are worth keeping within one write (a timestamp repeated across the
    devices of one second is bound once)."""

    @classmethod
    def compile(cls, stmt: Any, dialect: Dialect, columns: Sequence[str]) -> _Prepared:
        compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
        plan = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            default = None if bind.required else bind.effective_value
            plan.append((name, default, process, isinstance(process, FunctionType)))
        return cls(str(compiled), tuple(plan))

    def rows(self, params: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        """Each parameter set as the driver's tuple, bound as Core binds it."""
        kept: dict[tuple[str, type, Any], Any] = {}
        out = []
        for row in params:
            values = []
            for name, default, process, keep in self.plan:
                value = row.get(name, default)
                if keep:
                    value = _bound_once(kept, name, value, process)
                elif process is not None:
                    value = process(value)
                values.append(value)
            out.append(tuple(values))
        return out


def _bound_once(kept: dict[tuple[str, type, Any], Any], name: str, value: Any, process: Any) -> Any:
    """``process(value)``, computed once per parameter and value (by type and equality)."""
    try:
        key = (name, type(value), value)
        if key in kept:
            return kept[key]
    except TypeError:  # unhashable (a JSON value)
        return process(value)
    bound = kept[key] = process(value)
    return bound


class SqliteHeartbeats:
    """Writes heartbeats into a SQLite ledger through one kept driver connection.

    Args:
        engine: The ledger's engine (its connections have the ledger's settings).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._connection: Any = None
        self._prepared: dict[tuple[Any, tuple[str, ...]], _Prepared] = {}

    def save(
        self, record: Mapping[str, Any], series: Sequence[Mapping[str, Any]], now: Any
    ) -> None:
        """Applies the heartbeat record and adds its complete series rows, in one
        transaction (see :func:`~greenai.ledger.heartbeat.apply_heartbeat`).

        Raises:
            NotApplicableError: A row the heartbeat updates is missing (nothing written).
            ValueError: A row lacks a column.
            sqlite3.Error: The database refused the write (nothing written).
        """
        with self._lock:
            if self._connection is None:
                self._connection = self._engine.raw_connection()
            cursor = self._connection.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
                write_heartbeat(
                    record,
                    now,
                    lambda stmt, params: self._run(cursor, stmt, params),
                    sane_multi_rowcount=True,
                )
                if series:
                    self._run(cursor, insert_or_skip("sqlite", schema.series), series)
                cursor.execute("COMMIT")
            except BaseException:
                self._roll_back()
                raise
            finally:
                with contextlib.suppress(Exception):
                    cursor.close()

    def _run(self, cursor: Any, stmt: sa.Executable, params: Sequence[Mapping[str, Any]]) -> int:
        columns = tuple(params[0])
        key = (stmt, columns)  # the statements are built once per process
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = _Prepared.compile(stmt, self._engine.dialect, columns)
            self._prepared[key] = prepared
        cursor.executemany(prepared.sql, prepared.rows(params))
        return int(cursor.rowcount)

    def _roll_back(self) -> None:
        """Undo the transaction left open by a failure; a connection that cannot roll
        back is dropped (a later heartbeat takes a fresh one)."""
        connection = self._connection.driver_connection
        if not connection.in_transaction:
            return
        try:
            connection.rollback()
        except Exception:
            dropped, self._connection = self._connection, None
            with contextlib.suppress(Exception):
                dropped.invalidate()

    def close(self) -> None:
        """Gives the kept connection back to the engine's pool."""
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()
