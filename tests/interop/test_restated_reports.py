"""A report as of a past moment stays exactly what it was after later re-imports, and
``--compare-to`` lists what changed since, with the ledger's reasons."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from greenai.cli.main import app
from greenai.errors import ConfigError
from greenai.ledger import Ledger
from greenai.reports import build_report
from greenai.reports import report as make_report
from tests.interop.conftest import import_file
from tests.interop.files import row, write_csv

FIRST = [
    row(1, timestamp="2026-08-01T10:00:00", duration="3600"),
    row(2, timestamp="2026-08-02T10:00:00", duration="60"),
]
GROWN = [  # run-2 flushed again later (a running total), and a new run-3
    *FIRST,
    row(2, timestamp="2026-08-02T10:30:00", duration="1860", energy_consumed="0.0309",
        cpu_energy="0.03", emissions="0.0026"),
    row(3, timestamp="2026-08-03T10:00:00", duration="60"),
]  # fmt: skip
FILES = ("report.json", "runs.csv", "summary.csv")


def _moment() -> str:
    """An as-of time strictly after what was written so far, and before what comes next
    (reports read to the whole second)."""
    time.sleep(1.1)
    moment = datetime.now(UTC).replace(microsecond=0).isoformat()
    time.sleep(1.1)
    return moment


def _report(url: str, out: Path, *options: str) -> dict[str, Any]:
    args = ["report", "--period", "2026-Q3", "--db", url, "--out", str(out),
            "--format", "json,csv,html", *options]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    data: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture
def restated(tmp_path: Path, backend_url: str) -> tuple[str, Path, str]:
    """A ledger with FIRST imported, its report as of then, then GROWN imported."""
    assert import_file(write_csv(tmp_path / "emissions.csv", FIRST), backend_url).exit_code == 0
    as_of = _moment()
    _report(backend_url, tmp_path / "before", "--as-of", as_of)
    grown = import_file(write_csv(tmp_path / "grown.csv", GROWN), backend_url)
    assert grown.exit_code == 0 and "as 2 runs" in grown.stdout, grown.stdout
    return backend_url, tmp_path, as_of


def test_a_past_report_is_byte_identical_after_a_re_import(
    restated: tuple[str, Path, str],
) -> None:
    url, tmp, as_of = restated
    again = _report(url, tmp / "again", "--as-of", as_of)
    for name in FILES:
        assert (tmp / "before" / name).read_bytes() == (tmp / "again" / name).read_bytes(), name
    assert again["runs_count"] == 2
    assert {r["revision"] for r in again["runs"]} == {1}
    assert again["data_quality"]["updated_after_as_of"]["runs_count"] == 0
    now = _report(url, tmp / "now")
    assert now["runs_count"] == 3 and now["energy_it_kwh"] > again["energy_it_kwh"]


def test_compare_to_lists_each_restated_run_with_its_reason(
    restated: tuple[str, Path, str],
) -> None:
    url, tmp, as_of = restated
    now = _report(url, tmp / "now", "--compare-to", str(tmp / "before" / "manifest.json"))
    section = now["restatements"]
    assert section["compared_to"]["as_of"] == as_of.replace("+00:00", "Z")
    revised = [r for r in section["runs"] if r["change"] == "revised"]
    added = [r for r in section["runs"] if r["change"] == "added"]
    assert len(revised) == 1 and len(added) == 1 and len(section["runs"]) == 2  # run-1 stands
    assert revised[0]["before"]["energy_it_kwh"] < revised[0]["after"]["energy_it_kwh"]
    assert revised[0]["reasons"] == [
        "re-imported from CodeCarbon file grown.csv: a later row of the run"
    ]
    assert added[0]["reasons"] == ["imported from CodeCarbon file grown.csv"]
    energy = next(t for t in section["totals"] if t["metric"] == "energy_it_kwh")
    assert energy["after"] - energy["before"] == pytest.approx(energy["difference"])
    table = (tmp / "now" / "restatements.csv").read_text(encoding="utf-8").splitlines()
    assert table[0] == "run_id,change,field,before,after,reasons"
    assert any(line.startswith(f"{revised[0]['run_id']},revised,energy_it_kwh,") for line in table)
    assert "Restatements since the report as of" in (tmp / "now" / "report.html").read_text()
    with Ledger.open(url) as ledger:  # the Python API alike
        data = build_report(ledger, "2026-Q3", compare_to=tmp / "before")
    assert data["restatements"]["runs"] == section["runs"]


def test_compare_to_refuses_another_period_or_a_changed_file(
    restated: tuple[str, Path, str],
) -> None:
    url, tmp, _ = restated
    manifest = tmp / "before" / "manifest.json"
    with pytest.raises(ConfigError, match="same period_label"):
        make_report("2026-08", db_url=url, out_dir=tmp / "aug", compare_to=manifest)
    report_json = tmp / "before" / "report.json"
    report_json.write_text(report_json.read_text().replace('"runs_count": 2', '"runs_count": 3'))
    with pytest.raises(ConfigError, match="unchanged since its manifest"):
        make_report("2026-Q3", db_url=url, out_dir=tmp / "x", compare_to=manifest)
    with pytest.raises(ConfigError, match=r"manifest\.json of an earlier report"):
        make_report("2026-Q3", db_url=url, out_dir=tmp / "y", compare_to=tmp / "nowhere")
