"""Schema revisions of the ledger: what a database holds, and upgrading it under a lock.

The Alembic scripts ship inside the package (``greenai/ledger/migrations``). A SQLite
upgrade holds ``fcntl.flock`` on ``<file>.lock``; a PostgreSQL upgrade holds
``pg_advisory_lock`` on its connection, so nodes that upgrade at once do no harm: the
second finds the schema at head and does nothing.
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from greenai.errors import StorageError
from greenai.ledger import schema
from greenai.ledger.engine import (
    BEGIN_OPTION,
    Target,
    apply_journal_mode,
    create_engine,
    default_url,
    parse_url,
    prepare_sqlite_file,
    read_options,
    set_sqlite_foreign_keys,
)

log = logging.getLogger(__name__)

HEAD_REVISION = "0009"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"
# pg_advisory_lock key of ledger upgrades (any constant; "greenai" in ASCII).
PG_LOCK_KEY = 0x677265656E6169
UPGRADE_HINT = "run `greenai db upgrade`"


@dataclass(frozen=True)
class SchemaState:
    """What a database holds.

    Attributes:
        revision: The revision in ``alembic_version``; None when there is none.
        tables: Every table name found (``alembic_version`` included).
    """

    revision: str | None
    tables: frozenset[str]


def alembic_config(connection: Connection | None = None) -> Any:
    """An Alembic ``Config`` on the packaged scripts; ``connection`` is used by env.py."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def known_revisions() -> frozenset[str]:
    """Every revision this version of greenai has scripts for."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    return frozenset(script.revision for script in scripts.walk_revisions())


def script_head() -> str:
    """The head revision according to the scripts (equals :data:`HEAD_REVISION`)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return str(head)


def _read_revision(conn: Connection) -> str | None:
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    rows = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    return str(rows[0]) if rows else None


def current_revision(bind: Engine | Connection) -> str | None:
    """The schema revision of a ledger database, or None when it has none.

    Args:
        bind: An engine or a connection to the ledger.
    """
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return _read_revision(conn.execution_options(**read_options()))
    return _read_revision(bind)


def read_state(conn: Connection, target: Target) -> SchemaState:
    """Reads the revision and the table names, translating driver errors.

    Raises:
        StorageError: The database cannot be read (corrupt file, not a database,
            unreachable server).
    """
    previous = conn.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE")
    try:
        conn.execution_options(**read_options())
        tables = frozenset(sa.inspect(conn).get_table_names())
        revision = _read_revision(conn) if VERSION_TABLE in tables else None
        conn.rollback()
    except sa.exc.OperationalError as exc:
        raise StorageError(
            f"cannot reach the ledger {target.display}: {first_line(exc)}",
            target.display,
            "check that the database is up and reachable, or point GREENAI_DB_URL elsewhere",
        ) from exc
    except sa.exc.DatabaseError as exc:
        where = target.sqlite_path or target.display
        raise StorageError(
            f"the ledger {where} is not a readable database: {first_line(exc)}",
            target.display,
            "move the file away (greenai then starts a new one), or point GREENAI_DB_URL elsewhere",
        ) from exc
    finally:
        conn.execution_options(**{BEGIN_OPTION: previous})
    return SchemaState(revision, tables)


def first_line(exc: BaseException) -> str:
    """The first line of a driver error's message (no SQL, no parameters)."""
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def check_state(state: SchemaState, target: Target) -> None:
    """Refuses a foreign database and a schema newer than this code.

    Raises:
        StorageError: The database holds other tables but no greenai schema, or a
            revision this greenai does not know (written by a newer greenai).
    """
    if state.revision is None:
        others = state.tables - {VERSION_TABLE}
        ours = others & set(schema.metadata.tables)
        if (target.is_sqlite and others) or ours:
            where = target.sqlite_path or target.display
            raise StorageError(
                f"{where} holds tables ({', '.join(sorted(others)[:5])}) but is not a "
                "greenai ledger",
                target.display,
                "point GREENAI_DB_URL elsewhere, or move the file away"
                if target.is_sqlite
                else "point GREENAI_DB_URL at a database of greenai's own (or an empty one)",
            )
        return
    if state.revision != HEAD_REVISION and state.revision not in known_revisions():
        raise StorageError(
            f"the ledger {target.display} was written by a newer greenai (schema revision "
            f"{state.revision}; this greenai knows up to {HEAD_REVISION})",
            target.display,
            "upgrade greenai (pip install -U greenai) on this machine",
        )


