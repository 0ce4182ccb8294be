"""Fixtures of the fleet tests: PostgreSQL (see :mod:`tests.pg`) and both ledger backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pg import pg_admin_url, pg_database, pg_url

__all__ = ["pg_admin_url", "pg_database", "pg_url"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty ledger URL at head: a SQLite file, then the PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    from greenai.ledger import upgrade

    url = str(request.getfixturevalue("pg_url"))
    upgrade(url)
    return url
