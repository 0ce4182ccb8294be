"""The report configuration as the ledger held it: recorded once per change by a report in
the present, used as held by a report as of the past; a ledger that refuses the write
(read-only) still reports, with the configuration in effect now, never an older one."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from greenai.ledger import Ledger
from greenai.reports import build_report
from tests.reports.seed import AS_OF


def _report(url: str, as_of: Any = None, *, read_only: bool = False) -> dict[str, Any]:
    ledger = Ledger.open(url)
    if read_only:  # as the dashboard opens it

        @sa.event.listens_for(ledger.engine, "connect")
        def _query_only(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA query_only = ON")

        ledger.engine.dispose()
    try:
        return build_report(ledger, "2026-Q3", as_of=as_of)
    finally:
        ledger.close()


def _revisions(url: str) -> list[tuple[int, str]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT revision, reason FROM report_inputs ORDER BY 1"))
        found = [(int(n), str(r)) for n, r in rows]
    engine.dispose()
    return found


def test_one_revision_per_change_and_the_past_keeps_its_own(
    seeded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _report(seeded_url, AS_OF)  # the first report records what it used
    assert _report(seeded_url)["configuration"]["revision"] == 1  # unchanged: no revision
    monkeypatch.setenv("GREENAI_MARKET_FACTORS", "FRA:5")
    changed = _report(seeded_url)
    assert changed["configuration"]["revision"] == 2
    assert changed["scope2_market_tco2e"] < first["scope2_market_tco2e"]
    assert _revisions(seeded_url) == [
        (1, "first used by a report"),
        (2, "changed since revision 1"),
    ]
    past = _report(seeded_url, AS_OF)
    assert past["scope2_market_tco2e"] == first["scope2_market_tco2e"]
    assert past["configuration"] == first["configuration"]


def test_a_read_only_ledger_reports_with_the_configuration_in_effect_now(
    seeded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _report(seeded_url)  # revision 1: FRA at 20 g/kWh
    monkeypatch.setenv("GREENAI_MARKET_FACTORS", "FRA:5")
    now = _report(seeded_url, read_only=True)
    assert now["configuration"]["revision"] is None
    assert "the ledger refused the write" in now["configuration"]["note"]
    assert now["scope2_market_tco2e"] < before["scope2_market_tco2e"]  # never revision 1
    assert _revisions(seeded_url) == [(1, "first used by a report")]
