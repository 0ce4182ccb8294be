"""Contractual instruments in reports: market-based Scope 2 from the instruments' MWh,
then the proxy for the rest; each MWh used once across quarterly reports (recorded in the
ledger, SQLite and PostgreSQL); never for cloud runs; failed checks stated; E1-5's
renewable energy consistent with the instruments."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from greenai.figures.units import emissions_kg
from greenai.ledger import Ledger, schema, upgrade
from greenai.reports import report as make_report
from tests.reports.seed import Clock

KWH = 3.6e6
FRA_G, DEU_G = 56.0, 380.0
AS_OF = "2027-01-15T00:00:00Z"
INSTRUMENTS = """id,type,mwh,location,vintage,g_per_kwh,quality_criteria_met,source,notes
GO-A,go,1.5,FRA,2026,0,yes,AIB,
PPA-B,ppa,1,FRA,2026,20,yes,,wind farm
GO-BAD,go,5,FRA,2026,0,no,,
GO-OLD,go,5,FRA,2024,0,yes,,
REC-US,rec,5,USA,2026,0,yes,,
"""


def _run(run_id: str, start: str, kwh: float, country: str, g: float, **extra: Any) -> dict:
    started = datetime.fromisoformat(start).replace(tzinfo=UTC)
    return {
        "id": run_id, "status": "completed", "project": extra.pop("project", "a"),
        "started_at": started, "ended_at": started + timedelta(hours=1), "duration_s": 3600.0,
        "energy_j": kwh * KWH, "facility_energy_j": kwh * KWH, "measured_energy_j": kwh * KWH,
        "pue": 1.0, "country": country, "host_id": f"host-{country}",
        "intensity_g_per_kwh": g, "intensity_source": f"test factor ({country})",
        "emissions_kg": emissions_kg(kwh * KWH, g), "codecarbon_version": "3.3.2", **extra,
    }  # fmt: skip


RUNS = [
    _run("jul", "2026-07-10T00:00:00", 1000, "FRA", FRA_G),
    _run("aug", "2026-08-10T00:00:00", 1000, "FRA", FRA_G),
    _run("sep", "2026-09-10T00:00:00", 1000, "FRA", FRA_G, project="b"),
    _run("oct", "2026-10-10T00:00:00", 1000, "FRA", FRA_G),
    _run("deu", "2026-08-20T00:00:00", 500, "DEU", DEU_G),
    _run("cloud", "2026-07-20T00:00:00", 2000, "FRA", FRA_G, cloud_provider="gcp",
         cloud_region="europe-west9"),
]  # fmt: skip


def _seed(url: str, runs: list[dict] = RUNS) -> None:
    clock = Clock()
    ledger = Ledger.open(url, clock=clock)
    try:
        for row in runs:
            clock.now = row["ended_at"]
            ledger.save_run({"run": row})
    finally:
        ledger.close()


@pytest.fixture
def instruments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "instruments.csv"
    path.write_text(INSTRUMENTS, encoding="utf-8")
    monkeypatch.setenv("GREENAI_INSTRUMENTS_FILE", str(path))
    return path


def _report(url: str, period: str, out: Path, **kw: Any) -> dict[str, Any]:
    make_report(period, as_of=AS_OF, db_url=url, out_dir=out, formats=("json", "html"), **kw)
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def _allocations(url: str) -> list[tuple[str, str, str, float]]:
    engine = sa.create_engine(url)
    t = schema.instrument_allocations
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.instrument_id, t.c.month, t.c.location, t.c.mwh).order_by(t.c.id)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def _q3_market_t() -> float:
    # Jul GO-A 1 MWh, Aug GO-A 0.5 + PPA-B 0.5, Sep PPA-B 0.5 at 20 g/kWh, Sep's other
    # 0.5 MWh at FRA's location factor (proxy); DEU 0.5 MWh at its location factor.
    return (1000 * 20 + 500 * FRA_G + 500 * DEU_G) / 1e6


def test_instruments_cover_mwh_once_across_quarterly_reports(
    ledger_url: str, instruments: Path, tmp_path: Path
) -> None:
    _seed(ledger_url)
    q3 = _report(ledger_url, "2026-Q3", tmp_path / "q3")
    assert math.isclose(q3["scope2_market_tco2e"], _q3_market_t(), rel_tol=1e-9)
    assert q3["scope2_market_basis"] == "contractual_instrument + location_based_proxy"
    section = q3["contractual_instruments"]
    assert [(a["instrument_id"], a["month"], a["mwh"]) for a in section["applied"]] == [
        ("GO-A", "2026-07", 1.0), ("GO-A", "2026-08", 0.5), ("PPA-B", "2026-08", 0.5),
        ("PPA-B", "2026-09", 0.5),
    ]  # fmt: skip
    assert section["applied_mwh"] == 2.5
    assert math.isclose(section["covered_share"], 2.5 / 3.5)  # the cloud run is not covered
    rows = {r["id"]: r for r in section["instruments"]}
    assert rows["GO-A"]["remaining_mwh"] == 0 and rows["PPA-B"]["remaining_mwh"] == 0
    rejected = {r["instrument_id"]: r["reason"] for r in section["rejected"]}
    assert "quality criteria not met" in rejected["GO-BAD"]
    assert "vintage 2024 outside the window" in rejected["GO-OLD"]
    assert "no Scope 2 consumption in its market (USA)" in rejected["REC-US"]
    recorded = _allocations(ledger_url)
    assert len(recorded) == 4

    q4 = _report(ledger_url, "2026-Q4", tmp_path / "q4")
    assert q4["contractual_instruments"]["applied"] == []  # Q3 used all the volume
    assert math.isclose(q4["scope2_market_tco2e"], 1000 * FRA_G / 1e6, rel_tol=1e-9)
    assert q4["scope2_market_basis"] == "location_based_proxy"
    q4_rows = {r["id"]: r for r in q4["contractual_instruments"]["instruments"]}
    assert q4_rows["GO-A"]["used_before_period_mwh"] == 1.5
    assert math.isclose(q4["previous_period"]["scope2_market_tco2e"], _q3_market_t())

    again = _report(ledger_url, "2026-Q3", tmp_path / "q3-again")
    assert _allocations(ledger_url) == recorded  # nothing allocated twice
    assert again["scope2_market_tco2e"] == q3["scope2_market_tco2e"]
    assert again["inputs_sha256"] == q3["inputs_sha256"]


def test_a_later_quarter_reported_first_leaves_the_earlier_its_mwh(
    ledger_url: str, instruments: Path, tmp_path: Path
) -> None:
    _seed(ledger_url)
    q4 = _report(ledger_url, "2026-Q4", tmp_path / "q4")
    assert q4["contractual_instruments"]["applied"] == []  # oldest consumption first
    q3 = _report(ledger_url, "2026-Q3", tmp_path / "q3")
    assert math.isclose(q3["scope2_market_tco2e"], _q3_market_t(), rel_tol=1e-9)


def test_the_basis_and_caveat_stand_beside_every_market_figure(
    ledger_url: str, instruments: Path, tmp_path: Path
) -> None:
    _seed(ledger_url)
    data = _report(ledger_url, "2026-Q3", tmp_path / "q3")
    caveat = data["scope2_market_caveat"]
    assert caveat.startswith("for part of this energy")
    (row,) = [r for r in data["esrs_mapping"] if r["report_key"] == "scope2_market_tco2e"]
    assert row["caveat"] == caveat
    html = (tmp_path / "q3" / "report.html").read_text(encoding="utf-8")
    assert html.count(caveat) >= 3
    assert 'id="contractual-instruments"' in html
    for text in ("GO-A", "PPA-B", "quality criteria not met", "vintage 2024 outside the window"):
        assert text in html


def test_renewable_instruments_count_as_renewable_in_e1_5(
    ledger_url: str, instruments: Path, tmp_path: Path
) -> None:
    _seed(ledger_url)
    mix = _report(ledger_url, "2026-Q3", tmp_path / "q3")["energy_mix"]
    fra = next(r for r in mix["by_country"] if r["country"] == "FRA")
    moved = 1500.0  # GO-A only: PPA-B has a factor of 20 g/kWh, not a renewable claim
    assert mix["renewable_instruments_kwh"] == moved
    expected = mix["grid"]["renewable_kwh"] + moved * (1 - fra["renewable_share"])
    assert math.isclose(mix["renewable_kwh"], expected, rel_tol=1e-9)
    assert math.isclose(
        mix["fossil_kwh"], mix["grid"]["fossil_kwh"] - moved * fra["fossil_share"], rel_tol=1e-9
    )
    families = ("fossil", "nuclear", "renewable", "unknown")
    assert math.isclose(sum(mix[f"{f}_kwh"] for f in families), 3500.0, rel_tol=1e-9)
    data = json.loads((tmp_path / "q3" / "report.json").read_text(encoding="utf-8"))
    (row,) = [r for r in data["esrs_mapping"] if r["report_key"] == "energy_mix.renewable_kwh"]
    assert math.isclose(row["value"], mix["renewable_kwh"] / 1000.0, rel_tol=1e-9)


def test_a_project_report_shares_the_coverage_without_allocating_again(
    ledger_url: str, instruments: Path, tmp_path: Path
) -> None:
    _seed(ledger_url)
    full = _report(ledger_url, "2026-Q3", tmp_path / "all")
    recorded = _allocations(ledger_url)
    only_a = _report(ledger_url, "2026-Q3", tmp_path / "a", projects=("a",))
    assert _allocations(ledger_url) == recorded
    # project a: FRA Jul + Aug (2 of Q3's 3 FRA MWh, 2.5 covered: 5/6 each) and DEU
    covered = 2000 * 5 / 6
    instrument_g = (1500 * 0 + 1000 * 20) / 2500
    fra_g = covered * instrument_g + (2000 - covered) * FRA_G
    assert math.isclose(only_a["scope2_market_tco2e"], (fra_g + 500 * DEU_G) / 1e6, rel_tol=1e-9)
    by_project = math.fsum(r["scope2_market_tco2e"] for r in full["by_project"])
    assert math.isclose(by_project, full["scope2_market_tco2e"], rel_tol=1e-9)


def test_without_instruments_nothing_is_recorded(ledger_url: str, tmp_path: Path) -> None:
    _seed(ledger_url)
    data = _report(ledger_url, "2026-Q3", tmp_path / "q3")
    assert data["contractual_instruments"]["instruments"] == []
    assert data["scope2_market_basis"] == "location_based_proxy"
    assert _allocations(ledger_url) == []


@pytest.mark.postgres
def test_postgres_ledger_records_the_same_allocation(
    pg_url: str, ledger_url: str, instruments: Path, tmp_path: Path
) -> None:
    upgrade(pg_url)
    _seed(pg_url)
    _seed(ledger_url)
    for period in ("2026-Q3", "2026-Q4"):
        from_pg = _report(pg_url, period, tmp_path / f"pg-{period}")
        lite = _report(ledger_url, period, tmp_path / f"lite-{period}")
        assert from_pg["contractual_instruments"] == lite["contractual_instruments"]
        assert from_pg["scope2_market_tco2e"] == lite["scope2_market_tco2e"]
    assert _allocations(pg_url) == _allocations(ledger_url)


def test_a_past_report_keeps_its_allocation_after_later_consumption_is_covered(
    ledger_url: str, instruments: Path, tmp_path: Path
) -> None:
    _seed(ledger_url, RUNS[:2])  # July and August: 2 MWh, GO-A and half of PPA-B used
    time.sleep(1.1)
    as_of = datetime.now(UTC).replace(microsecond=0).isoformat()
    time.sleep(1.1)
    first = tmp_path / "first"
    make_report("2026-Q3", as_of=as_of, db_url=ledger_url, out_dir=first, formats=("json",))
    with Ledger.open(ledger_url) as ledger:  # a late September record, in ledger time now
        ledger.save_run({"run": RUNS[2]})
    now = _report(ledger_url, "2026-Q3", tmp_path / "now")
    assert ("PPA-B", "2026-09", 0.5) in [
        (a["instrument_id"], a["month"], a["mwh"])
        for a in now["contractual_instruments"]["applied"]
    ]
    recorded = _allocations(ledger_url)
    again = tmp_path / "again"
    make_report("2026-Q3", as_of=as_of, db_url=ledger_url, out_dir=again, formats=("json",))
    assert (again / "report.json").read_bytes() == (first / "report.json").read_bytes()
    assert _allocations(ledger_url) == recorded  # reading the past records nothing


def test_a_past_report_keeps_the_instruments_file_it_used(
    ledger_url: str, instruments: Path, tmp_path: Path
) -> None:
    _seed(ledger_url)
    time.sleep(1.1)
    as_of = datetime.now(UTC).replace(microsecond=0).isoformat()
    first = tmp_path / "first"
    make_report("2026-Q3", as_of=as_of, db_url=ledger_url, out_dir=first, formats=("json",))
    instruments.write_text(INSTRUMENTS.replace("GO-A,go,1.5", "GO-A,go,0.5"), encoding="utf-8")
    time.sleep(1.1)
    now = _report(ledger_url, "2026-Q4", tmp_path / "q4-now")
    assert now["configuration"]["revision"] == 2
    again = tmp_path / "again"
    make_report("2026-Q3", as_of=as_of, db_url=ledger_url, out_dir=again, formats=("json",))
    assert (again / "report.json").read_bytes() == (first / "report.json").read_bytes()
    held = json.loads((again / "report.json").read_text(encoding="utf-8"))
    volumes = {r["id"]: r["volume_mwh"] for r in held["contractual_instruments"]["instruments"]}
    assert volumes["GO-A"] == 1.5 and held["configuration"]["revision"] == 1


SPANNING = [  # September's run crosses midnight of the 14th: half its energy on each day
    RUNS[0], RUNS[1],
    {**_run("sep", "2026-09-14T12:00:00", 1000, "FRA", FRA_G),
     "ended_at": datetime(2026, 9, 15, 12, tzinfo=UTC), "duration_s": 86_400.0},
]  # fmt: skip


def test_a_period_covering_part_of_a_month_takes_its_share_of_the_allocation(
    ledger_url: str, instruments: Path, tmp_path: Path
) -> None:
    _seed(ledger_url, SPANNING)
    first = _report(ledger_url, "2026-09-01..2026-09-14", tmp_path / "first")
    second = _report(ledger_url, "2026-09-15..2026-09-30", tmp_path / "second")
    whole = _report(ledger_url, "2026-09", tmp_path / "whole")
    # September: 1 MWh, PPA-B's last 0.5 MWh (20 g/kWh); each half takes 0.25 of it
    for half in (first, second):
        section = half["contractual_instruments"]
        applied = [(a["instrument_id"], a["month"], a["mwh"]) for a in section["applied"]]
        assert applied == [("PPA-B", "2026-09", 0.25)]
        assert math.isclose(half["scope2_market_tco2e"], (250 * 20 + 250 * FRA_G) / 1e6)
        assert "part of a month" in section["note"]
    assert math.isclose(
        first["scope2_market_tco2e"] + second["scope2_market_tco2e"],
        whole["scope2_market_tco2e"],
        rel_tol=1e-12,
    )
    assert whole["contractual_instruments"]["applied_mwh"] == 0.5
