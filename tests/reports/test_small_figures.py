"""A report of a few tiny runs (the size of ``greenai demo``'s, 0.05 Wh in all) reads in a
unit that fits its figures, not as rows of ``0.000 kWh``; report.json keeps its numbers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from greenai.figures.units import emissions_kg
from greenai.ledger import Ledger
from greenai.reports import report as make_report
from tests.reports.seed import Clock

USA_G_PER_KWH = 369.473  # CodeCarbon 3.3.2, global_energy_mix (USA)
ENERGIES_J = {"tiny-a": 90.0, "tiny-b": 54.0, "tiny-c": 36.0}  # 180 J = 0.05 Wh in all
AS_OF = "2026-08-01T00:00:00Z"


def _tiny_run(run_id: str, energy_j: float, start: datetime) -> dict[str, Any]:
    return {
        "id": run_id, "status": "completed", "project": "greenai-demo",
        "model": "gpt-tiny", "technique": "baseline", "phase": "inference",
        "started_at": start, "ended_at": start + timedelta(seconds=2), "duration_s": 2.0,
        "energy_j": energy_j, "facility_energy_j": energy_j, "measured_energy_j": energy_j,
        "pue": 1.0, "country": "USA", "host_id": "demo-host",
        "intensity_g_per_kwh": USA_G_PER_KWH,
        "intensity_source": "codecarbon 3.3.2: global_energy_mix (USA)",
        "emissions_kg": emissions_kg(energy_j, USA_G_PER_KWH), "codecarbon_version": "3.3.2",
        "tokens_output": 2_000,
    }  # fmt: skip


@pytest.fixture
def tiny_report(ledger_url: str, tmp_path: Path) -> Path:
    clock = Clock()
    ledger = Ledger.open(ledger_url, clock=clock)
    try:
        start = datetime(2026, 7, 10, tzinfo=UTC)
        for i, (run_id, energy_j) in enumerate(ENERGIES_J.items()):
            row = _tiny_run(run_id, energy_j, start + timedelta(minutes=i))
            clock.now = row["ended_at"]
            ledger.save_run({"run": row})
    finally:
        ledger.close()
    out = tmp_path / "out"
    make_report("2026-Q3", as_of=AS_OF, db_url=ledger_url, out_dir=out,
                formats=("html", "json"))  # fmt: skip
    return out


def _cells(html: str) -> list[str]:
    return re.findall(r'<t[dh] class="num">([^<]*)</t[dh]>', html)


def test_tiny_energies_read_in_a_unit_that_fits(tiny_report: Path) -> None:
    html = (tiny_report / "report.html").read_text(encoding="utf-8")
    assert "0.000 kWh" not in html and "0.000000 t" not in html
    assert '<div class="value">180 J</div>' in html  # the headline: 0.05 Wh
    assert "IT energy (J)" in html  # the appendix's column takes the unit of its figures
    cells = _cells(html)
    for text in ("90.0", "54.0", "36.0", "180"):
        assert text in cells, text
    assert "0.000" not in cells


def test_json_keeps_kwh(tiny_report: Path) -> None:
    data = json.loads((tiny_report / "report.json").read_text(encoding="utf-8"))
    assert data["energy_facility_kwh"] == 0.00005  # 180 J; report.json stays in kWh
    assert sorted(r["energy_it_kwh"] for r in data["runs"]) == [0.00001, 0.000015, 0.000025]


def test_tiny_emissions_are_not_shown_as_zero(tiny_report: Path) -> None:
    html = (tiny_report / "report.html").read_text(encoding="utf-8")
    assert "18.5 mgCO2e" in html  # 0.05 Wh x 369.473 g/kWh


def test_a_market_based_figure_from_a_proxy_says_so_wherever_it_appears(
    tiny_report: Path,
) -> None:
    """No contractual instrument and no residual mix were supplied: the market-based
    Scope 2 figure is the location-based one as a proxy, and every place that shows it
    says so (the title page, the ESRS table, report.json), not only the basis code."""
    data = json.loads((tiny_report / "report.json").read_text(encoding="utf-8"))
    caveat = data["scope2_market_caveat"]
    assert "proxy" in caveat and "location-based" in caveat
    (row,) = [r for r in data["esrs_mapping"] if r["report_key"] == "scope2_market_tco2e"]
    assert row["caveat"] == caveat
    html = (tiny_report / "report.html").read_text(encoding="utf-8")
    assert html.count(caveat) >= 3  # title page, emissions table, ESRS mapping
