"""Every factor carries its dataset, vintage year, basis and GWP set, stored with the run
when it is recorded or imported; the report's factor table states them, says when its
totals mix bases, and takes the energy mix stored with each run (a region's own where the
data hold one) rather than the installed CodeCarbon's."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

import greenai
from greenai.config import Settings
from greenai.emissions import load_table, resolve_factor
from greenai.errors import ConfigError
from greenai.figures.evidence import (
    COMBUSTION,
    LIFE_CYCLE,
    MIX_COUNTRY,
    MIX_REGION,
    UNKNOWN,
    FactorEvidence,
    evidence_from,
)
from greenai.figures.units import emissions_kg
from greenai.ledger import Ledger, schema
from greenai.reports import report as make_report
from tests.reports.seed import Clock

AS_OF = "2026-08-01T00:00:00Z"


def test_country_factor_states_its_year_basis_and_mix() -> None:
    factor = resolve_factor(Settings(country="FRA"))
    row = load_table().country("FRA")
    assert row is not None
    assert factor.evidence.vintage == row["year"]  # CodeCarbon's row carries the year
    assert factor.evidence.basis == LIFE_CYCLE
    assert factor.evidence.gwp == UNKNOWN  # the dataset does not say: never guessed
    assert factor.evidence.mix == row["mix"] and factor.evidence.mix_of == MIX_COUNTRY
    assert "global_energy_mix (FRA)" in factor.evidence.dataset


def test_us_state_is_combustion_with_the_country_mix_labelled() -> None:
    factor = resolve_factor(Settings(country="USA", region="california"))
    assert factor.evidence.basis == COMBUSTION  # eGRID output emission rates
    assert factor.evidence.vintage is not None and "eGRID" in factor.evidence.dataset
    assert factor.evidence.mix_of == MIX_COUNTRY  # no state mix in the data


def test_a_province_takes_its_own_mix() -> None:
    factor = resolve_factor(Settings(country="CAN", region="quebec"))
    country = resolve_factor(Settings(country="CAN"))
    assert factor.evidence.mix_of == MIX_REGION
    assert factor.evidence.mix is not None and country.evidence.mix is not None
    assert factor.evidence.mix["renewable"] > 0.9 > country.evidence.mix["renewable"]


def test_cloud_and_world_factors_state_nothing_they_do_not_know() -> None:
    for settings in (Settings(cloud_provider="gcp", cloud_region="us-central1"), Settings()):
        evidence = resolve_factor(settings).evidence
        assert (evidence.vintage, evidence.basis, evidence.gwp, evidence.mix) == (
            None, UNKNOWN, UNKNOWN, None,
        )  # fmt: skip


def test_user_table_evidence_columns(tmp_path: Path) -> None:
    table = tmp_path / "factors.csv"
    table.write_text(
        "location,intensity_g_per_kwh,source,vintage,basis,gwp\n"
        "FRA,21,Supplier 2025,2025,life-cycle,AR6\nDEU,300,,,,\n",
        encoding="utf-8",
    )
    mine = resolve_factor(Settings(country="FRA", factors_file=table)).evidence
    assert (mine.vintage, mine.basis, mine.gwp) == (2025, LIFE_CYCLE, "AR6")
    blank = resolve_factor(Settings(country="DEU", factors_file=table)).evidence
    assert (blank.vintage, blank.basis, blank.gwp) == (None, UNKNOWN, UNKNOWN)
    table.write_text("location,intensity_g_per_kwh,basis\nFRA,21,scope-3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="basis"):
        resolve_factor(Settings(country="FRA", factors_file=table))
    table.write_text("location,intensity_g_per_kwh,vintage\nFRA,21,25\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="vintage"):
        resolve_factor(Settings(country="FRA", factors_file=table))


@given(
    vintage=st.one_of(st.none(), st.integers(1900, 2100)),
    basis=st.sampled_from((LIFE_CYCLE, COMBUSTION, UNKNOWN)),
    shares=st.one_of(st.none(), st.lists(st.floats(0, 1), min_size=3, max_size=3)),
)
def test_evidence_round_trips_through_json(
    vintage: int | None, basis: str, shares: list[float] | None
) -> None:
    mix = dict(zip(("fossil", "nuclear", "renewable"), shares, strict=True)) if shares else None
    evidence = FactorEvidence("d", vintage, basis, "AR5", mix, MIX_COUNTRY if mix else None)
    back = evidence_from(json.loads(json.dumps(evidence.as_dict())))
    assert back == evidence and back is not None and back.mix == evidence.mix


def test_a_tracked_run_stores_its_factor_evidence(ledger_url: str) -> None:
    with greenai.track(country="USA", region="california") as run:
        pass
    ledger = Ledger.open(ledger_url)
    try:
        with ledger.read() as conn:
            stored = conn.execute(
                sa.select(schema.runs.c.factor_evidence).where(schema.runs.c.id == run.id)
            ).scalar_one()
    finally:
        ledger.close()
    assert (
        evidence_from(stored)
        == resolve_factor(Settings(country="USA", region="california")).evidence
    )


def _run(
    run_id: str,
    country: str,
    region: str | None,
    g_per_kwh: float,
    evidence: dict[str, Any] | None,
    minute: int,
) -> dict[str, Any]:
    start = datetime(2026, 7, 10, tzinfo=UTC) + timedelta(minutes=minute)
    energy_j = 3.6e6
    return {
        "id": run_id, "status": "completed", "project": "p", "started_at": start,
        "ended_at": start + timedelta(seconds=60), "duration_s": 60.0, "energy_j": energy_j,
        "facility_energy_j": energy_j, "measured_energy_j": energy_j, "pue": 1.0,
        "country": country, "region": region, "host_id": f"h-{run_id}",
        "intensity_g_per_kwh": g_per_kwh, "intensity_source": f"test {country}",
        "emissions_kg": emissions_kg(energy_j, g_per_kwh), "codecarbon_version": "3.3.2",
        "factor_evidence": evidence,
    }  # fmt: skip


def _report(ledger_url: str, tmp_path: Path, runs: list[dict[str, Any]]) -> dict[str, Any]:
    clock = Clock()
    ledger = Ledger.open(ledger_url, clock=clock)
    try:
        for row in runs:
            clock.now = row["ended_at"]
            ledger.save_run({"run": row})
    finally:
        ledger.close()
    out = tmp_path / "out"
    make_report("2026-Q3", as_of=AS_OF, db_url=ledger_url, out_dir=out, formats=("html", "json"))
    report: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    report["html"] = (out / "report.html").read_text(encoding="utf-8")
    return report


def test_report_states_evidence_and_mixed_bases(ledger_url: str, tmp_path: Path) -> None:
    fra = resolve_factor(Settings(country="FRA"))
    cal = resolve_factor(Settings(country="USA", region="california"))
    report = _report(ledger_url, tmp_path, [
        _run("a", "FRA", None, fra.intensity_g_per_kwh, fra.evidence.as_dict(), 0),
        _run("b", "USA", "california", cal.intensity_g_per_kwh, cal.evidence.as_dict(), 5),
    ])  # fmt: skip
    rows = {r["location"]: r for r in report["scope2_location_factors"]}
    assert (rows["FRA"]["vintage"], rows["FRA"]["basis"]) == (fra.evidence.vintage, LIFE_CYCLE)
    assert rows["USA/california"]["basis"] == COMBUSTION
    assert rows["FRA"]["gwp"] == UNKNOWN
    bases = report["scope2_factor_bases"]
    assert bases["energy_facility_kwh_by_basis"] == {COMBUSTION: 1.0, LIFE_CYCLE: 1.0}
    assert "different bases" in bases["note"]
    assert "Mixed bases." in report["html"] and "eGRID" in report["html"]


def test_report_mix_is_the_one_stored_with_the_run(ledger_url: str, tmp_path: Path) -> None:
    # A run whose stored mix differs from the installed table's: the stored one counts.
    stored = FactorEvidence(
        "an older dataset",
        2019,
        LIFE_CYCLE,
        UNKNOWN,
        {"fossil": 1.0, "nuclear": 0.0, "renewable": 0.0},
        MIX_COUNTRY,
    )
    quebec = resolve_factor(Settings(country="CAN", region="quebec"))
    report = _report(ledger_url, tmp_path, [
        _run("old", "FRA", None, 56.0, stored.as_dict(), 0),
        _run("none", "FRA", None, 56.0, None, 5),  # recorded before runs carried evidence
        _run("qc", "CAN", "quebec", quebec.intensity_g_per_kwh, quebec.evidence.as_dict(), 9),
    ])  # fmt: skip
    mix = report["energy_mix"]
    installed = load_table().country("FRA")
    assert installed is not None and quebec.evidence.mix is not None
    fossil_kwh = 1.0 + installed["mix"]["fossil"] + quebec.evidence.mix["fossil"]
    assert math.isclose(mix["fossil_kwh"], fossil_kwh, rel_tol=1e-9)
    assert mix["mix_from"] == {"installed": 1.0, "stored (country)": 1.0, "stored (region)": 1.0}
    families = sum(mix[f"{f}_kwh"] for f in ("fossil", "nuclear", "renewable", "unknown"))
    assert math.isclose(families, 3.0, rel_tol=1e-9)  # "other" sources stay unknown
    rows = {r["location"]: r for r in report["scope2_location_factors"]}
    assert rows["FRA"]["dataset"] in ("an older dataset", "not recorded with the run")
