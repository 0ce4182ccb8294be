"""Schema revisions: upgrade from empty and from the previous revision, newer schemas,
shared ledgers that must be upgraded explicitly, and the scripts matching schema.py."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from greenai.errors import StorageError
from greenai.ledger import HEAD_REVISION, Ledger, current_revision, schema, upgrade
from greenai.ledger.engine import create_engine, parse_url
from greenai.ledger.migrate import alembic_config, known_revisions, script_head

PREVIOUS = "0001"
T0 = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)


def _migrate_to(url: str, revision: str, *, down: bool = False) -> None:
    """Drives Alembic directly (as a developer would), without greenai's checks."""
    engine = create_engine(parse_url(url))
    with engine.begin() as conn:
        config = alembic_config(conn)
        if down:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)
    engine.dispose()


def _diff(url: str) -> list[Any]:
    engine = create_engine(parse_url(url))
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        diff = compare_metadata(context, schema.metadata)
    engine.dispose()
    return list(diff)


def _indexes(url: str, table: str) -> set[str]:
    engine = create_engine(parse_url(url))
    with engine.connect() as conn:
        names = {ix["name"] for ix in sa.inspect(conn).get_indexes(table)}
    engine.dispose()
    return {str(n) for n in names}


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def test_head_constant_matches_the_scripts() -> None:
    assert script_head() == HEAD_REVISION
    assert known_revisions() == {
        "0001",
        "0002",
        "0003",
        "0004",
        "0005",
        "0006",
        "0007",
        "0008",
        "0009",
    }


@pytest.mark.parametrize("scripts", [True, False], ids=["scripts", "direct"])
def test_upgrade_from_empty_builds_exactly_schema_py(backend_url: str, scripts: bool) -> None:
    """The scripts from empty and the direct build of a new ledger give schema.py."""
    assert upgrade(backend_url, scripts=scripts) == HEAD_REVISION
    assert _diff(backend_url) == []
    with Ledger.open(backend_url) as ledger:
        assert current_revision(ledger.engine) == HEAD_REVISION
        ledger_id = ledger.get_meta("ledger_id")
    assert ledger_id is not None and len(ledger_id) == 32
    assert upgrade(backend_url) == HEAD_REVISION  # a second upgrade does nothing
    with Ledger.open(backend_url) as ledger:
        assert ledger.get_meta("ledger_id") == ledger_id


