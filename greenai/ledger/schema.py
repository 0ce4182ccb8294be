"""The ledger's tables (SQLAlchemy Core). Changes go through an Alembic migration.

Units are in column names; timestamps are timezone-aware UTC; JSON columns hold
plain dicts and lists. Any change here needs a new revision in
``greenai/ledger/migrations/versions/`` (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timestamp that is timezone-aware UTC in and out, on every database.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is stored
    as naive UTC and made aware again when read. Naive datetimes given in are taken as
    UTC; ISO 8601 strings are accepted (records replayed from the spool).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Converts a datetime (or ISO string) to what the database stores."""
        if value is None:
            return None
        moment = to_utc(value)
        return moment if dialect.name == "postgresql" else moment.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Converts what the database returned to an aware UTC datetime."""
        return None if value is None else to_utc(value)


def to_utc(value: datetime | str) -> datetime:
    """An aware UTC datetime from a datetime or an ISO 8601 string (naive = UTC).

    Raises:
        TypeError: ``value`` is neither a datetime nor a string.
        ValueError: ``value`` is a string that is not ISO 8601.
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime or an ISO 8601 string, got {type(value).__name__}")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("parent_run_id", sa.String(64), nullable=True, index=True),
    # running | completed | failed | interrupted
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=True),
    sa.Column("project", sa.String(200), nullable=True, index=True),
    sa.Column("model", sa.String(200), nullable=True),
    sa.Column("base_model", sa.String(200), nullable=True),
    sa.Column("technique", sa.String(100), nullable=True),
    sa.Column("precision", sa.String(50), nullable=True),
    sa.Column("phase", sa.String(50), nullable=True),
    sa.Column("batch_size", sa.Integer, nullable=True),
    sa.Column("seq_len", sa.Integer, nullable=True),
    sa.Column("tags", sa.JSON, nullable=False, default=dict),
    sa.Column("started_at", UtcDateTime(), nullable=False, index=True),
    sa.Column("ended_at", UtcDateTime(), nullable=True),
    sa.Column("heartbeat_at", UtcDateTime(), nullable=True),
    sa.Column("duration_s", sa.Float, nullable=False, default=0.0),
    # IT energy (what the devices drew) and facility energy (x PUE), J.
    sa.Column("energy_j", sa.Float, nullable=False, default=0.0),
    sa.Column("facility_energy_j", sa.Float, nullable=False, default=0.0),
    sa.Column("pue", sa.Float, nullable=False, default=1.0),
    sa.Column("energy_gpu_j", sa.Float, nullable=False, default=0.0),
    sa.Column("energy_cpu_j", sa.Float, nullable=False, default=0.0),
    sa.Column("energy_dram_j", sa.Float, nullable=False, default=0.0),
    sa.Column("energy_other_j", sa.Float, nullable=False, default=0.0),
    # {"gpu": {"energy_j": .., "method": ..}, ...}; method counter|power|model|mixed
    sa.Column("energy_by_kind", sa.JSON, nullable=False, default=dict),
    # IT energy measured by hardware (counter or power sensor) rather than estimated, J.
    sa.Column("measured_energy_j", sa.Float, nullable=False, default=0.0),
    sa.Column("tokens_input", sa.BigInteger, nullable=False, default=0),
    sa.Column("tokens_output", sa.BigInteger, nullable=False, default=0),
    sa.Column("samples", sa.BigInteger, nullable=False, default=0),
    sa.Column("emissions_kg", sa.Float, nullable=False, default=0.0),
    sa.Column("intensity_g_per_kwh", sa.Float, nullable=True),
    sa.Column("intensity_source", sa.String(200), nullable=True),
    sa.Column("codecarbon_version", sa.String(32), nullable=True),
    sa.Column("country", sa.String(3), nullable=True),
    sa.Column("region", sa.String(100), nullable=True),
    sa.Column("cloud_provider", sa.String(50), nullable=True),
    sa.Column("cloud_region", sa.String(100), nullable=True),
    sa.Column("wue_l_per_kwh", sa.Float, nullable=True),
    sa.Column("water_l", sa.Float, nullable=True),
    sa.Column("price_per_kwh", sa.Float, nullable=True),
    sa.Column("cost", sa.Float, nullable=True),
    sa.Column("currency", sa.String(8), nullable=True),
    sa.Column("host_id", sa.String(128), nullable=True, index=True),
    sa.Column("user_id", sa.String(128), nullable=True),
    # Human-readable hardware summary for grouping, e.g. "NVIDIA H100 80GB HBM3 x8".
    sa.Column("hardware", sa.String(300), nullable=True),
    # process | machine
    sa.Column("mode", sa.String(16), nullable=True),
    # How GPUs were charged: process-utilization | compute-processes | mig-slices |
    # local-rank | visible-devices | none
    sa.Column("attribution", sa.String(32), nullable=True),
    sa.Column("flags", sa.JSON, nullable=False, default=list),
    sa.Column("command", sa.Text, nullable=True),
    sa.Column("exit_code", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("greenai_version", sa.String(32), nullable=True),
    # When the row was first written and last changed (ledger time, for report --as-of).
    sa.Column("created_at", UtcDateTime(), nullable=False, index=True),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    # Revision 0003, multi-rank jobs: a rank's part is a child run holding its rank; the
    # job's row is the root run, aggregates its parts and lists their hosts.
    sa.Column("rank", sa.Integer, nullable=True),
    sa.Column("world_size", sa.Integer, nullable=True),
    sa.Column("hosts", sa.JSON, nullable=True),
    # Revision 0005: the sequence number of the record the row was last written from; an
    # older record (a journal replayed late) is skipped. NULL: always applied.
    sa.Column("record_seq", sa.BigInteger, nullable=True),
    # Revision 0007: the emission factor's dataset, vintage, basis, GWP set and grid mix
    # (greenai.figures.evidence.FactorEvidence.as_dict()); NULL: not recorded.
    sa.Column("factor_evidence", sa.JSON, nullable=True),
)

