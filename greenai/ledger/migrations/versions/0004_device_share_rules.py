"""Each device row says how the run's share of the device was decided, and its notes.

- ``run_devices.share_rule``: exclusive, process_list, cpu_time, equal_split,
  mig_slices, local_rank, visible_devices, ... (rules of one segment joined by ``+``,
  of several segments by ``,``); NULL on rows written before this revision.
- ``run_devices.notes``: the device's remarks (MIG, a power-only GPU's integration),
  a JSON list; NULL before this revision.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Adds run_devices.share_rule and run_devices.notes."""
    op.add_column("run_devices", sa.Column("share_rule", sa.String(200), nullable=True))
    op.add_column("run_devices", sa.Column("notes", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drops them."""
    with op.batch_alter_table("run_devices") as batch:
        batch.drop_column("notes")
        batch.drop_column("share_rule")