def _version_table(url: str) -> tuple[Any, ...]:
    engine = create_engine(parse_url(url))
    with engine.connect() as conn:
        found = sa.inspect(conn)
        columns = [
            (c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns("alembic_version")
        ]
        shape = (columns, found.get_pk_constraint("alembic_version"))
    engine.dispose()
    return shape


def test_a_new_ledger_built_directly_is_one_the_scripts_would_have_built(tmp_path: Path) -> None:
    """Its version table is Alembic's, so later scripts upgrade it as any other."""
    by_scripts, direct = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
    upgrade(by_scripts, scripts=True)
    upgrade(direct)
    assert _version_table(direct) == _version_table(by_scripts)
    _migrate_to(direct, PREVIOUS, down=True)  # the scripts go down and up from it
    assert upgrade(direct) == HEAD_REVISION and _diff(direct) == []


def test_upgrade_from_the_previous_revision_keeps_the_data(backend_url: str) -> None:
    _migrate_to(backend_url, PREVIOUS)
    engine = create_engine(parse_url(backend_url))
    with engine.begin() as conn:
        conn.execute(
            sa.insert(schema.runs),
            [
                {
                    "id": "old-run",
                    "status": "completed",
                    "tags": {},
                    "started_at": T0,
                    "duration_s": 1.0,
                    "energy_j": 42.0,
                    "facility_energy_j": 50.4,
                    "pue": 1.2,
                    "energy_gpu_j": 42.0,
                    "energy_cpu_j": 0.0,
                    "energy_dram_j": 0.0,
                    "energy_other_j": 0.0,
                    "energy_by_kind": {},
                    "measured_energy_j": 42.0,
                    "tokens_input": 0,
                    "tokens_output": 0,
                    "samples": 0,
                    "emissions_kg": 0.0,
                    "flags": [],
                    "created_at": T0,
                    "updated_at": T0,
                }
            ],
        )
        conn.execute(
            sa.insert(schema.series),
            [
                {
                    "run_id": "old-run",
                    "host_id": "h",
                    "device_id": "gpu0",
                    "tier": "1s",
                    "ts": T0,
                    "power_w": 300.0,
                    "energy_j": 300.0,
                    "sample_count": 1,
                }
            ],
        )
    engine.dispose()
    assert "ix_series_tier_ts" not in _indexes(backend_url, "series")

    if _is_sqlite(backend_url):
        opened = Ledger.open(backend_url)  # SQLite ledgers upgrade themselves
    else:
        with pytest.raises(StorageError) as info:
            Ledger.open(backend_url)  # shared ledgers are upgraded on purpose
        assert str(info.value).startswith(
            f"ledger at revision {PREVIOUS}, code expects {HEAD_REVISION}: run `greenai db upgrade`"
        )
        assert upgrade(backend_url) == HEAD_REVISION
        opened = Ledger.open(backend_url)
    with opened as ledger:
        assert current_revision(ledger.engine) == HEAD_REVISION
        got = ledger.get_run("old-run")
        assert got is not None and got["run"]["energy_j"] == 42.0
        assert got["run"]["started_at"] == T0
        rev = schema.run_revisions
        with ledger.read() as conn:  # a final run held at the upgrade is its revision 1
            held = conn.execute(sa.select(rev.c.revision, rev.c.reason, rev.c.energy_j)).all()
        assert [tuple(r) for r in held] == [(1, "held at upgrade", 42.0)]
        assert ledger.get_meta("ledger_id") is not None
    assert "ix_series_tier_ts" in _indexes(backend_url, "series")
    assert _diff(backend_url) == []


def test_downgrade_then_upgrade_again(backend_url: str) -> None:
    upgrade(backend_url)
    _migrate_to(backend_url, PREVIOUS, down=True)
    assert "ix_series_tier_ts" not in _indexes(backend_url, "series")
    _migrate_to(backend_url, "base", down=True)
    engine = create_engine(parse_url(backend_url))
    with engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    assert upgrade(backend_url) == HEAD_REVISION
    assert _diff(backend_url) == []


def test_sqlite_without_auto_upgrade_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    _migrate_to(url, PREVIOUS)
    with pytest.raises(StorageError, match="run `greenai db upgrade`"):
        Ledger.open(url, auto_upgrade=False)
    engine = create_engine(parse_url(url))
    assert current_revision(engine) == PREVIOUS
    engine.dispose()


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_newer_schema_is_refused_and_nothing_is_written_sqlite(tmp_path: Path, make_record) -> None:
    path = tmp_path / "ledger.db"
    url = f"sqlite:///{path}"
    with Ledger.open(url) as ledger:
        ledger.save_run(make_record("r1"))
    raw = sqlite3.connect(path)
    raw.execute("UPDATE alembic_version SET version_num = '9999'")
    raw.commit()
    raw.close()
    before = _file_digest(path)

    for attempt in (lambda: Ledger.open(url), lambda: upgrade(url)):
        with pytest.raises(StorageError) as info:
            attempt()
        message = str(info.value)
        assert "newer greenai" in message and "9999" in message
        assert "upgrade greenai" in message

    assert _file_digest(path) == before
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


@pytest.mark.postgres
def test_newer_schema_is_refused_and_nothing_is_written_postgres(pg_url: str, make_record) -> None:
    upgrade(pg_url)
    with Ledger.open(pg_url) as ledger:
        ledger.save_run(make_record("r1"))
    engine = create_engine(parse_url(pg_url))
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")

    def snapshot() -> tuple[Any, ...]:
        # Row versions (xmin changes on any update) and the list of tables.
        with engine.connect() as conn:
            tables = sorted(sa.inspect(conn).get_table_names())
            rows = {
                table: conn.exec_driver_sql(f"SELECT xmin::text, * FROM {table} ORDER BY 2").all()
                for table in ("alembic_version", "runs", "run_devices", "ledger_meta")
            }
            return tables, rows

    before = snapshot()
    for attempt in (
        lambda: Ledger.open(pg_url),
        lambda: upgrade(pg_url),
        lambda: Ledger.open(pg_url, auto_upgrade=True),
    ):
        with pytest.raises(StorageError, match="newer greenai"):
            attempt()
    assert snapshot() == before
    engine.dispose()


@pytest.mark.postgres
def test_shared_postgres_database_with_other_tables_is_fine(pg_url: str) -> None:
    engine = create_engine(parse_url(pg_url))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE invoices (id serial PRIMARY KEY)")
    assert upgrade(pg_url) == HEAD_REVISION
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE runs CASCADE")
        conn.exec_driver_sql("DELETE FROM alembic_version")
    with pytest.raises(StorageError, match="not a greenai ledger"):
        upgrade(pg_url)
    engine.dispose()


def test_unreachable_postgres_is_a_storage_error() -> None:
    url = "postgresql://nobody:secret@127.0.0.1:1/ledger"
    for attempt in (lambda: Ledger.open(url), lambda: upgrade(url)):
        with pytest.raises(StorageError) as info:
            attempt()
        assert "cannot reach the ledger" in str(info.value)
        assert "secret" not in str(info.value)
