"""Fixtures of the figures tests: the report tests' seeded ledger (see tests/reports)."""

from __future__ import annotations

from tests.reports.conftest import report_env, seeded_file, seeded_url

__all__ = ["report_env", "seeded_file", "seeded_url"]
