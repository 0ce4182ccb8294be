"""Multi-rank jobs and idempotent node energy.

- ``runs.rank``, ``runs.world_size``, ``runs.hosts``: a rank's part of a multi-rank job
  is a child run that holds its rank; the job's row (the root run) aggregates its parts
  and lists their hosts.
- ``uq_node_energy_interval``: one row per (host, device, interval start), so a node
  agent may write an interval again after a failed commit. Duplicates already there
  (same host, device and start) are removed first, keeping the oldest row.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_NODE = sa.table(
    "node_energy",
    sa.column("id", sa.BigInteger()),
    sa.column("host_id", sa.String()),
    sa.column("device_id", sa.String()),
    sa.column("start_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    """Adds the rank columns and the unique node-energy interval index."""
    op.add_column("runs", sa.Column("rank", sa.Integer(), nullable=True))
    op.add_column("runs", sa.Column("world_size", sa.Integer(), nullable=True))
    op.add_column("runs", sa.Column("hosts", sa.JSON(), nullable=True))
    keep = (
        sa.select(sa.func.min(_NODE.c.id))
        .group_by(_NODE.c.host_id, _NODE.c.device_id, _NODE.c.start_at)
        .scalar_subquery()
    )
    op.execute(_NODE.delete().where(_NODE.c.id.not_in(keep)))
    op.create_index(
        "uq_node_energy_interval",
        "node_energy",
        ["host_id", "device_id", "start_at"],
        unique=True,
    )


def downgrade() -> None:
    """Drops the index and the rank columns."""
    op.drop_index("uq_node_energy_interval", table_name="node_energy")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("hosts")
        batch.drop_column("world_size")
        batch.drop_column("rank")
