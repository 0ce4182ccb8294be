"""Basic reads of the ledger as pandas DataFrames (timestamps aware UTC)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from greenai.figures.tiers import tier_seconds
from greenai.ledger import schema
from greenai.ledger.limits import storable

if TYPE_CHECKING:
    from greenai.ledger import Ledger

RUN_COLUMNS = tuple(c.name for c in schema.runs.columns)


@dataclass(frozen=True, slots=True)
class RunFilter:
    """Which runs to read.

    Attributes:
        start, end: Runs that started in ``[start, end)`` (aware datetimes), if set.
        projects, phases, hardware, models: Keep only these values (empty: all).
        root_only: Only runs without a parent (totals count root runs only).
        statuses: Keep only these statuses (empty: all).
        as_of: The runs as the ledger held them at that time: each final run by its
            latest revision recorded by then, a run that was still running then by its
            current row with the status ``running`` (see :func:`runs_frame`).
        active_at: Only runs that may still draw energy at or after this moment: ended
            at or after it, not ended, or started at or after it (a superset of the
            runs whose span reaches it; the caller decides exactly).
    """

    start: datetime | None = None
    end: datetime | None = None
    projects: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    hardware: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    root_only: bool = True
    statuses: tuple[str, ...] = ()
    as_of: datetime | None = None
    active_at: datetime | None = None


def _where(flt: RunFilter, runs: sa.Table = schema.runs) -> list[Any]:
    clauses: list[Any] = []
    if flt.start is not None:
        clauses.append(runs.c.started_at >= flt.start)
    if flt.end is not None:
        clauses.append(runs.c.started_at < flt.end)
    for column, values in (
        (runs.c.project, flt.projects),
        (runs.c.phase, flt.phases),
        (runs.c.hardware, flt.hardware),
        (runs.c.model, flt.models),
        (runs.c.status, flt.statuses),
    ):
        if values:  # a value the ledger cannot hold (a lone surrogate, NUL) matches no row
            kept = [v for v in values if storable(v)]
            clauses.append(column.in_(kept) if kept else sa.false())
    if flt.root_only:
        clauses.append(runs.c.parent_run_id.is_(None))
    if flt.as_of is not None:
        clauses.append(runs.c.created_at <= flt.as_of)
    if flt.active_at is not None:
        clauses.append(
            sa.or_(
                runs.c.ended_at >= flt.active_at,
                runs.c.ended_at.is_(None),
                runs.c.started_at >= flt.active_at,
            )
        )
    return clauses


def _frame(ledger: Ledger, query: Any, columns: Sequence[str]) -> pd.DataFrame:
    with ledger.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    frame = pd.DataFrame(rows, columns=list(columns))
    return frame


def runs_frame(ledger: Ledger, flt: RunFilter | None = None) -> pd.DataFrame:
    """Run rows (every column of the runs table), oldest first.

    With ``flt.as_of``, the rows the ledger held at that time: a final run's latest
    revision recorded by then (:mod:`greenai.ledger.revisions`), with ``revision`` and
    ``revision_reason`` added: nothing recorded later changes it; a run that had no final
    figures yet was running then: its current row, status ``running``, revision empty.
    The filter applies to the figures as held.
    """
    flt = flt or RunFilter()
    if flt.as_of is None:
        runs = schema.runs
        query = sa.select(runs).where(*_where(flt)).order_by(runs.c.started_at)
        return _frame(ledger, query, RUN_COLUMNS)
    return _held_frame(ledger, flt, flt.as_of)


HELD_COLUMNS = (*RUN_COLUMNS, "revision", "revision_reason")


def _held_frame(ledger: Ledger, flt: RunFilter, as_of: datetime) -> pd.DataFrame:
    rev, runs = schema.run_revisions, schema.runs
    other = rev.alias("other_revision")
    held_revision = (
        sa.select(sa.func.max(other.c.revision))
        .where(other.c.id == rev.c.id, other.c.recorded_at <= as_of)
        .scalar_subquery()
    )
    final = sa.select(
        *(rev.c[c] for c in RUN_COLUMNS),
        rev.c.revision,
        rev.c.reason.label("revision_reason"),
    ).where(rev.c.revision == held_revision, *_where(flt, rev))
    unsettled = sa.exists().where(rev.c.id == runs.c.id, rev.c.recorded_at <= as_of)
    running = sa.select(runs).where(~unsettled, *_where(replace(flt, statuses=()), runs))
    with ledger.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(final)]
        held = [dict(r._mapping, status="running") for r in conn.execute(running)]
    if flt.statuses:
        held = [r for r in held if r["status"] in flt.statuses]
    frame = pd.DataFrame([*rows, *held], columns=list(HELD_COLUMNS))
    order = frame.sort_values(["started_at", "id"], kind="stable").index
    return frame.loc[order].reset_index(drop=True)


def _children(ledger: Ledger, table: sa.Table, run_ids: Sequence[str], order: Any) -> pd.DataFrame:
    columns = [c.name for c in table.columns]
    if not run_ids:
        return pd.DataFrame(columns=columns)
    frames = []
    ids = list(run_ids)
    for i in range(0, len(ids), 500):  # keep IN lists within every database's limits
        chunk = ids[i : i + 500]
        query = sa.select(table).where(table.c.run_id.in_(chunk)).order_by(order)
        frames.append(_frame(ledger, query, columns))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def windows_frame(ledger: Ledger, run_ids: Sequence[str]) -> pd.DataFrame:
    """Windows of the given runs."""
    return _children(ledger, schema.windows, run_ids, schema.windows.c.started_at)


def metrics_frame(ledger: Ledger, run_ids: Sequence[str]) -> pd.DataFrame:
    """Quality metrics of the given runs."""
    return _children(ledger, schema.metrics, run_ids, schema.metrics.c.id)


def devices_frame(ledger: Ledger, run_ids: Sequence[str]) -> pd.DataFrame:
    """Per-device energy of the given runs."""
    return _children(ledger, schema.run_devices, run_ids, schema.run_devices.c.device_id)


def child_runs_frame(ledger: Ledger, run_id: str) -> pd.DataFrame:
    """Runs whose parent is ``run_id``."""
    runs = schema.runs
    query = sa.select(runs).where(runs.c.parent_run_id == run_id).order_by(runs.c.started_at)
    return _frame(ledger, query, RUN_COLUMNS)


def series_frame(ledger: Ledger, run_id: str, tier: str | None = None) -> pd.DataFrame:
    """A run's power series per device: the finest tier stored unless ``tier`` is given."""
    series = schema.series
    columns = ["device_id", "tier", "ts", "power_w", "energy_j"]
    with ledger.read() as conn:
        if tier is None:
            tiers = {
                t
                for (t,) in conn.execute(
                    sa.select(series.c.tier).where(series.c.run_id == run_id).distinct()
                )
            }
            tier = min(tiers, key=tier_seconds) if tiers else "1s"
        query = (
            sa.select(*(series.c[c] for c in columns))
            .where(series.c.run_id == run_id, series.c.tier == tier)
            .order_by(series.c.device_id, series.c.ts)
        )
        rows = [dict(r._mapping) for r in conn.execute(query)]
    return pd.DataFrame(rows, columns=columns)


def filter_options(ledger: Ledger) -> dict[str, list[str]]:
    """Distinct projects, phases, hardware and models of root runs, for filter widgets."""
    runs = schema.runs
    out: dict[str, list[str]] = {}
    with ledger.read() as conn:
        for name, column in (
            ("projects", runs.c.project),
            ("phases", runs.c.phase),
            ("hardware", runs.c.hardware),
            ("models", runs.c.model),
        ):
            query = sa.select(column).where(column.is_not(None)).distinct().order_by(column)
            out[name] = [v for (v,) in conn.execute(query)]
    return out


def node_energy_rows(
    ledger: Ledger, start: datetime, end: datetime, as_of: datetime | None = None
) -> list[dict[str, Any]]:
    """Node-level energy rows (written by agents) overlapping ``[start, end)``, ended by
    ``as_of`` when given, ordered by host, device and start."""
    table = schema.node_energy
    query = sa.select(table).where(table.c.start_at < end, table.c.end_at > start)
    if as_of is not None:
        query = query.where(table.c.end_at <= as_of)
    query = query.order_by(table.c.host_id, table.c.device_id, table.c.start_at, table.c.id)
    with ledger.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
