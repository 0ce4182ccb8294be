"""Fixtures of the reliability tests: a PostgreSQL ledger at head (see :mod:`tests.pg`).

PostgreSQL tests are marked ``postgres``; without a server they are skipped with the
reason (they fail when ``CI`` is set).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from greenai.ledger import upgrade
from tests.pg import pg_admin_url, pg_database, pg_url
from tests.reliability.figures import FuzzCount

__all__ = ["fuzz_count", "pg_admin_url", "pg_database", "pg_ledger", "pg_url"]


@pytest.fixture
def pg_ledger(pg_url: str) -> str:
    """The URL of an empty PostgreSQL ledger at head (upgraded as in production)."""
    upgrade(pg_url)
    return pg_url


@pytest.fixture
def fuzz_count(request: pytest.FixtureRequest) -> Iterator[FuzzCount]:
    """Counts a hypothesis test's examples for the Reliability section; the target is
    the test's ``fuzz_target`` marker argument, or its name."""
    marker = request.node.get_closest_marker("fuzz_target")
    count = FuzzCount(marker.args[0] if marker else request.node.name)
    yield count
    count.close()
