"""Runs store the evidence of their emission factor.

- ``runs.factor_evidence``: the factor's dataset, vintage year, basis (life-cycle,
  combustion or unknown), GWP set and the generation mix of its grid
  (:class:`greenai.figures.evidence.FactorEvidence`), as resolved when the run was
  recorded or imported, so a report states them without the installed CodeCarbon.
  NULL on rows written before this revision (reported as not recorded).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Adds runs.factor_evidence."""
    op.add_column("runs", sa.Column("factor_evidence", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drops it."""
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("factor_evidence")
