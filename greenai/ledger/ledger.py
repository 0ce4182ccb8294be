"""The run ledger: runs with their devices, windows, metrics, and power series.

One :class:`Ledger` per URL and process. Every write is one transaction; a record is an
idempotent upsert, so writing it twice (a replay from the spool) changes nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from greenai.errors import StorageError
from greenai.ledger import maintenance, schema
from greenai.ledger.engine import (
    Target,
    apply_journal_mode,
    create_engine,
    default_url,
    parse_url,
    prepare_sqlite_file,
    read_options,
)
from greenai.ledger.heartbeat import NotApplicableError, apply_heartbeat
from greenai.ledger.limits import storable
from greenai.ledger.migrate import (
    HEAD_REVISION,
    check_state,
    first_line,
    not_at_head_error,
    read_state,
    upgrade_connection,
)
from greenai.ledger.rows import as_dict, check_keys, series_rows
from greenai.ledger.run_write import write_run
from greenai.ledger.sqlite_heartbeat import SqliteHeartbeats
from greenai.ledger.upsert import insert_ignore

if TYPE_CHECKING:
    from greenai.ledger.amend import Amendment

Clock = Callable[[], datetime]
SERIES_KEY = ("run_id", "host_id", "device_id", "tier", "ts")
DEFAULT_TIERS: tuple[tuple[str, int], ...] = (("1s", 7), ("1m", 90), ("1h", 0))


def utc_now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


class Ledger:
    """A ledger database (SQLite file or PostgreSQL).

    Attributes:
        url: The ledger's URL with any password masked.
        engine: The SQLAlchemy engine (for the query layer's reads).
    """

    def __init__(self, engine: Engine, url: str, *, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.url = url
        self._clock = clock
        self._heartbeats = SqliteHeartbeats(engine) if engine.dialect.name == "sqlite" else None

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        data_dir: Path | None = None,
        auto_upgrade: bool | None = None,
        clock: Clock = utc_now,
        mounts_file: Path = Path("/proc/mounts"),
    ) -> Ledger:
        """Opens a ledger, creating or upgrading its schema where allowed.

        Args:
            url: A SQLAlchemy URL; None for the default SQLite file
                (:func:`~greenai.ledger.default_ledger_path`).
            data_dir: Data folder of the default ledger.
            auto_upgrade: Upgrade an older schema on open. Default: yes for SQLite, no
                for other databases (shared ledgers are upgraded by ``greenai db upgrade``).
            clock: Ledger time (``created_at``, ``updated_at``), aware UTC.
            mounts_file: Mount table used to detect network filesystems.

        Raises:
            StorageError: Unreachable, corrupt or foreign database; a schema newer than
                this greenai; an older schema without ``auto_upgrade``.
            ConfigError: ``url`` is not a URL.
        """
        target = parse_url(url if url is not None else default_url(data_dir))
        if target.sqlite_path is not None:
            prepare_sqlite_file(target.sqlite_path, target.display)
        engine = create_engine(target)
        try:
            _ensure_schema(engine, target, auto_upgrade)
            apply_journal_mode(engine, target, mounts_file)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, target.display, clock=clock)

    def now(self) -> datetime:
        """Ledger time now (aware UTC): the clock of ``created_at`` and revisions."""
        return self._clock()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes every pooled connection."""
        if self._heartbeats is not None:
            self._heartbeats.close()
        self.engine.dispose()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in a write transaction, committed at the end of the block.

        On SQLite the transaction starts with ``BEGIN IMMEDIATE``: it waits (busy
        timeout) for other writers instead of failing half-way.
        """
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (a plain deferred ``BEGIN`` on SQLite, no write lock).

        Use it for queries; a bare ``engine.connect()`` begins like a writer on SQLite.
        """
        with self.engine.connect() as conn:
            conn.execution_options(**read_options())
            yield conn

    def save_run(self, record: Mapping[str, Any]) -> None:
        """Upserts a run and replaces its devices, windows and metrics, in one transaction.

        Args:
            record: ``{"run": {runs columns}, "devices": [...], "windows": [...],
                "metrics": [...]}``; child rows without ``run_id`` (metrics without ``id``).
                Columns left out get their defaults. ``created_at`` is set on the first
                save and kept; ``updated_at`` is ledger time at every save. A record whose
                ``record_seq`` is not above the stored run's is skipped (it is older).

        Raises:
            ValueError: No run id, or keys that are not columns.
            sqlalchemy.exc.SQLAlchemyError: The database refused the write.
        """
        with self.write() as conn:
            write_run(conn, record, self._clock())

    def save_heartbeat(
        self, record: Mapping[str, Any], series: Sequence[Mapping[str, Any]] = ()
    ) -> bool:
        """Updates a running run from a heartbeat record and adds the power series rows
        that come with it (as :meth:`add_series` does), in one transaction; on SQLite
        through the driver (:class:`~greenai.ledger.sqlite_heartbeat.SqliteHeartbeats`).

        Args:
            record: What changed since the run's last record (see
                :func:`~greenai.ledger.heartbeat.apply_heartbeat`).
            series: Power series rows of the run since its last record.

        Returns:
            False, with nothing written (the series neither), when the record does not
            apply: the run is not running in the ledger or a row it updates is missing.

        Raises:
            ValueError: A row lacks a column.
            sqlalchemy.exc.SQLAlchemyError: The database refused the write (on SQLite,
                sqlite3.Error).
        """
        complete = series_rows(series)
        try:
            if self._heartbeats is not None:
                self._heartbeats.save(record, complete, self._clock())
                return True
            with self.write() as conn:
                apply_heartbeat(conn, record, self._clock())
                if complete:
                    insert_ignore(conn, schema.series, complete, SERIES_KEY)
        except NotApplicableError:
            return False
        return True

    def add_series(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Adds power series rows; a row whose (run_id, host_id, device_id, tier, ts) is
        already there is skipped, so adding the same rows twice is harmless.

        Args:
            rows: Dicts with device_id, tier (``1s``, ``1m``, ``1h``), ts (aware UTC),
                power_w (mean W), and optionally run_id ("" for node-level), host_id,
                energy_j (J in the bucket), sample_count.

        Raises:
            ValueError: A row lacks a required value or has unknown keys.
        """
        complete = series_rows(rows)
        if complete:
            with self.write() as conn:
                insert_ignore(conn, schema.series, complete, SERIES_KEY)

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """A run as a record (devices, windows, metrics), or None when unknown.

        Returns:
            ``{"run": {...}, "devices": [...], "windows": [...], "metrics": [...]}``;
            child rows without run_id (metrics without id), datetimes aware UTC.
        """
        if not storable(run_id):  # a name from a non-UTF-8 terminal: no such run
            return None
        runs, devices, windows, metrics = (
            schema.runs,
            schema.run_devices,
            schema.windows,
            schema.metrics,
        )
        with self.read() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).first()
            if row is None:
                return None

            def children(table: sa.Table, *order: Any) -> list[dict[str, Any]]:
                query = sa.select(table).where(table.c.run_id == run_id).order_by(*order)
                return [
                    as_dict(r, ("run_id", "id") if table is metrics else ("run_id",))
                    for r in conn.execute(query)
                ]

            return {
                "run": as_dict(row),
                "devices": children(devices, devices.c.host_id, devices.c.device_id),
                "windows": children(windows, windows.c.started_at, windows.c.id),
                "metrics": children(metrics, metrics.c.id),
            }

    def list_runs(
        self,
        *,
        limit: int = 100,
        status: str | None = None,
        project: str | None = None,
        root_only: bool = False,
    ) -> list[dict[str, Any]]:
        """Run rows, newest first (by started_at).

        Args:
            limit: At most this many.
            status: Only runs with this status (running, completed, failed, interrupted).
            project: Only runs of this project.
            root_only: Only runs without a parent run.
        """
        if not all(storable(value) for value in (status, project) if value is not None):
            return []  # no run holds such text (a name from a non-UTF-8 terminal)
        runs = schema.runs
        query = sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(runs.c.status == status)
        if project is not None:
            query = query.where(runs.c.project == project)
        if root_only:
            query = query.where(runs.c.parent_run_id.is_(None))
        with self.read() as conn:
            return [as_dict(r) for r in conn.execute(query)]

    def mark_stale_runs(self, *, stale_after_s: float, now: datetime | None = None) -> list[str]:
        """Marks running runs whose heartbeat is older than ``stale_after_s`` as interrupted.

        Their energy is kept; ended_at becomes the last heartbeat and a flag
        ``interrupted: heartbeat stale since <ts>`` is added.

        Args:
            stale_after_s: Heartbeat age, in seconds, after which a run is stale.
            now: The current time (aware UTC); default ledger time.

        Returns:
            The ids of the runs marked.
        """
        moment = now or self._clock()
        with self.write() as conn:
            return maintenance.mark_stale(conn, stale_after_s=stale_after_s, now=moment)

    def compact_series(
        self,
        *,
        tiers: Sequence[tuple[str, int]] = DEFAULT_TIERS,
        now: datetime | None = None,
    ) -> dict[str, int]:
        """Downsamples old series rows into the next tier and deletes them.

        Rows of a tier older than its days are merged into buckets of the next tier (mean
        power weighted by sample_count, summed energy); the last tier with days > 0 is
        simply deleted past its age; 0 days keeps a tier forever. Idempotent.

        Args:
            tiers: (tier, days kept) from finest to coarsest, e.g. ``(("1s", 7),
                ("1m", 90), ("1h", 0))``.
            now: The current time (aware UTC); default ledger time.

        Returns:
            Tier -> rows removed from it.
        """
        moment = now or self._clock()
        return maintenance.compact(self.engine, tiers=tiers, now=moment)

    def amend_run(self, run_id: str, changes: Mapping[str, Any], reason: str) -> Amendment:
        """Corrects a finished run (:mod:`greenai.ledger.amend`): a new revision with
        ``reason``, in ledger time.

        Raises:
            ConfigError: No such run, one still running, a multi-rank job or part, a key
                that cannot be amended, or no reason.
        """
        from greenai.ledger.amend import amend_run

        with self.write() as conn:
            return amend_run(conn, run_id, changes, reason, self._clock())

    def revisions(self, run_id: str) -> list[dict[str, Any]]:
        """The revisions of a run's final figures, oldest first: revision, recorded_at,
        reason, status, energy_j, facility_energy_j, emissions_kg, project."""
        rev = schema.run_revisions
        columns = ("revision", "recorded_at", "reason", "status", "energy_j",
                   "facility_energy_j", "emissions_kg", "project")  # fmt: skip
        query = sa.select(*(rev.c[c] for c in columns)).where(rev.c.id == run_id)
        with self.read() as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(rev.c.revision))]

    def get_meta(self, key: str) -> str | None:
        """A ledger setting (``ledger_id``, ``hash_key``, ...), or None when absent."""
        meta = schema.ledger_meta
        with self.read() as conn:
            value = conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar()
        return None if value is None else str(value)

    def set_meta_default(self, key: str, value: str) -> str:
        """Stores ``value`` under ``key`` unless a value is there; returns the stored one.

        Safe when several processes race: all of them get the first value stored.
        """
        meta = schema.ledger_meta
        row = {"key": key, "value": value}
        check_keys(meta, row, "ledger_meta")
        with self.write() as conn:
            insert_ignore(conn, meta, [row], ("key",))
            stored = conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar_one()
        return str(stored)


def _ensure_schema(engine: Engine, target: Target, auto_upgrade: bool | None) -> None:
    """Checks the schema on open; upgrades it when allowed."""
    try:
        with engine.connect() as conn:
            state = read_state(conn, target)
            check_state(state, target)
            if state.revision == HEAD_REVISION:
                return
            allowed = target.is_sqlite if auto_upgrade is None else auto_upgrade
            if not allowed:
                raise not_at_head_error(state, target)
            upgrade_connection(conn, target)
    except sa.exc.OperationalError as exc:
        raise StorageError(
            f"cannot reach the ledger {target.display}: {first_line(exc)}",
            target.display,
            "check that the database is up and reachable, or point GREENAI_DB_URL elsewhere",
        ) from exc
    except OSError as exc:  # the lock file next to a SQLite ledger
        raise StorageError(
            f"cannot lock the ledger {target.display} for its upgrade: {exc}",
            target.display,
            "check the folder's permissions",
        ) from exc