run_devices = sa.Table(
    "run_devices",
    metadata,
    sa.Column(
        "run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("device_id", sa.String(128), primary_key=True),
    sa.Column("host_id", sa.String(128), primary_key=True, default=""),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=True),
    sa.Column("uuid", sa.String(100), nullable=True),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("energy_j", sa.Float, nullable=False, default=0.0),
    # Share of the device's energy charged to the run (1.0 = all of it).
    sa.Column("share", sa.Float, nullable=False, default=1.0),
    # Revision 0004: how that share was decided (exclusive, process_list, cpu_time,
    # equal_split, mig_slices, ...), and the device's notes (a JSON list).
    sa.Column("share_rule", sa.String(200), nullable=True),
    sa.Column("notes", sa.JSON, nullable=True),
)

windows = sa.Table(
    "windows",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "run_id",
        sa.String(64),
        sa.ForeignKey("runs.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("parent_window_id", sa.String(64), nullable=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("steady_state", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("ended_at", UtcDateTime(), nullable=True),
    sa.Column("duration_s", sa.Float, nullable=False, default=0.0),
    sa.Column("energy_j", sa.Float, nullable=True),
    sa.Column("energy_by_kind", sa.JSON, nullable=False, default=dict),
    sa.Column("tokens_input", sa.BigInteger, nullable=False, default=0),
    sa.Column("tokens_output", sa.BigInteger, nullable=False, default=0),
    sa.Column("samples", sa.BigInteger, nullable=False, default=0),
    sa.Column("flags", sa.JSON, nullable=False, default=list),
)

metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id",
        sa.String(64),
        sa.ForeignKey("runs.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("step", sa.Integer, nullable=True),
    sa.Column("logged_at", UtcDateTime(), nullable=False),
)

# Power series in tiers: '1s' (kept 7 days), '1m' (90 days), '1h' (forever), by default.
# run_id is "" for node-level series written by the agent. A row is one bucket starting
# at ts: power_w is the mean of the sample_count samples in it, energy_j their sum.
# (run_id, host_id, device_id, tier, ts) is unique, so writing a row twice is harmless.
series = sa.Table(
    "series",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("run_id", sa.String(64), nullable=False, default="", server_default=sa.text("''")),
    sa.Column("host_id", sa.String(128), nullable=False, default="", server_default=sa.text("''")),
    sa.Column("device_id", sa.String(128), nullable=False),
    sa.Column("tier", sa.String(4), nullable=False),
    sa.Column("ts", UtcDateTime(), nullable=False),
    sa.Column("power_w", sa.Float, nullable=False),
    sa.Column("energy_j", sa.Float, nullable=True),
    # How many raw samples the row stands for (1 for raw rows), so means stay exact.
    sa.Column("sample_count", sa.Integer, nullable=False, default=1, server_default="1"),
    sa.UniqueConstraint("run_id", "host_id", "device_id", "tier", "ts"),
    sa.Index("ix_series_run_tier_ts", "run_id", "tier", "ts"),
    sa.Index("ix_series_host_tier_ts", "host_id", "tier", "ts"),
    # Revision 0002: compaction scans one tier by time.
    sa.Index("ix_series_tier_ts", "tier", "ts"),
)

# Node totals measured by the agent over intervals (for idle/unallocated energy).
node_energy = sa.Table(
    "node_energy",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("host_id", sa.String(128), nullable=False, index=True),
    sa.Column("device_id", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("start_at", UtcDateTime(), nullable=False, index=True),
    sa.Column("end_at", UtcDateTime(), nullable=False),
    sa.Column("energy_j", sa.Float, nullable=False),
    # Revision 0003: an interval is written once, so an agent may retry a write.
    sa.Index("uq_node_energy_interval", "host_id", "device_id", "start_at", unique=True),
)

# Ledger-wide settings: the key used to hash identifiers, the ledger's own id.
ledger_meta = sa.Table(
    "ledger_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Revision 0008: MWh of contractual instruments (instruments_file) given to Scope 2
# consumption of one month and location, so that each MWh is used once across reports.
instrument_allocations = sa.Table(
    "instrument_allocations",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("instrument_id", sa.String(128), nullable=False, index=True),
    sa.Column("location", sa.String(128), nullable=False),
    sa.Column("month", sa.String(7), nullable=False),
    sa.Column("month_start_at", UtcDateTime(), nullable=False, index=True),
    sa.Column("month_end_at", UtcDateTime(), nullable=False),
    sa.Column("mwh", sa.Float, nullable=False),
    sa.Column("allocated_at", UtcDateTime(), nullable=False),
    sa.Column("report_period", sa.String(64), nullable=False),
)

# Revision 0009: each run's final figures as they stood after every change (the whole
# runs row), append-only: the first final record, then each correction, re-import, late
# record or interruption, with the ledger time it was committed at and why. A report
# ``--as-of T`` reads each run's latest revision recorded by T. A run still running holds
# no revision: its running state changes at every heartbeat and is not kept.
REVISION_KEY = ("id", "revision")
run_revisions = sa.Table(
    "run_revisions",
    metadata,
    *(sa.Column(c.name, c.type, nullable=c.nullable) for c in runs.columns),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("recorded_at", UtcDateTime(), nullable=False, index=True),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.PrimaryKeyConstraint(*REVISION_KEY),
    sa.Index("ix_run_revisions_started_at", "started_at"),
)

# Revision 0009: the report configuration (the settings a report reads and the text of the
# instruments and market-factor files), one revision per change, append-only, so that a
# report as of T uses the configuration the ledger held at T.
report_inputs = sa.Table(
    "report_inputs",
    metadata,
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("content", sa.JSON, nullable=False),
    sa.Column("recorded_at", UtcDateTime(), nullable=False),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.PrimaryKeyConstraint("name", "revision"),
)
