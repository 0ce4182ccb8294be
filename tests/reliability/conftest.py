"""Fixtures of the reliability tests: a PostgreSQL ledger at head (see :mod:`tests.pg`).

PostgreSQL tests are marked ``postgres``; without a server they are skipped with the
reason (they fail when ``CI`` is set).
"""

from __future__ import annotations

import pytest

from greenai.ledger import upgrade
from tests.pg import pg_admin_url, pg_database, pg_url

__all__ = ["pg_admin_url", "pg_database", "pg_ledger", "pg_url"]


@pytest.fixture
def pg_ledger(pg_url: str) -> str:
    """The URL of an empty PostgreSQL ledger at head (upgraded as in production)."""
    upgrade(pg_url)
    return pg_url
