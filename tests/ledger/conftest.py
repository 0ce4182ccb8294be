"""Fixtures of the ledger tests: SQLite files in tmp_path and a throw-away PostgreSQL
database on the local server (``GREENAI_TEST_PG_URL``, default postgres@127.0.0.1).

PostgreSQL tests are marked ``postgres``. When the server cannot be reached they fail
if ``CI`` is set and are skipped (with the reason) otherwise.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from greenai.ledger import Ledger, upgrade

PG_ADMIN_URL = os.environ.get(
    "GREENAI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# A session time zone other than UTC (with a half-hour offset) so that a conversion
# that relies on the server's zone shows up.
PG_SESSION_TZ = "Asia/Kolkata"


def _admin_engine() -> sa.Engine:
    return sa.create_engine(
        PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )


@pytest.fixture(scope="session")
def pg_database() -> Iterator[sa.URL]:
    """A database created for this test session and dropped at its end."""
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL unreachable at {PG_ADMIN_URL}: {str(exc).splitlines()[0]}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set: the server must be up)")
        pytest.skip(reason)
    name = f"greenai_t_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(PG_ADMIN_URL).set(database=name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def pg_url(pg_database: sa.URL) -> str:
    """The session database, emptied (schema public recreated), as a URL string."""
    engine = sa.create_engine(pg_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    url = pg_database.update_query_dict({"options": f"-c timezone={PG_SESSION_TZ}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty ledger URL: a SQLite file, then the PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("pg_url"))


class Clock:
    """Ledger time that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC))


@pytest.fixture
def ledger(backend_url: str, clock: Clock) -> Iterator[Ledger]:
    """A ledger at head on each backend (PostgreSQL upgraded explicitly, as in production)."""
    if not backend_url.startswith("sqlite"):
        upgrade(backend_url)
    opened = Ledger.open(backend_url, clock=clock)
    try:
        yield opened
    finally:
        opened.close()


def sample_record(run_id: str = "run-1", **run: Any) -> dict[str, Any]:
    """A small valid record."""
    started = datetime(2026, 3, 1, 10, 0, 0, 250000, tzinfo=UTC)
    base: dict[str, Any] = {
        "id": run_id,
        "status": "running",
        "started_at": started,
        "heartbeat_at": started + timedelta(seconds=30),
        "energy_j": 1200.0,
        "project": "chat",
    }
    base.update(run)
    return {
        "run": base,
        "devices": [
            {
                "device_id": "gpu0",
                "host_id": "h1",
                "kind": "gpu",
                "method": "counter",
                "energy_j": 1000.0,
            },
            {
                "device_id": "cpu0",
                "host_id": "h1",
                "kind": "cpu",
                "method": "model",
                "energy_j": 200.0,
            },
        ],
        "windows": [{"id": f"{run_id}-w1", "name": "decode", "started_at": started}],
        "metrics": [{"name": "loss", "value": 1.5, "step": 1, "logged_at": started}],
    }


@pytest.fixture
def make_record() -> Any:
    """``make_record(run_id, **run_columns)`` -> a small valid record."""
    return sample_record
