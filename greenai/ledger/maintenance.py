"""Ledger upkeep: stale runs become interrupted; old power series are downsampled."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from greenai.errors import StorageError
from greenai.figures.flags import stale_heartbeat
from greenai.figures.tiers import tier_seconds
from greenai.ledger import schema
from greenai.ledger.revisions import INTERRUPTED, revise
from greenai.ledger.upsert import dialect_insert

_GROUP = ("run_id", "host_id", "device_id")


def mark_stale(conn: Connection, *, stale_after_s: float, now: datetime) -> list[str]:
    """Marks running runs whose last heartbeat (else start) is older than ``stale_after_s``.

    Returns:
        The ids marked ``interrupted``.
    """
    runs = schema.runs
    last_seen = sa.func.coalesce(runs.c.heartbeat_at, runs.c.started_at)
    cutoff = now - timedelta(seconds=stale_after_s)
    stale = conn.execute(
        sa.select(runs.c.id, runs.c.heartbeat_at, runs.c.started_at, runs.c.flags)
        .where(runs.c.status == "running", last_seen < cutoff)
        .order_by(runs.c.id)
    ).all()
    marked: list[str] = []
    for run_id, heartbeat_at, started_at, flags in stale:
        seen = heartbeat_at or started_at
        flag = stale_heartbeat(seen)
        result = conn.execute(
            sa.update(runs)
            .where(runs.c.id == run_id, runs.c.status == "running")
            .values(
                status="interrupted", ended_at=seen, flags=[*(flags or []), flag], updated_at=now
            )
        )
        if result.rowcount:
            marked.append(run_id)
            revise(conn, [run_id], now, reason=INTERRUPTED.format(seen=seen.isoformat()))
    return marked


def _floor(moment: datetime, width_s: int) -> datetime:
    epoch = moment.timestamp()
    return datetime.fromtimestamp(math.floor(epoch / width_s) * width_s, UTC)


def _bucket(conn: Connection, width_s: int) -> Any:
    """SQL for the start of the ``width_s`` bucket holding ``series.ts`` (epoch-aligned)."""
    ts = schema.series.c.ts
    if conn.dialect.name == "sqlite":
        # ts is stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC); keep that format.
        epoch = sa.cast(sa.func.strftime("%s", ts), sa.Integer)
        start = sa.func.strftime("%Y-%m-%d %H:%M:%S", (epoch // width_s) * width_s, "unixepoch")
        return start.op("||")(".000000")
    if conn.dialect.name == "postgresql":
        seconds = sa.func.extract("epoch", ts)
        return sa.func.to_timestamp(sa.func.floor(seconds / width_s) * width_s)
    raise StorageError(f"series compaction supports SQLite and PostgreSQL, not {conn.dialect.name}")


def _merge_into(conn: Connection, src: str, dst: str, cutoff: datetime) -> int:
    """Merges ``src`` rows older than ``cutoff`` into ``dst`` buckets; deletes them."""
    series = schema.series
    older = sa.and_(series.c.tier == src, series.c.ts < cutoff)
    bucket = _bucket(conn, tier_seconds(dst)).label("ts")
    count = sa.func.sum(series.c.sample_count)
    select = (
        sa.select(
            *(series.c[k] for k in _GROUP),
            sa.literal(dst, sa.String).label("tier"),
            bucket,
            (sa.func.sum(series.c.power_w * series.c.sample_count) / count).label("power_w"),
            sa.func.sum(series.c.energy_j).label("energy_j"),
            count.label("sample_count"),
        )
        .where(older)
        .group_by(*(series.c[k] for k in _GROUP), bucket)
    )
    columns = [*_GROUP, "tier", "ts", "power_w", "energy_j", "sample_count"]
    stmt = dialect_insert(conn, series).from_select(columns, select)
    new = stmt.excluded
    total = series.c.sample_count + new.sample_count
    stmt = stmt.on_conflict_do_update(
        index_elements=[*_GROUP, "tier", "ts"],
        set_={
            "power_w": (series.c.power_w * series.c.sample_count + new.power_w * new.sample_count)
            / total,
            "energy_j": sa.func.coalesce(
                series.c.energy_j + new.energy_j, series.c.energy_j, new.energy_j
            ),
            "sample_count": total,
        },
    )
    conn.execute(stmt)
    return int(conn.execute(sa.delete(series).where(older)).rowcount)


def compact(engine: Engine, *, tiers: Sequence[tuple[str, int]], now: datetime) -> dict[str, int]:
    """Downsamples each tier past its age into the next one (one transaction per tier).

    Returns:
        Tier -> rows removed from it.
    """
    for tier, _days in tiers:
        tier_seconds(tier)  # refuse a bad tier before touching anything
    removed: dict[str, int] = {}
    for index, (tier, days) in enumerate(tiers):
        removed[tier] = 0
        if days <= 0:
            continue
        cutoff = now - timedelta(days=days)
        with engine.begin() as conn:
            if index + 1 < len(tiers):
                coarser = tiers[index + 1][0]
                # Whole buckets only: a bucket is never split between two compactions.
                aligned = _floor(cutoff, tier_seconds(coarser))
                removed[tier] = _merge_into(conn, tier, coarser, aligned)
            else:
                series = schema.series
                result = conn.execute(
                    sa.delete(series).where(series.c.tier == tier, series.c.ts < cutoff)
                )
                removed[tier] = int(result.rowcount)
    return removed
