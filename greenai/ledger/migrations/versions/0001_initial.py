"""The first ledger schema: runs, their devices, windows and metrics, power series,
node energy and ledger settings.

Written out in full (not ``metadata.create_all``) so that later revisions diff against
it. Timestamps are ``DateTime(timezone=True)``; greenai's ``UtcDateTime`` type stores
them as naive UTC on SQLite.

Revision ID: 0001
Revises:
Create Date: 2026-11-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)
_SERIES_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _create_runs() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("parent_run_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("project", sa.String(200), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("base_model", sa.String(200), nullable=True),
        sa.Column("technique", sa.String(100), nullable=True),
        sa.Column("precision", sa.String(50), nullable=True),
        sa.Column("phase", sa.String(50), nullable=True),
        sa.Column("batch_size", sa.Integer(), nullable=True),
        sa.Column("seq_len", sa.Integer(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("heartbeat_at", _TS, nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("energy_j", sa.Float(), nullable=False),
        sa.Column("facility_energy_j", sa.Float(), nullable=False),
        sa.Column("pue", sa.Float(), nullable=False),
        sa.Column("energy_gpu_j", sa.Float(), nullable=False),
        sa.Column("energy_cpu_j", sa.Float(), nullable=False),
        sa.Column("energy_dram_j", sa.Float(), nullable=False),
        sa.Column("energy_other_j", sa.Float(), nullable=False),
        sa.Column("energy_by_kind", sa.JSON(), nullable=False),
        sa.Column("measured_energy_j", sa.Float(), nullable=False),
        sa.Column("tokens_input", sa.BigInteger(), nullable=False),
        sa.Column("tokens_output", sa.BigInteger(), nullable=False),
        sa.Column("samples", sa.BigInteger(), nullable=False),
        sa.Column("emissions_kg", sa.Float(), nullable=False),
        sa.Column("intensity_g_per_kwh", sa.Float(), nullable=True),
        sa.Column("intensity_source", sa.String(200), nullable=True),
        sa.Column("codecarbon_version", sa.String(32), nullable=True),
        sa.Column("country", sa.String(3), nullable=True),
        sa.Column("region", sa.String(100), nullable=True),
        sa.Column("cloud_provider", sa.String(50), nullable=True),
        sa.Column("cloud_region", sa.String(100), nullable=True),
        sa.Column("wue_l_per_kwh", sa.Float(), nullable=True),
        sa.Column("water_l", sa.Float(), nullable=True),
        sa.Column("price_per_kwh", sa.Float(), nullable=True),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(8), nullable=True),
        sa.Column("host_id", sa.String(128), nullable=True),
        sa.Column("user_id", sa.String(128), nullable=True),
        sa.Column("hardware", sa.String(300), nullable=True),
        sa.Column("mode", sa.String(16), nullable=True),
        sa.Column("attribution", sa.String(32), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("command", sa.Text(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("greenai_version", sa.String(32), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    for column in ("parent_run_id", "status", "project", "started_at", "host_id", "created_at"):
        op.create_index(f"ix_runs_{column}", "runs", [column])


def _create_run_children() -> None:
    op.create_table(
        "run_devices",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(128), nullable=False),
        sa.Column("host_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("uuid", sa.String(100), nullable=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("energy_j", sa.Float(), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_run_devices_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "device_id", "host_id", name="pk_run_devices"),
    )
    op.create_table(
        "windows",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("parent_window_id", sa.String(64), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("energy_j", sa.Float(), nullable=True),
        sa.Column("energy_by_kind", sa.JSON(), nullable=False),
        sa.Column("tokens_input", sa.BigInteger(), nullable=False),
        sa.Column("tokens_output", sa.BigInteger(), nullable=False),
        sa.Column("samples", sa.BigInteger(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_windows_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_windows"),
    )
    op.create_index("ix_windows_run_id", "windows", ["run_id"])
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("logged_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_metrics_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_metrics"),
    )
    op.create_index("ix_metrics_run_id", "metrics", ["run_id"])


def _create_node_tables() -> None:
    op.create_table(
        "series",
        sa.Column("id", _SERIES_ID, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(64), server_default=sa.text("''"), nullable=False),
        sa.Column("host_id", sa.String(128), server_default=sa.text("''"), nullable=False),
        sa.Column("device_id", sa.String(128), nullable=False),
        sa.Column("tier", sa.String(4), nullable=False),
        sa.Column("ts", _TS, nullable=False),
        sa.Column("power_w", sa.Float(), nullable=False),
        sa.Column("energy_j", sa.Float(), nullable=True),
        sa.Column("sample_count", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_series"),
        sa.UniqueConstraint(
            "run_id",
            "host_id",
            "device_id",
            "tier",
            "ts",
            name="uq_series_run_id_host_id_device_id_tier_ts",
        ),
    )
    op.create_index("ix_series_run_tier_ts", "series", ["run_id", "tier", "ts"])
    op.create_index("ix_series_host_tier_ts", "series", ["host_id", "tier", "ts"])
    op.create_table(
        "node_energy",
        sa.Column("id", _SERIES_ID, autoincrement=True, nullable=False),
        sa.Column("host_id", sa.String(128), nullable=False),
        sa.Column("device_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("start_at", _TS, nullable=False),
        sa.Column("end_at", _TS, nullable=False),
        sa.Column("energy_j", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_node_energy"),
    )
    op.create_index("ix_node_energy_host_id", "node_energy", ["host_id"])
    op.create_index("ix_node_energy_start_at", "node_energy", ["start_at"])
    op.create_table(
        "ledger_meta",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_ledger_meta"),
    )


def upgrade() -> None:
    """Creates every table of the first schema."""
    _create_runs()
    _create_run_children()
    _create_node_tables()


def downgrade() -> None:
    """Drops every table (children first)."""
    for table in ("ledger_meta", "node_energy", "series", "metrics", "windows", "run_devices"):
        op.drop_table(table)
    op.drop_table("runs")
