"""Contractual instruments' MWh given to Scope 2 consumption.

- ``instrument_allocations``: one row per instrument, month and location of consumption
  with the MWh given, when, and by the report of which period; rows are only added, so
  a later report never reuses MWh an earlier one used.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Creates instrument_allocations."""
    op.create_table(
        "instrument_allocations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("instrument_id", sa.String(128), nullable=False),
        sa.Column("location", sa.String(128), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("month_start_at", _TS, nullable=False),
        sa.Column("month_end_at", _TS, nullable=False),
        sa.Column("mwh", sa.Float, nullable=False),
        sa.Column("allocated_at", _TS, nullable=False),
        sa.Column("report_period", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_instrument_allocations"),
    )
    op.create_index(
        "ix_instrument_allocations_instrument_id", "instrument_allocations", ["instrument_id"]
    )
    op.create_index(
        "ix_instrument_allocations_month_start_at", "instrument_allocations", ["month_start_at"]
    )


def downgrade() -> None:
    """Drops it."""
    op.drop_table("instrument_allocations")
