"""Index series by (tier, ts) for compaction; give the ledger its own id.

The id (``ledger_meta`` key ``ledger_id``, 32 hex digits) names a ledger in exports
and reports, so two ledgers are never mistaken for one another.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-20
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_META = sa.table("ledger_meta", sa.column("key", sa.String()), sa.column("value", sa.Text()))


def upgrade() -> None:
    """Adds ix_series_tier_ts and the ledger_id row (kept if one is there already)."""
    op.create_index("ix_series_tier_ts", "series", ["tier", "ts"])
    bind = op.get_bind()
    present = bind.execute(sa.select(_META.c.key).where(_META.c.key == "ledger_id")).first()
    if present is None:
        op.execute(_META.insert().values(key="ledger_id", value=uuid.uuid4().hex))


def downgrade() -> None:
    """Drops the index and the ledger_id row."""
    op.execute(_META.delete().where(_META.c.key == "ledger_id"))
    op.drop_index("ix_series_tier_ts", table_name="series")
