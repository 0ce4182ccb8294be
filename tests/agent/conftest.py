"""Fixtures of the agent tests: PostgreSQL (see :mod:`tests.pg`) and both ledger backends."""

from __future__ import annotations

from tests.fleet.conftest import backend_url
from tests.pg import pg_admin_url, pg_database, pg_url

__all__ = ["backend_url", "pg_admin_url", "pg_database", "pg_url"]
