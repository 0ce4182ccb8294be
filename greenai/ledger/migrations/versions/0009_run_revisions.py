"""Revisions of each run's final figures and of the report configuration, for reports
that reproduce a past as-of time.

- ``run_revisions``: every column of ``runs``, plus the revision number, the ledger time it
  was recorded at and the reason. Rows are only added. The runs already final at upgrade
  become revision 1, recorded at their ``created_at`` with the reason ``held at upgrade``
  (what they held before is not known): their later updates stay flagged as before.
- ``report_inputs``: each revision of the report configuration (settings a report reads,
  the instruments and market-factor files' text), with its SHA-256, when and why.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)
_RUN_COLUMNS = (
    ("id", sa.String(64), False),
    ("parent_run_id", sa.String(64), True),
    ("status", sa.String(16), False),
    ("name", sa.String(200), True),
    ("project", sa.String(200), True),
    ("model", sa.String(200), True),
    ("base_model", sa.String(200), True),
    ("technique", sa.String(100), True),
    ("precision", sa.String(50), True),
    ("phase", sa.String(50), True),
    ("batch_size", sa.Integer, True),
    ("seq_len", sa.Integer, True),
    ("tags", sa.JSON, False),
    ("started_at", _TS, False),
    ("ended_at", _TS, True),
    ("heartbeat_at", _TS, True),
    ("duration_s", sa.Float, False),
    ("energy_j", sa.Float, False),
    ("facility_energy_j", sa.Float, False),
    ("pue", sa.Float, False),
    ("energy_gpu_j", sa.Float, False),
    ("energy_cpu_j", sa.Float, False),
    ("energy_dram_j", sa.Float, False),
    ("energy_other_j", sa.Float, False),
    ("energy_by_kind", sa.JSON, False),
    ("measured_energy_j", sa.Float, False),
    ("tokens_input", sa.BigInteger, False),
    ("tokens_output", sa.BigInteger, False),
    ("samples", sa.BigInteger, False),
    ("emissions_kg", sa.Float, False),
    ("intensity_g_per_kwh", sa.Float, True),
    ("intensity_source", sa.String(200), True),
    ("codecarbon_version", sa.String(32), True),
    ("country", sa.String(3), True),
    ("region", sa.String(100), True),
    ("cloud_provider", sa.String(50), True),
    ("cloud_region", sa.String(100), True),
    ("wue_l_per_kwh", sa.Float, True),
    ("water_l", sa.Float, True),
    ("price_per_kwh", sa.Float, True),
    ("cost", sa.Float, True),
    ("currency", sa.String(8), True),
    ("host_id", sa.String(128), True),
    ("user_id", sa.String(128), True),
    ("hardware", sa.String(300), True),
    ("mode", sa.String(16), True),
    ("attribution", sa.String(32), True),
    ("flags", sa.JSON, False),
    ("command", sa.Text, True),
    ("exit_code", sa.Integer, True),
    ("error", sa.Text, True),
    ("greenai_version", sa.String(32), True),
    ("created_at", _TS, False),
    ("updated_at", _TS, False),
    ("rank", sa.Integer, True),
    ("world_size", sa.Integer, True),
    ("hosts", sa.JSON, True),
    ("record_seq", sa.BigInteger, True),
    ("factor_evidence", sa.JSON, True),
)
UPGRADE_REASON = "held at upgrade"


def upgrade() -> None:
    """Creates run_revisions (the final runs held now as revision 1) and report_inputs."""
    op.create_table(
        "run_revisions",
        *(sa.Column(name, kind, nullable=nullable) for name, kind, nullable in _RUN_COLUMNS),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id", "revision", name="pk_run_revisions"),
    )
    op.create_index("ix_run_revisions_recorded_at", "run_revisions", ["recorded_at"])
    op.create_index("ix_run_revisions_started_at", "run_revisions", ["started_at"])
    op.create_table(
        "report_inputs",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("name", "revision", name="pk_report_inputs"),
    )
    names = ", ".join(f'"{name}"' for name, _, _ in _RUN_COLUMNS)  # quoted: "rank", ...
    op.execute(
        sa.text(
            f"INSERT INTO run_revisions ({names}, revision, recorded_at, reason) "
            f"SELECT {names}, 1, created_at, :reason FROM runs WHERE status <> 'running'"
        ).bindparams(reason=UPGRADE_REASON)
    )


def downgrade() -> None:
    """Drops them."""
    op.drop_table("report_inputs")
    op.drop_table("run_revisions")
