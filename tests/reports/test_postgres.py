"""The same report from a PostgreSQL ledger (session time zone not UTC): same bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenai.ledger import upgrade
from greenai.reports import report as make_report
from tests.reports.seed import EXPECTED, seed


@pytest.mark.postgres
def test_postgres_ledger_gives_the_same_report(
    pg_url: str, seeded_url: str, tmp_path: Path
) -> None:
    upgrade(pg_url)
    seed(pg_url)
    as_of, formats = "2026-10-05T00:00:00Z", ("json", "csv")
    from_pg = make_report(
        "2026-Q3", db_url=pg_url, out_dir=tmp_path / "pg", as_of=as_of, formats=formats
    )
    make_report(
        "2026-Q3", db_url=seeded_url, out_dir=tmp_path / "lite", as_of=as_of, formats=formats
    )
    for key, value in EXPECTED.items():
        assert from_pg.report[key] == value, key
    for name in ("report.json", "summary.csv", "runs.csv"):
        assert (tmp_path / "pg" / name).read_bytes() == (tmp_path / "lite" / name).read_bytes()
