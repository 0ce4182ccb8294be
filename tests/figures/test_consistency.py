"""The same question gets the same number on every surface.

One seeded ledger holds every shape the figures layer must get right: runs crossing the
quarter's edges (one split by its stored series, one pro rata), node idle energy from
agents, a child run, a multi-rank job (two parts), a cloud run, runs imported from a
CodeCarbon file, and a time zone that is not UTC (Europe/Paris: the quarter starts at
22:00 UTC). For 2026-Q3, the dashboard's Overview (its data and the page itself), the
report (E1-5 energy and Scope 2), ``greenai runs totals`` and the sum of
``greenai runs export --period`` agree: runs only with runs only, the boundary with the
boundary, exactly (the report at its 12 significant digits).
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from greenai.figures import units
from greenai.figures.frame import Selection
from greenai.figures.periods import parse_period
from greenai.interop.codecarbon_import import import_codecarbon
from greenai.ledger import Ledger
from greenai.ledger.ranks import save_part
from tests.cli.helpers import greenai_cli
from tests.interop.files import row, write_csv
from tests.reports.seed import KWH, figure, seed

TZ = "Europe/Paris"
QUARTER = "2026-Q3"


def _rank_part(rank: int, kwh: float) -> dict[str, Any]:
    started = datetime(2026, 8, 10, 8, tzinfo=UTC)
    return {
        "run": {
            "id": f"job-1-rank{rank}", "parent_run_id": "job-1", "rank": rank,
            "status": "completed", "started_at": started,
            "ended_at": started.replace(hour=10), "duration_s": 7200.0,
            "energy_j": kwh * KWH, "facility_energy_j": kwh * KWH * 1.2, "pue": 1.2,
            "measured_energy_j": kwh * KWH, "project": "chat", "phase": "training",
            "model": "llama-8b", "technique": "baseline", "country": "DEU",
            "host_id": f"h-rank{rank}", "intensity_g_per_kwh": 380.95,
            "emissions_kg": kwh * 1.2 * 380.95 / 1000, "tokens_output": 1000 * (rank + 1),
        }
    }  # fmt: skip


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "ledger.db"
    address = f"sqlite:///{path}"
    seed(address)
    with Ledger.open(address) as ledger:
        for rank, kwh in ((0, 300.0), (1, 200.0)):
            save_part(ledger, _rank_part(rank, kwh))
        imported = write_csv(
            tmp_path / "emissions.csv",
            [row(1, timestamp="2026-09-30T22:30:00", duration="3600", energy_consumed="40"),
             row(2, timestamp="2026-08-02T12:00:00", duration="600", energy_consumed="2.5",
                 on_cloud="Y", cloud_provider="aws", cloud_region="eu-west-3")],
        )  # fmt: skip
        import_codecarbon(imported, ledger)
    for key, value in {
        "GREENAI_DB_URL": address, "GREENAI_TIMEZONE": TZ, "GREENAI_MARKET_FACTORS": "FRA:20",
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    return address


def _dashboard(url: str) -> dict[str, float]:
    import streamlit as st

    from dashboard import data

    st.cache_data.clear()
    st.cache_resource.clear()
    figures = data.period_figures(url, parse_period(QUARTER, TZ), Selection(), date(2026, 12, 1))
    assert figures is not None
    return figures.current


def _quality_runs(url: str) -> list[str]:
    from dashboard import data

    found = data.period_runs(url, parse_period(QUARTER, TZ), Selection(), date(2026, 12, 1))
    return list(found["id"])


def _cli_totals() -> dict[str, Any]:
    done = greenai_cli("runs", "totals", "--period", QUARTER, "--format", "json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def _export() -> list[dict[str, str]]:
    done = greenai_cli("runs", "export", "--period", QUARTER, "--format", "csv")
    assert done.returncode == 0, done.stderr
    return list(csv.DictReader(io.StringIO(done.stdout)))


def _report(url: str, tmp_path: Path) -> dict[str, Any]:
    from greenai.reports import report

    return dict(report(QUARTER, out_dir=tmp_path / "report", formats=("json",), db_url=url).report)


def _fsum(rows: list[dict[str, str]], column: str, kind: str | None = None) -> float:
    return math.fsum(float(r[column]) for r in rows if kind is None or r["kind"] == kind)


def test_dashboard_report_cli_and_export_agree(url: str, tmp_path: Path) -> None:
    shown = _dashboard(url)
    cli = _cli_totals()
    lines = _export()
    report = _report(url, tmp_path)

    # what the period holds: the job once (not its parts), no child run, edges split
    ids = [r["id"] for r in lines if r["kind"] == "run"]
    assert "job-1" in ids and not any(i.startswith("job-1-rank") for i in ids)
    assert "r7-child" not in ids and {"r4-usa", "r5-gbr"} <= set(ids)
    shares = {r["id"]: float(r["share"]) for r in lines if r["kind"] == "run"}
    assert 0 < shares["r4-usa"] < 1 and 0 < shares["r5-gbr"] < 1
    imported = sorted(shares[i] for i in ids if i.startswith("cc-"))  # CodeCarbon's rows
    assert len(imported) == 2 and 0 < imported[0] < 1 == imported[1]  # one ends past 22:00
    assert any(r["kind"] == "node" for r in lines)  # node idle energy in the boundary
    # the Data quality page reviews exactly the runs the period counts
    assert set(_quality_runs(url)) == set(ids) == {r["run_id"] for r in report["runs"]}
    assert cli["timezone"] == TZ and cli["period_start"] == "2026-07-01T00:00:00+02:00"

    # the CLI's totals are the dashboard's, figure for figure
    for key, value in shown.items():
        assert cli[key] == (None if math.isnan(value) else value), key

    # the export adds up to them: runs only and the boundary
    assert _fsum(lines, "energy_it_j", "run") == shown["energy_j"]
    assert _fsum(lines, "energy_it_j") == shown["boundary_energy_j"]
    assert _fsum(lines, "loc_kg") == shown["boundary_emissions_kg"]
    assert _fsum(lines, "facility_j", "run") == shown["facility_energy_j"]
    assert shown["boundary_energy_j"] > shown["energy_j"] > 0

    # the report says the same, as it writes figures (12 significant digits)
    rnd = figure

    assert report["timezone"] == TZ and report["period_label"] == QUARTER
    (tracked,) = [e for e in report["energy_lines"] if e["line"] == "tracked_runs"]
    assert tracked["energy_it_kwh"] == rnd(units.kwh(shown["scope2_runs_energy_j"]))
    assert report["energy_it_kwh"] == rnd(units.kwh(shown["scope2_energy_j"]))
    assert report["energy_facility_kwh"] == rnd(units.kwh(shown["scope2_facility_energy_j"]))
    assert report["scope2_location_tco2e"] == rnd(units.tonnes(shown["scope2_location_kg"]))
    assert report["scope3_cloud_energy_it_kwh"] == rnd(units.kwh(shown["scope3_cloud_energy_j"]))
    assert report["runs_count"] == shown["runs"]
    assert shown["scope2_energy_j"] + shown["scope3_cloud_energy_j"] == pytest.approx(
        shown["boundary_energy_j"], rel=1e-12
    )


def test_the_overview_page_shows_those_figures(url: str) -> None:
    from tests.dashboard.conftest import metrics, open_app

    shown = _dashboard(url)
    at = open_app()
    at.selectbox(key="period").select("Custom range").run()
    at.date_input(key="period_range").set_value((date(2026, 7, 1), date(2026, 9, 30))).run()
    assert not at.exception, at.exception
    values = metrics(at)
    assert values["IT energy"][0] == units.format_energy(shown["energy_j"])
    assert values["IT energy, boundary"][0] == units.format_energy(shown["boundary_energy_j"])
    assert values["Emissions (location-based)"][0] == units.format_mass(shown["emissions_kg"])
    assert values["Runs"][0] == units.format_count(shown["runs"])
    per_token = units.format_joules(shown["j_per_output_token"], per="token")
    assert values["Energy per output token"][0] == per_token