def not_at_head_error(state: SchemaState, target: Target) -> StorageError:
    """The error for a ledger that needs ``greenai db upgrade``."""
    return StorageError(
        f"ledger at revision {state.revision or 'none (empty)'}, code expects "
        f"{HEAD_REVISION}: {UPGRADE_HINT}",
        target.display,
    )


@contextmanager
def upgrade_lock(conn: Connection, target: Target) -> Iterator[None]:
    """Holds the upgrade lock of ``target`` (file lock or PostgreSQL advisory lock)."""
    if target.sqlite_path is not None:
        lock_path = target.sqlite_path.with_name(target.sqlite_path.name + ".lock")
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock
    elif conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": PG_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            if conn.in_transaction():
                conn.rollback()
            conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": PG_LOCK_KEY})
            conn.commit()
    else:
        yield


def create_at_head(conn: Connection) -> None:
    """Builds an empty database straight from ``schema.py`` and stamps it at head: what
    the scripts build from empty (the migration tests check that both agree), without
    importing Alembic, which costs a first run on a new machine ~150 ms."""
    version = sa.Table(
        VERSION_TABLE,
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
    )
    schema.metadata.create_all(conn)
    version.create(conn)
    conn.execute(version.insert().values(version_num=HEAD_REVISION))
    conn.execute(schema.ledger_meta.insert().values(key="ledger_id", value=uuid.uuid4().hex))


def upgrade_connection(conn: Connection, target: Target, *, scripts: bool = False) -> str:
    """Upgrades the ledger behind ``conn`` to head under the upgrade lock; an empty one is
    built at head directly (:func:`create_at_head`) unless ``scripts``.

    Returns:
        The revision after the upgrade.

    Raises:
        StorageError: Foreign database, newer schema, or the upgrade failed.
    """
    with upgrade_lock(conn, target):
        state = read_state(conn, target)  # again, under the lock
        check_state(state, target)
        if state.revision == HEAD_REVISION:
            return HEAD_REVISION
        if state.revision is None and VERSION_TABLE not in state.tables and not scripts:
            with conn.begin():
                create_at_head(conn)
            return HEAD_REVISION
        from alembic import command

        log.info(
            "upgrading the ledger %s from %s to %s", target.display, state.revision, HEAD_REVISION
        )
        set_sqlite_foreign_keys(conn, False)
        try:
            with conn.begin():
                command.upgrade(alembic_config(conn), "head")
        except sa.exc.SQLAlchemyError as exc:
            raise StorageError(
                f"upgrading the ledger {target.display} failed: {first_line(exc)}",
                target.display,
                "the ledger is unchanged; check the database's permissions and space",
            ) from exc
        finally:
            set_sqlite_foreign_keys(conn, True)
        return _read_revision(conn) or "none"


def upgrade(url: str | None, *, data_dir: Path | None = None, scripts: bool = False) -> str:
    """``greenai db upgrade``: brings a ledger to the head revision, under a lock.

    Args:
        url: A SQLAlchemy URL; None for the default SQLite file.
        data_dir: Data folder of the default ledger.
        scripts: Run the migration scripts on an empty database too (instead of
            building it at head directly).

    Returns:
        The revision the ledger is at afterwards.

    Raises:
        StorageError: Unreachable, foreign or corrupt database, or a schema written by
            a newer greenai.
        ConfigError: ``url`` is not a URL.
    """
    target = parse_url(url if url is not None else default_url(data_dir))
    if target.sqlite_path is not None:
        prepare_sqlite_file(target.sqlite_path, target.display)
    engine = create_engine(target)
    try:
        with engine.connect() as conn:
            revision = upgrade_connection(conn, target, scripts=scripts)
        apply_journal_mode(engine, target)
        return revision
    except sa.exc.OperationalError as exc:
        raise StorageError(
            f"cannot reach the ledger {target.display}: {first_line(exc)}",
            target.display,
            "check that the database is up and reachable",
        ) from exc
    finally:
        engine.dispose()
