"""The ledger's record of contractual instruments' MWh given to Scope 2 consumption
(table ``instrument_allocations``): rows are only added, never changed, so each MWh an
instrument gave stays given, whichever report reads it later.

:func:`settle` reads what was given and adds what a plan decides in one transaction,
holding a table lock on PostgreSQL and SQLite's write lock, so two
reports built at once cannot give the same MWh twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from greenai.ledger.schema import instrument_allocations

if TYPE_CHECKING:
    from greenai.figures.instruments import Allocation

__all__ = ["read_allocations", "settle"]


def _rows_to_allocations(rows: Sequence[sa.Row[tuple[object, ...]]]) -> list[Allocation]:
    from greenai.figures.instruments import Allocation

    return [
        Allocation(
            str(r.instrument_id),
            str(r.month),
            r.month_start_at,
            r.month_end_at,
            str(r.location),
            float(r.mwh),
        )
        for r in rows
    ]


def _select() -> sa.Select[tuple[object, ...]]:
    t = instrument_allocations
    return sa.select(
        t.c.instrument_id, t.c.month, t.c.month_start_at, t.c.month_end_at, t.c.location, t.c.mwh
    ).order_by(t.c.month_start_at, t.c.location, t.c.id)


def read_allocations(engine: sa.Engine) -> list[Allocation]:
    """Every allocation recorded, oldest month first."""
    with engine.connect() as conn:
        return _rows_to_allocations(conn.execute(_select()).all())


def settle(
    engine: sa.Engine,
    plan: Callable[[list[Allocation]], list[Allocation]],
    *,
    report_period: str,
    as_of: datetime | None = None,
    now: datetime | None = None,
) -> list[Allocation]:
    """Reads the recorded allocations, asks ``plan`` for new ones and records them, in one
    transaction.

    Args:
        engine: The ledger's engine.
        plan: Recorded allocations -> allocations to add.
        report_period: The label of the report that adds them (recorded with each row).
        as_of: Only the allocations recorded by then count (a report as of a past time
            sees what the ledger held then). When some were recorded later, the plan's
            allocations are what a report at ``as_of`` would have made: returned, not
            recorded (the ledger has moved on).
        now: When they are made (default: the current UTC time).

    Returns:
        Every allocation after the addition (recorded first, then the new ones).
    """
    moment = now or datetime.now(UTC)
    t = instrument_allocations
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("LOCK TABLE instrument_allocations IN SHARE ROW EXCLUSIVE MODE")
        else:  # a write statement first: SQLite takes its write lock before the read
            conn.execute(sa.delete(instrument_allocations).where(sa.false()))
        query = _select() if as_of is None else _select().where(t.c.allocated_at <= as_of)
        stored = _rows_to_allocations(conn.execute(query).all())
        new = plan(stored)
        later = (
            as_of is not None
            and conn.execute(sa.select(sa.exists().where(t.c.allocated_at > as_of))).scalar()
        )
        if new and not later:
            conn.execute(
                sa.insert(instrument_allocations),
                [
                    {
                        "instrument_id": a.instrument_id,
                        "location": a.location,
                        "month": a.month,
                        "month_start_at": a.start_utc,
                        "month_end_at": a.end_utc,
                        "mwh": a.mwh,
                        "allocated_at": moment,
                        "report_period": report_period,
                    }
                    for a in new
                ],
            )
    return [*stored, *new]
