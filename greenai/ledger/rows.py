"""Checking and completing the rows of a record before they are written."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import sqlalchemy as sa

from greenai.ledger import schema


def column_default(column: sa.Column[Any]) -> Any:
    """The Python-side default of ``column`` (None when it has none)."""
    default = column.default
    if default is None or not isinstance(default, sa.ColumnDefault):
        return None
    if default.is_callable:
        return default.arg(None)  # SQLAlchemy wraps zero-argument callables: fn(ctx)
    return default.arg


def check_keys(table: sa.Table, row: Mapping[str, Any], where: str) -> None:
    """Refuses keys that are not columns of ``table``.

    Raises:
        ValueError: Unknown keys, named.
    """
    unknown = set(row) - set(table.c.keys())
    if unknown:
        raise ValueError(f"unknown {table.name} column(s) in {where}: {', '.join(sorted(unknown))}")


def complete(
    table: sa.Table,
    rows: Iterable[Mapping[str, Any]],
    where: str,
    *,
    fixed: Mapping[str, Any] | None = None,
    skip: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """Rows with every column of ``table`` (missing ones get their defaults).

    Args:
        table: The target table.
        rows: Rows as given (a subset of the columns).
        where: Where the rows come from, for error messages (``record['windows']``).
        fixed: Values that replace whatever the rows hold (``run_id``).
        skip: Columns left out (autoincrement ids).

    Raises:
        ValueError: A row has a key that is not a column.
    """
    names = _column_names(table)
    plan = _completion_plan(table, frozenset(skip))
    out: list[dict[str, Any]] = []
    for row in rows:
        if not names.issuperset(row):
            check_keys(table, row, where)
        full = {
            name: row[name]
            if name in row
            else (constant if column is None else column_default(column))
            for name, column, constant in plan
        }
        if fixed:
            full.update(fixed)
        out.append(full)
    return out


@cache
def _column_names(table: sa.Table) -> frozenset[str]:
    return frozenset(table.c.keys())


@cache
def _completion_plan(
    table: sa.Table, skip: frozenset[str]
) -> tuple[tuple[str, sa.Column[Any] | None, Any], ...]:
    """Per column: its name, the column when its default is computed per row (else None),
    and the constant default otherwise."""
    plan = []
    for column in table.columns:
        if column.name in skip:
            continue
        default = column.default
        per_row = isinstance(default, sa.ColumnDefault) and default.is_callable
        plan.append((column.name, column if per_row else None, column_default(column)))
    return tuple(plan)


def run_row(run: Mapping[str, Any]) -> dict[str, Any]:
    """The runs row of a record, complete, without created_at/updated_at (set by the ledger).

    Raises:
        ValueError: No id, or unknown keys.
    """
    run_id = run.get("id")
    if not isinstance(run_id, str) or not run_id:
        raise ValueError("record['run']['id'] must be a non-empty string")
    (row,) = complete(schema.runs, [run], "record['run']", skip=("created_at", "updated_at"))
    return row


def child_rows(
    table: sa.Table, rows: Iterable[Mapping[str, Any]], run_id: str, where: str
) -> list[dict[str, Any]]:
    """Rows of a run's devices, windows or metrics, tied to ``run_id``."""
    skip = ("id",) if table is schema.metrics else ()
    cleaned = [{k: v for k, v in row.items() if k not in skip} for row in rows]
    return complete(table, cleaned, where, fixed={"run_id": run_id}, skip=skip)


def series_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Series rows, complete: run_id and host_id "" when absent or None.

    Raises:
        ValueError: Unknown keys, or a required value (device_id, tier, ts, power_w) missing.
    """
    out = complete(schema.series, rows, "series rows", skip=("id",))
    for row in out:
        for key in ("run_id", "host_id"):
            if row[key] is None:
                row[key] = ""
        if row["sample_count"] is None:
            row["sample_count"] = 1
        missing = [k for k in ("device_id", "tier", "ts", "power_w") if row[k] is None]
        if missing:
            raise ValueError(f"series row without {', '.join(missing)}: {row}")
    return out


def as_dict(row: sa.Row[Any], drop: Iterable[str] = ()) -> dict[str, Any]:
    """A result row as a plain dict, without the ``drop`` keys."""
    dropped = set(drop)
    return {k: v for k, v in row._mapping.items() if k not in dropped}
