"""A running run's heartbeat: what changed since its last record, in prepared statements.

A heartbeat record holds the run's running totals, its device rows, its open windows
and the metrics logged since the last record. It is written with one statement per
table, built once per process, in one transaction: run through SQLAlchemy (which caches
their compiled form), or compiled once and run through the driver on SQLite
(:mod:`greenai.ledger.sqlite_heartbeat`), both with :func:`write_heartbeat`. It applies
only on top of a full record of the same run: where the run is no longer running or any
row it updates is missing, nothing is written and the caller writes a full record
instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from greenai.ledger import schema
from greenai.ledger.heartbeat_columns import (
    DEVICE_COLUMNS,
    METRIC_COLUMNS,
    RUN_COLUMNS,
    WINDOW_COLUMNS,
)


class NotApplicableError(Exception):
    """The heartbeat does not fit the ledger's rows (a full record is needed)."""


def _values(table: sa.Table, columns: Sequence[str]) -> dict[str, Any]:
    # Bound parameters may not share a name with the columns they set.
    return {name: sa.bindparam(f"v_{name}", type_=table.c[name].type) for name in columns}


@cache
def _run_update() -> sa.Update:
    runs = schema.runs
    values = _values(runs, (*RUN_COLUMNS, "updated_at"))
    return (
        sa.update(runs)
        .where(runs.c.id == sa.bindparam("k_id"), runs.c.status == "running")
        .values(values)
    )


@cache
def _device_update() -> sa.Update:
    devices = schema.run_devices
    return (
        sa.update(devices)
        .where(
            devices.c.run_id == sa.bindparam("k_run_id"),
            devices.c.device_id == sa.bindparam("k_device_id"),
            devices.c.host_id == sa.bindparam("k_host_id"),
        )
        .values(_values(devices, DEVICE_COLUMNS))
    )


@cache
def _window_update() -> sa.Update:
    windows = schema.windows
    return (
        sa.update(windows)
        .where(windows.c.id == sa.bindparam("k_id"), windows.c.run_id == sa.bindparam("k_run_id"))
        .values(_values(windows, WINDOW_COLUMNS))
    )


def _params(row: Mapping[str, Any], columns: Sequence[str], where: str) -> dict[str, Any]:
    try:
        return {f"v_{name}": row[name] for name in columns}
    except KeyError as exc:
        raise ValueError(f"{where} lacks {exc.args[0]!r}") from None


RunStatement = Callable[[Any, list[dict[str, Any]]], int]
"""Runs a statement once per parameter set, in the caller's transaction; returns the
number of rows it matched."""


def _updated(run: RunStatement, stmt: sa.Update, params: list[dict[str, Any]], sane: bool) -> None:
    """Run ``stmt`` for each parameter set; every one must match exactly one row."""
    if not params:
        return
    # A driver that cannot count rows over an executemany runs them one at a time.
    batches = [params] if sane or len(params) == 1 else [[one] for one in params]
    for batch in batches:
        if run(stmt, batch) != len(batch):
            raise NotApplicableError("a row the heartbeat updates is missing")


@cache
def metrics_insert() -> sa.Insert:
    """The statement adding a heartbeat's new metrics."""
    return sa.insert(schema.metrics)


def apply_heartbeat(conn: Connection, record: Mapping[str, Any], now: Any) -> None:
    """Writes a heartbeat record in the caller's transaction, through SQLAlchemy.

    Args:
        conn: A connection inside a write transaction.
        record: ``{"run": {"id", *RUN_COLUMNS}, "devices": [...], "windows": [...],
            "metrics": [...]}``: device rows with device_id, host_id and
            :data:`DEVICE_COLUMNS`; open windows with id and :data:`WINDOW_COLUMNS`;
            new metrics with :data:`METRIC_COLUMNS`.
        now: Ledger time for ``updated_at``.

    Raises:
        NotApplicableError: The run is not running in the ledger, or a device or window row
            is missing: roll back and write a full record.
        ValueError: A row lacks a column.
    """
    write_heartbeat(
        record,
        now,
        lambda stmt, params: int(conn.execute(stmt, params).rowcount),
        sane_multi_rowcount=conn.dialect.supports_sane_multi_rowcount,
    )


def write_heartbeat(
    record: Mapping[str, Any], now: Any, run: RunStatement, *, sane_multi_rowcount: bool
) -> None:
    """Writes a heartbeat record (see :func:`apply_heartbeat`) with ``run``, which
    executes each statement in the caller's transaction.

    Args:
        record: The heartbeat record.
        now: Ledger time for ``updated_at``.
        run: Executes a statement for many parameter sets; the rows it matched.
        sane_multi_rowcount: Whether ``run`` counts the rows of many parameter sets.

    Raises:
        NotApplicableError: A row the heartbeat updates is missing.
        ValueError: A row lacks a column.
    """
    run_row = record["run"]
    run_id = run_row["id"]
    run_params = _params(run_row, RUN_COLUMNS, "record['run']")
    run_params.update(k_id=run_id, v_updated_at=now)
    _updated(run, _run_update(), [run_params], sane_multi_rowcount)
    devices = []
    for row in record.get("devices") or ():
        params = _params(row, DEVICE_COLUMNS, "record['devices']")
        params.update(k_run_id=run_id, k_device_id=row["device_id"], k_host_id=row["host_id"])
        devices.append(params)
    _updated(run, _device_update(), devices, sane_multi_rowcount)
    windows = []
    for row in record.get("windows") or ():
        params = _params(row, WINDOW_COLUMNS, "record['windows']")
        params.update(k_id=row["id"], k_run_id=run_id)
        windows.append(params)
    _updated(run, _window_update(), windows, sane_multi_rowcount)
    metrics = [
        {**{name: row.get(name) for name in METRIC_COLUMNS}, "run_id": run_id}
        for row in record.get("metrics") or ()
    ]
    if metrics:
        run(metrics_insert(), metrics)
