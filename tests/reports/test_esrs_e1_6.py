"""ESRS E1-6 and its context on the seeded ledger: Scope 1 statement, totals both ways,
intensity per net revenue, consolidation and base year, the per-site breakdown and the
datapoint mapping (figures worked out by hand from seed.py)."""

from __future__ import annotations

import csv
import io
import math
from datetime import date
from typing import Any

import pytest

from greenai.ledger import Ledger
from greenai.reports import build_report
from greenai.reports.esrs_context import period_revenue
from greenai.reports.html import render_html
from greenai.reports.outputs import summary_csv
from tests.reports.seed import AS_OF, EXPECTED, figure

Q3_DAYS = 92
REVENUE_2026 = 3.65e9  # EUR; Q3 takes 92/365 of it: 9.2e8


def build(url: str, period: str = "2026-Q3", as_of: Any = AS_OF) -> dict[str, Any]:
    ledger = Ledger.open(url)
    try:
        return build_report(ledger, period, as_of=as_of)
    finally:
        ledger.close()


@pytest.fixture
def esrs_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ESRS context of a configured undertaking."""
    env = {
        "SCOPE1_TCO2E": "2026-Q3:1.5",
        "NET_REVENUE": f"2026:{REVENUE_2026}",
        "REVENUE_CURRENCY": "eur",
        "CONSOLIDATION_APPROACH": "operational_control",
        "ORGANISATIONAL_BOUNDARY": "Example AI SE and its subsidiaries' GPU clusters",
        "BASE_YEAR": "2024",
        "RESTATEMENT_POLICY": "restated when a change moves a total by 5 % or more",
        "SITES": "h1:paris-dc1,h2:paris-dc1",
        "SITE_PUE": "paris-dc1:1.4",
    }
    for key, value in env.items():
        monkeypatch.setenv(f"GREENAI_{key}", value)


def test_scope1_none_in_boundary_unless_configured(seeded_url: str) -> None:
    scope1 = build(seeded_url)["scope1"]
    assert scope1["tco2e"] == 0.0
    assert scope1["source"] == "none_in_boundary"
    assert "no Scope 1 source" in scope1["statement"]


def test_totals_both_ways_with_configured_scope1(seeded_url: str, esrs_env: None) -> None:
    report = build(seeded_url)
    assert report["scope1"] == {
        "tco2e": 1.5,
        "source": "configured",
        "statement": report["scope1"]["statement"],
    }
    totals = report["ghg_totals"]
    assert totals["total_location_tco2e"] == figure(
        math.fsum([1.5, EXPECTED["scope2_location_tco2e"], EXPECTED["scope3_cloud_tco2e"]])
    )
    assert totals["total_market_tco2e"] == figure(
        math.fsum([1.5, EXPECTED["scope2_market_tco2e"], EXPECTED["scope3_cloud_tco2e"]])
    )
    assert "contribution" in totals["label"] and "not the undertaking" in totals["label"]
    assert totals["market_caveat"] == report["scope2_market_caveat"]


def test_ghg_intensity_per_prorated_net_revenue(seeded_url: str, esrs_env: None) -> None:
    report = build(seeded_url)
    intensity = report["ghg_intensity"]
    revenue = REVENUE_2026 * Q3_DAYS / 365
    assert intensity["net_revenue"] == figure(revenue)
    assert intensity["currency"] == "EUR"
    totals = report["ghg_totals"]
    assert intensity["location_tco2e_per_currency_unit"] == pytest.approx(
        totals["total_location_tco2e"] / revenue, rel=1e-11
    )
    assert intensity["market_tco2e_per_currency_unit"] == pytest.approx(
        totals["total_market_tco2e"] / revenue, rel=1e-11
    )
    assert "92/365" in intensity["revenue_basis"]
    # No revenue from high climate impact sectors configured: no energy intensity.
    energy = report["energy_intensity"]
    assert energy["mwh_per_currency_unit"] is None
    assert "high_climate_impact_revenue" in energy["reason"]


def test_energy_intensity_only_with_high_climate_impact_revenue(
    seeded_url: str, esrs_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GREENAI_HIGH_CLIMATE_IMPACT_REVENUE", "2026:365000000")
    energy = build(seeded_url)["energy_intensity"]
    assert energy["revenue"] == figure(365e6 * Q3_DAYS / 365)
    assert energy["energy_mwh"] == EXPECTED["energy_facility_mwh"]
    assert energy["mwh_per_currency_unit"] == pytest.approx(39.9 / 92e6, rel=1e-11)
    assert energy["reason"] is None


def test_no_intensity_without_revenue(seeded_url: str) -> None:
    intensity = build(seeded_url)["ghg_intensity"]
    assert intensity["location_tco2e_per_currency_unit"] is None
    assert intensity["market_tco2e_per_currency_unit"] is None
    assert "net_revenue" in intensity["reason"]


def test_period_revenue_is_prorated_by_days_of_each_year() -> None:
    table = {2025: 365.0, 2026: 730.0}
    # 2025-12-01..2026-01-31: 31 days of 2025 (31/365 x 365) and 31 of 2026 (31/365 x 730).
    amount, basis, missing = period_revenue(table, date(2025, 12, 1), date(2026, 1, 31))
    assert amount == pytest.approx(31.0 + 62.0)
    assert missing == []
    assert "31/365 of 2025" in basis and "31/365 of 2026" in basis
    amount, _, missing = period_revenue({2026: 1.0}, date(2025, 12, 1), date(2026, 1, 31))
    assert amount is None and missing == [2025]
    amount, _, _ = period_revenue({2024: 366.0}, date(2024, 2, 29), date(2024, 2, 29))
    assert amount == pytest.approx(1.0)  # a leap year has 366 days


def test_context_is_stated(seeded_url: str, esrs_env: None) -> None:
    report = build(seeded_url)
    context = report["reporting_context"]
    assert context["consolidation_approach"] == "operational_control"
    assert context["organisational_boundary"].startswith("Example AI SE")
    assert context["base_year"] == 2024
    assert context["restatement_policy"].startswith("restated when")
    assert context["not_configured"] == []
    html = render_html(report)
    for text in ("Operational control", "Example AI SE", "2024", "restated when a change",
                 "contribution of the workloads"):  # fmt: skip
        assert text in html, text


def test_context_not_configured_is_said(seeded_url: str) -> None:
    report = build(seeded_url)
    assert report["reporting_context"]["not_configured"] == [
        "consolidation_approach", "organisational_boundary", "base_year", "restatement_policy",
    ]  # fmt: skip
    assert "not configured" in render_html(report)


def _site(report: dict[str, Any], name: str | None) -> dict[str, Any]:
    (row,) = [row for row in report["by_site"] if row["site"] == name]
    return row


def test_sites_with_pue_and_its_source(seeded_url: str, esrs_env: None) -> None:
    report = build(seeded_url)
    paris = _site(report, "paris-dc1")  # r1 + h1 idle (PUE 1.5) and r2 (PUE 1.2)
    assert paris["kind"] == "data_centre"
    assert paris["hosts"] == ["h1", "h2"]
    assert paris["energy_it_kwh"] == 17_000.0
    assert paris["energy_facility_kwh"] == 24_000.0
    assert paris["pue"] == figure(24_000 / 17_000)
    assert paris["pue_source"] == "configured"
    assert paris["pue_configured"] == 1.4
    h3 = _site(report, "h3")  # r4 3/4 (6 000 kWh) and its idle 2 000 kWh, PUE 1.1
    assert h3["kind"] == "host"
    assert h3["energy_facility_kwh"] == 8_800.0
    assert h3["pue"] == 1.1 and h3["pue_source"] == "recorded_with_runs"
    h4 = _site(report, "h4")  # r5, PUE 1.0 recorded, no PUE configured
    assert h4["pue"] == 1.0 and h4["pue_source"] == "default_1.0"
    cloud = _site(report, None)  # r3 has no host id
    assert cloud["scope3_cloud_tco2e"] == EXPECTED["scope3_cloud_tco2e"]
    html = render_html(report)
    assert "paris-dc1" in html and "default 1.0" in html


def test_invariant_sites_sum_to_totals_and_totals_to_scopes(
    seeded_url: str, esrs_env: None
) -> None:
    report = build(seeded_url)
    sites = report["by_site"]

    def summed(key: str) -> float:
        return math.fsum(row[key] for row in sites)

    assert summed("energy_it_kwh") == pytest.approx(report["energy_it_kwh"], rel=1e-11)
    assert summed("energy_facility_kwh") == pytest.approx(report["energy_facility_kwh"], rel=1e-11)
    for key in ("scope2_location_tco2e", "scope2_market_tco2e", "scope3_cloud_tco2e"):
        assert summed(key) == pytest.approx(report[key], rel=1e-11), key
    totals = report["ghg_totals"]
    scope1 = report["scope1"]["tco2e"]
    for basis in ("location", "market"):
        parts = [scope1, report[f"scope2_{basis}_tco2e"], report["scope3_cloud_tco2e"]]
        assert totals[f"total_{basis}_tco2e"] == pytest.approx(math.fsum(parts), rel=1e-11)
        by_site = math.fsum([scope1, summed(f"scope2_{basis}_tco2e"), summed("scope3_cloud_tco2e")])
        assert totals[f"total_{basis}_tco2e"] == pytest.approx(by_site, rel=1e-11)


def test_mapping_rows_and_standard_version(seeded_url: str, esrs_env: None) -> None:
    report = build(seeded_url)
    assert "2023/2772" in report["esrs_standard"]["act"]
    rows = {row["report_key"]: row for row in report["esrs_mapping"]}
    assert rows["energy_mix.renewable_kwh"]["paragraph"] == "37 (c) (ii)"
    assert rows["scope1.tco2e"]["paragraph"] == "44 (a), 48 (a)"
    assert rows["scope1.tco2e"]["value"] == 1.5
    total = rows["ghg_totals.total_location_tco2e"]
    assert total["paragraph"] == "44 (d), 52 (a)"
    assert total["value"] == report["ghg_totals"]["total_location_tco2e"]
    market_total = rows["ghg_totals.total_market_tco2e"]
    assert market_total["caveat"] == report["scope2_market_caveat"]
    intensity = rows["ghg_intensity.location_tco2e_per_currency_unit"]
    assert intensity["paragraph"] == "53" and intensity["unit"] == "tCO2e/EUR"
    assert rows["energy_intensity.mwh_per_currency_unit"]["paragraph"] == "40"
    assert all(row["standard_version"] == report["esrs_standard"]["act"] for row in rows.values())
    html = render_html(report)
    assert "44 (d), 52 (a)" in html and "37 (c) (ii)" in html


def test_scope1_of_other_periods_only_is_not_guessed(
    seeded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GREENAI_SCOPE1_TCO2E", "2026:6")
    report = build(seeded_url)
    assert report["scope1"]["tco2e"] is None
    assert report["scope1"]["source"] == "not_configured_for_period"
    assert "none for 2026-Q3" in report["scope1"]["statement"]
    assert report["ghg_totals"]["total_location_tco2e"] is None
    assert report["ghg_intensity"]["location_tco2e_per_currency_unit"] is None
    render_html(report)  # unknown figures are shown as a dash
    year = build(seeded_url, "2026")
    assert year["scope1"] == {**year["scope1"], "tco2e": 6.0, "source": "configured"}


def test_revenue_and_scope1_are_inputs_of_the_hash(
    seeded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = build(seeded_url)  # the first report records the configuration
    assert before["configuration"]["revision"] == 1
    monkeypatch.setenv("GREENAI_SCOPE1_TCO2E", "2026-Q3:1")
    now = build(seeded_url, as_of=None)  # in the present: the changed configuration
    assert now["inputs_sha256"] != before["inputs_sha256"]
    assert now["configuration"]["revision"] == 2
    past = build(seeded_url)  # as of the past: the configuration the ledger held then
    assert past["inputs_sha256"] == before["inputs_sha256"]
    assert past["configuration"] == before["configuration"]


def _csv_rows(report: dict[str, Any]) -> dict[tuple[str, str, str], tuple[str, str]]:
    rows = csv.DictReader(io.StringIO(summary_csv(report)))
    return {(r["section"], r["group"], r["metric"]): (r["value"], r["unit"]) for r in rows}


def _same(text: str, value: Any) -> bool:
    if value is None:
        return text == ""
    if isinstance(value, float | int) and not isinstance(value, bool):
        return float(text) == float(value)  # unrounded: the same double
    return text == str(value)


@pytest.mark.parametrize("configured", [True, False])
def test_summary_csv_holds_every_e1_6_figure_as_report_json_does(
    seeded_url: str, request: pytest.FixtureRequest, configured: bool
) -> None:
    if configured:
        request.getfixturevalue("esrs_env")
    report = build(seeded_url)
    rows = _csv_rows(report)
    for section in ("scope1", "ghg_totals", "ghg_intensity", "energy_intensity"):
        for key, value in report[section].items():
            if isinstance(value, float | int | None) and not isinstance(value, bool):
                text, _unit = rows[(section, "", key)]
                assert _same(text, value), (section, key, text, value)
    for site in report["by_site"]:
        for key in ("energy_it_kwh", "energy_facility_kwh", "scope2_location_tco2e",
                    "scope2_market_tco2e", "cloud_energy_it_kwh", "scope3_cloud_tco2e", "pue",
                    "pue_source"):  # fmt: skip
            text, _unit = rows[("by_site", site["site"] or "", key)]
            assert _same(text, site[key]), (site["site"], key)
    for row in report["esrs_mapping"]:
        group = f"{row['disclosure']} {row['paragraph']}"
        text, unit = rows[("esrs_mapping", group, row["report_key"])]
        assert _same(text, row["value"]) and unit == row["unit"], row["report_key"]
