"""Each run row keeps the sequence number of the record it was last written from.

- ``runs.record_seq``: increasing per record of a run (start, heartbeat fallbacks,
  final); a record whose number is not above the stored one is skipped, so a journal
  replayed late never puts an older record over a newer one. NULL on rows written
  before this revision and on imported runs (always applied).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Adds runs.record_seq."""
    op.add_column("runs", sa.Column("record_seq", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Drops it."""
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("record_seq")
