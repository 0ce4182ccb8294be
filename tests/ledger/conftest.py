"""Fixtures of the ledger tests: SQLite files in tmp_path and a throw-away PostgreSQL
database (see :mod:`tests.pg`: the machine's server, else one started for the session).

PostgreSQL tests are marked ``postgres``. When no server can be had they fail if ``CI``
is set and are skipped (with the reason) otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from greenai.ledger import Ledger, upgrade
from tests.pg import PG_ADMIN_URL, PG_SESSION_TZ, pg_admin_url, pg_database, pg_url

__all__ = ["PG_ADMIN_URL", "PG_SESSION_TZ", "pg_admin_url", "pg_database", "pg_url"]


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
