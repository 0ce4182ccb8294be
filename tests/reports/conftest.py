"""Fixtures of the report tests: the seeded ledger (built once per session, copied per test)
and the configuration the expected figures assume (FRA market factor, WUE, price)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.pg import pg_admin_url, pg_database, pg_url
from tests.reports.seed import PRICE, WUE, seed

__all__ = ["pg_admin_url", "pg_database", "pg_url"]  # PostgreSQL fixtures (tests.pg)


@pytest.fixture(scope="session")
def seeded_file(tmp_path_factory: pytest.TempPathFactory, factor_cache_dir: Path) -> Path:
    path = tmp_path_factory.mktemp("seeded") / "ledger.db"
    seed(f"sqlite:///{path}")
    return path


@pytest.fixture
def report_env(greenai_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The configuration the expected figures assume."""
    monkeypatch.setenv("GREENAI_MARKET_FACTORS", "FRA:20")
    monkeypatch.setenv("GREENAI_WUE", str(WUE))
    monkeypatch.setenv("GREENAI_PRICE_PER_KWH", str(PRICE))
    monkeypatch.setenv("GREENAI_CURRENCY", "EUR")


@pytest.fixture
def seeded_url(seeded_file: Path, tmp_path: Path, report_env: None) -> str:
    """A private copy of the seeded ledger (opening a ledger may touch the file)."""
    copy = tmp_path / "seeded.db"
    shutil.copyfile(seeded_file, copy)
    return f"sqlite:///{copy}"
