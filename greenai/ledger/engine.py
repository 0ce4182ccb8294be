"""SQLAlchemy engines for the ledger: URL checks, the SQLite file and its settings.

SQLite gets WAL (rollback journal on network filesystems, where WAL cannot work), a
busy timeout, and ``BEGIN IMMEDIATE`` for writes so that many processes can write one
file: a write transaction takes the write lock when it starts instead of failing
half-way. Reads use a plain deferred ``BEGIN``: pass the execution option
``greenai_begin="DEFERRED"`` (see :func:`read_options`).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from greenai.errors import ConfigError, StorageError
from greenai.ledger.paths import (
    create_private_file,
    default_ledger_path,
    is_network_filesystem,
    is_sqlite_file,
)

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 30.0
PG_CONNECT_TIMEOUT_S = 10
BEGIN_OPTION = "greenai_begin"
URL_ACCEPTED = "a SQLAlchemy URL such as sqlite:////path/ledger.db or postgresql://user@host/db"


@dataclass(frozen=True)
class Target:
    """A parsed ledger URL.

    Attributes:
        url: The URL to connect to (driver filled in for PostgreSQL).
        display: The URL with any password masked.
        sqlite_path: The SQLite file, None for other databases, memory and URI forms.
    """

    url: URL
    display: str
    sqlite_path: Path | None

    @property
    def is_sqlite(self) -> bool:
        """Whether the ledger is SQLite (file or memory)."""
        return self.url.get_backend_name() == "sqlite"


def default_url(data_dir: Path | None = None) -> URL:
    """The URL of the default SQLite ledger (:func:`default_ledger_path`)."""
    return URL.create("sqlite", database=str(default_ledger_path(data_dir)))


def parse_url(url: str | URL) -> Target:
    """Parses and checks a ledger URL.

    ``postgresql://`` and ``postgres://`` without a driver use psycopg 3.

    Raises:
        ConfigError: The URL cannot be parsed (key ``db_url``).
    """
    try:
        parsed = sa.make_url(url)
    except Exception as exc:  # ArgumentError, ValueError on odd ports
        raise ConfigError("db_url", mask_url(str(url)), URL_ACCEPTED) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    display = parsed.render_as_string(hide_password=True)
    path: Path | None = None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        uri_mode = str(parsed.query.get("uri", "")).lower() in ("true", "1")
        if database and database != ":memory:" and not uri_mode:
            path = Path(database).expanduser().absolute()
            parsed = parsed.set(database=str(path))
    return Target(parsed, display, path)


def mask_url(url: str) -> str:
    """A URL for a message: its password, if any, shown as ``***``.

    SQLAlchemy renders the URLs it parses cleanly; in any other (a host holding ``@``
    or a space: part of an unescaped password), whatever sits between the user's ``:``
    and the last ``@`` is masked.
    """
    try:
        parsed = sa.make_url(url)
        clean = not any(c in (parsed.host or "") for c in "@ ")
        if clean:
            return url if parsed.password is None else parsed.render_as_string(hide_password=True)
    except Exception:  # ArgumentError, ValueError: mask by hand
        pass
    head, sep, tail = url.rpartition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, userinfo = head.partition("://")
    user, colon, _password = userinfo.partition(":")
    return f"{scheme}://{user}:***@{tail}" if colon else url


def prepare_sqlite_file(path: Path, display: str) -> None:
    """Creates the SQLite file (0600, folders 0700) or checks that it is a SQLite file.

    Raises:
        StorageError: The file cannot be created, or it exists and is not SQLite.
    """
    try:
        created = create_private_file(path)
    except OSError as exc:
        raise StorageError(
            f"cannot create or read the ledger file {path}: {exc.strerror or exc}",
            display,
            "check the folder's permissions, or point GREENAI_DB_URL elsewhere",
        ) from exc
    if not created and not is_sqlite_file(path):
        raise StorageError(
            f"{path} is not a SQLite database, so it cannot be greenai's ledger",
            display,
            "move the file away, or point GREENAI_DB_URL or the data folder elsewhere",
        )


def journal_mode_for(path: Path | None, mounts_file: Path) -> str:
    """``wal``, or ``delete`` with a warning when the file is on a network filesystem."""
    if path is None:
        return "wal"
    if is_network_filesystem(path.parent, mounts_file):
        log.warning(
            "the ledger %s is on a network filesystem: using SQLite's rollback journal "
            "(WAL cannot work there); for many nodes, use a PostgreSQL ledger",
            path,
        )
        return "delete"
    return "wal"


def create_engine(target: Target) -> Engine:
    """An engine for ``target`` with the ledger's connection settings.

    The SQLite journal mode is set later, by :func:`apply_journal_mode`, once the file is
    known to be a greenai ledger (a foreign file is never changed). Errors raised by the
    engine hide the statement's parameters (``hide_parameters``).

    Raises:
        StorageError: The database's driver is not installed.
    """
    # Errors never show the statement's parameters: they hold the record's values
    # (command lines, names), and the warning goes to stderr and logs.
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if target.url.get_backend_name() == "postgresql":
        kwargs["pool_pre_ping"] = True
        if "connect_timeout" not in target.url.query:
            kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    elif target.is_sqlite:
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_S}
    try:
        engine = sa.create_engine(target.url, **kwargs)
    except ImportError as exc:
        raise StorageError(
            f"the database driver for {target.display} is not installed: {exc}",
            target.display,
            "pip install 'greenai[postgres]' for PostgreSQL",
        ) from exc
    if target.is_sqlite:
        _install_sqlite_events(engine)
    return engine


def _install_sqlite_events(engine: Engine) -> None:
    """The pysqlite recipe: the driver never begins; a "begin" event emits our BEGIN."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        raw: sqlite3.Connection = dbapi_conn  # type: ignore[assignment]
        raw.isolation_level = None
        raw.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        raw.execute("PRAGMA foreign_keys = ON")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE")
        conn.exec_driver_sql("BEGIN" if mode == "DEFERRED" else "BEGIN IMMEDIATE")


