"""Report figures on the seeded ledger, against totals worked out by hand (seed.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from greenai.emissions import energy_mix
from greenai.errors import ConfigError
from greenai.ledger import Ledger
from greenai.reports import EmptyPeriodError, Period, build_report, parse_period
from tests.reports.seed import (
    AS_OF,
    DEU,
    EXPECTED,
    EXPECTED_2025,
    EXPECTED_CHAT_SEARCH,
    EXPECTED_COST,
    EXPECTED_MIX,
    EXPECTED_Q2,
    FRA,
    MIX,
    USA_CA,
    figure,
)

REQUIRED_KEYS = (
    "period_start", "period_end", "as_of", "energy_it_kwh", "energy_facility_kwh",
    "energy_mix", "scope2_location_tco2e", "scope2_market_tco2e", "scope2_market_basis",
    "scope3_cloud_tco2e", "measured_share", "by_project", "by_phase", "by_model_technique",
    "previous_period", "previous_year", "data_quality", "runs_count",
)  # fmt: skip


def build(url: str, period: str | Period = "2026-Q3", **kwargs):
    ledger = Ledger.open(url)
    try:
        return build_report(ledger, period, as_of=kwargs.pop("as_of", AS_OF), **kwargs)
    finally:
        ledger.close()


def test_mix_constants_are_codecarbons() -> None:
    for country, shares in MIX.items():
        mix = energy_mix(country)
        assert mix is not None
        assert (mix["fossil"], mix["nuclear"], mix["renewable"]) == shares


def test_headline_figures(seeded_url: str) -> None:
    report = build(seeded_url)
    for key in REQUIRED_KEYS:
        assert key in report
    for key, value in EXPECTED.items():
        assert report[key] == value, key
    assert report["cost"] == EXPECTED_COST
    assert report["period_start"] == "2026-07-01T00:00:00+00:00"
    assert report["period_end"] == "2026-10-01T00:00:00+00:00"
    assert report["as_of"] == "2026-10-05T00:00:00Z"


def test_energy_lines_include_node_idle_energy(seeded_url: str) -> None:
    report = build(seeded_url)
    assert report["energy_lines"] == [
        {"line": "tracked_runs", "host_id": None, "energy_it_kwh": 28_100.0,
         "energy_facility_kwh": 34_700.0},
        {"line": "node_idle_unallocated", "host_id": "h1", "energy_it_kwh": 2_000.0,
         "energy_facility_kwh": 3_000.0},
        {"line": "node_idle_unallocated", "host_id": "h3", "energy_it_kwh": 2_000.0,
         "energy_facility_kwh": 2_200.0},
    ]  # fmt: skip
    assert report["boundary"]["node_energy_included"] is True
    assert report["boundary"]["hosts_count"] == 6  # h1 h2 h3 h4 h5 h7
    assert report["boundary"]["projects"] == ["chat", "other", "search"]


def test_energy_mix(seeded_url: str) -> None:
    mix = build(seeded_url)["energy_mix"]
    for key, value in EXPECTED_MIX.items():
        assert mix[key] == value, key
    total = 39_900.0
    assert mix["unknown_share"] == figure(1_000 / total)
    assert [row["country"] for row in mix["by_country"]] == ["DEU", "FRA", "GBR", "USA"]
    assert "global_energy_mix" in mix["source"]


def test_scope_2_factors_and_market_basis(seeded_url: str) -> None:
    report = build(seeded_url)
    location = {row["location"]: row for row in report["scope2_location_factors"]}
    assert location["FRA"]["energy_facility_kwh"] == 18_000.0
    assert location["FRA"]["tco2e"] == figure(18_000 * FRA / 1e6)
    assert location["USA/california"]["intensity_g_per_kwh"] == figure(USA_CA)
    assert location["unknown"]["source"].endswith("world average (location not set)")
    market = {row["location"]: row for row in report["scope2_market_factors"]}
    assert market["FRA"]["basis"] == "contractual_or_supplier"
    assert market["FRA"]["intensity_g_per_kwh"] == 20.0
    assert market["FRA"]["tco2e"] == 0.36
    assert market["DEU"]["basis"] == "location_based_proxy"
    assert market["DEU"]["tco2e"] == figure(6_100 * DEU / 1e6)
    cloud = report["scope3_cloud_factors"]
    assert [(r["location"], r["tco2e"]) for r in cloud] == [("gcp/europe-west1", 0.244)]


def test_breakdowns(seeded_url: str) -> None:
    report = build(seeded_url)
    projects = {row["project"]: row for row in report["by_project"]}
    assert projects["chat"]["energy_it_kwh"] == 22_000.0
    assert projects["chat"]["energy_facility_kwh"] == 28_000.0
    assert projects["chat"]["runs_count"] == 4
    assert projects["search"]["energy_it_kwh"] == 6_000.0
    assert projects["search"]["cloud_energy_it_kwh"] == 2_000.0
    assert projects["search"]["scope3_cloud_tco2e"] == 0.244
    assert projects["search"]["tokens"] == 3_500_000_000
    assert projects["other"]["energy_it_kwh"] == 100.0
    phases = [row["phase"] for row in report["by_phase"]]
    assert phases == ["evaluation", "fine-tuning", "inference", "training", None]
    pairs = {(r["model"], r["technique"]): r for r in report["by_model_technique"]}
    assert pairs[("llama-8b", "int8")]["kwh_per_million_tokens"] == 2.5  # 5 000 / 2 000
    assert pairs[("llama-8b", "baseline")]["scope2_market_tco2e"] == 0.3  # 15 000 x 20 g


def test_comparisons(seeded_url: str) -> None:
    report = build(seeded_url)
    previous = report["previous_period"]
    assert previous["period_label"] == "2026-Q2"
    for key, value in EXPECTED_Q2.items():
        assert previous[key] == value, key
    assert previous["change"]["energy_it_kwh"] == figure((32_100 - 8_000) / 8_000)
    year = report["previous_year"]
    assert year["period_label"] == "2025-Q3"
    for key, value in EXPECTED_2025.items():
        assert year[key] == value, key
    assert year["change"]["scope3_cloud_tco2e"] is None  # nothing a year before


def test_data_quality(seeded_url: str) -> None:
    quality = build(seeded_url)["data_quality"]
    assert quality["measured_share"] == EXPECTED["measured_share"]
    # r2's CPU (1 000 kWh) and r6 (1 000 kWh) were estimated by a model.
    assert quality["estimated_components"] == [
        {"kind": "cpu", "runs_count": 2, "energy_it_kwh": 2_000.0}
    ]
    assert quality["unknown_location"]["run_ids"] == ["r6-unk"]
    assert quality["interrupted"]["run_ids"] == ["r6-unk"]
    assert quality["overlapping_root_runs"]["run_ids"] == ["r5-gbr"]
    assert quality["sampling_gaps"]["run_ids"] == ["r4-usa"]
    assert quality["split_runs"] == [
        {"run_id": "r4-usa", "share_in_period": 0.75, "split_method": "power_series"},
        {"run_id": "r5-gbr", "share_in_period": 0.5, "split_method": "time"},
    ]
    assert quality["period_complete_at_as_of"] is True


def test_root_runs_only_and_appendix(seeded_url: str) -> None:
    report = build(seeded_url)
    ids = [run["run_id"] for run in report["runs"]]
    assert ids == ["r5-gbr", "r1-fra", "r2-deu", "r3-cloud", "r11-other", "r6-unk", "r4-usa"]
    r4 = report["runs"][-1]
    assert (r4["energy_it_kwh"], r4["energy_facility_kwh"], r4["tokens"]) == (
        6_000.0, 6_600.0, 3_000_000_000,
    )  # fmt: skip
    assert r4["location_kgco2e"] == figure(6_600 * USA_CA / 1000)
    assert report["runs"][3]["scope"] == "scope3_cat1"


def test_as_of_counts_only_what_the_ledger_held(seeded_url: str) -> None:
    before = build(seeded_url)
    after = build(seeded_url, as_of=datetime(2026, 10, 7, tzinfo=UTC))
    # r8 (50 000 kWh, FRA) was written on 6 October.
    assert after["energy_it_kwh"] == before["energy_it_kwh"] + 50_000.0
    assert after["inputs_sha256"] != before["inputs_sha256"]
    # Before r4 ended (1 October 04:00) its row did not exist yet.
    early = build(seeded_url, as_of="2026-10-01T03:00:00+00:00")
    assert "r4-usa" not in [run["run_id"] for run in early["runs"]]


def test_project_filter_leaves_out_node_energy(seeded_url: str) -> None:
    report = build(seeded_url, projects=("search", "chat"))
    for key, value in EXPECTED_CHAT_SEARCH.items():
        assert report[key] == value, key
    assert report["projects_filter"] == ["chat", "search"]
    assert report["boundary"]["node_energy_included"] is False


def test_period_in_another_time_zone(seeded_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # In Tokyo (UTC+9) Q3 starts on 30 June 15:00 UTC: r5 (18:00 -> 06:00 UTC) is wholly in.
    monkeypatch.setenv("GREENAI_TIMEZONE", "Asia/Tokyo")
    report = build(seeded_url)
    assert report["timezone"] == "Asia/Tokyo"
    assert report["period_start"] == "2026-07-01T00:00:00+09:00"
    r5 = next(run for run in report["runs"] if run["run_id"] == "r5-gbr")
    assert (r5["share_in_period"], r5["energy_it_kwh"]) == (1.0, 12_000.0)
    # ... and r4 (starts 30 September 20:00 UTC = 1 October 05:00 in Tokyo) is out.
    assert "r4-usa" not in [run["run_id"] for run in report["runs"]]


def test_residual_mix_from_a_csv(seeded_url: str, tmp_path: Path, monkeypatch) -> None:
    table = tmp_path / "market.csv"
    table.write_text(
        "location,intensity_g_per_kwh,source\n"
        "DEU,500,AIB 2025 residual mix\n"
        "USA/California,100,Utility PPA 2026\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("GREENAI_MARKET_FACTORS_FILE", str(table))
    report = build(seeded_url)
    market = {row["location"]: row for row in report["scope2_market_factors"]}
    assert market["DEU"]["basis"] == "residual_mix"
    assert market["DEU"]["tco2e"] == figure(6_100 * 500 / 1e6)
    assert market["USA/california"]["basis"] == "contractual_or_supplier"
    assert market["FRA"]["basis"] == "contractual_or_supplier"  # the table still applies
    assert report["scope2_market_basis"] == (
        "contractual_or_supplier + residual_mix + location_based_proxy"
    )
    # The location-based figure does not move.
    assert report["scope2_location_tco2e"] == EXPECTED["scope2_location_tco2e"]


def test_empty_and_future_periods_say_so(seeded_url: str) -> None:
    with pytest.raises(EmptyPeriodError) as caught:
        build(seeded_url, "2024-Q1")
    message = str(caught.value)
    assert "no root runs in 2024-Q1 (2024-01-01 to 2024-03-31, UTC)" in message
    assert "nothing to report" in message
    with pytest.raises(EmptyPeriodError, match="for project\\(s\\) nobody"):
        build(seeded_url, projects=("nobody",))
    with pytest.raises(ConfigError, match="starts before the as-of time"):
        build(seeded_url, "2026-11")
    # A period still running at the as-of time is reported, and said to be partial.
    partial = build(seeded_url, "2026-Q4")
    assert partial["data_quality"]["period_complete_at_as_of"] is False
    assert [run["run_id"] for run in partial["runs"]] == ["r4-usa", "r12-q4"]


def test_period_object_accepted(seeded_url: str) -> None:
    period = parse_period("2026-07-01..2026-09-30", "UTC")
    report = build(seeded_url, period)
    assert report["period_label"] == "2026-07-01..2026-09-30"
    assert report["energy_it_kwh"] == EXPECTED["energy_it_kwh"]
