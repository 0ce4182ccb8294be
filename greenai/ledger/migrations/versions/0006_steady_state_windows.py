"""Windows say whether the caller marked them steady state.

- ``windows.steady_state``: true for a window opened with
  ``run.window(name, steady_state=True)`` (every measured window of ``greenai bench``):
  ramp-up and drain kept outside it, so its energy per token is the workload's own.
  Comparisons use such windows where a run has them; a window's name is never taken as
  the mark. False on rows written before this revision.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Adds windows.steady_state."""
    op.add_column(
        "windows",
        sa.Column("steady_state", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    """Drops it."""
    with op.batch_alter_table("windows") as batch:
        batch.drop_column("steady_state")