def _set_journal(raw: sqlite3.Connection, journal: str) -> None:
    try:
        current = str(raw.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        if current != journal:
            raw.execute(f"PRAGMA journal_mode = {journal}")
        if journal == "wal":
            raw.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error as exc:  # read-only file, or busy: keep its mode for now
        log.debug("cannot set journal_mode=%s: %s", journal, exc)


def apply_journal_mode(
    engine: Engine, target: Target, mounts_file: Path = Path("/proc/mounts")
) -> None:
    """Sets WAL (rollback journal on network filesystems) on a checked SQLite ledger.

    The mode is stored in the file; every new connection checks it again.
    """
    if not target.is_sqlite or (target.sqlite_path is None and not target.url.query.get("uri")):
        return  # not SQLite, or in memory
    journal = journal_mode_for(target.sqlite_path, mounts_file)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        _set_journal(dbapi_conn, journal)  # type: ignore[arg-type]

    with engine.connect() as conn:
        _set_journal(conn.connection.dbapi_connection, journal)  # type: ignore[arg-type]


def read_options() -> dict[str, str]:
    """Execution options for a read-only connection (deferred BEGIN on SQLite)."""
    return {BEGIN_OPTION: "DEFERRED"}


def set_sqlite_foreign_keys(conn: Connection, enabled: bool) -> None:
    """Turns SQLite's foreign keys on or off for ``conn`` (outside any transaction).

    Migrations run with them off: rebuilding a table in batch mode would otherwise
    cascade deletes to its children.
    """
    if conn.dialect.name != "sqlite":
        return
    if conn.in_transaction():
        conn.rollback()
    raw: Any = conn.connection.dbapi_connection
    raw.execute(f"PRAGMA foreign_keys = {'ON' if enabled else 'OFF'}")
