"""Importing the same CodeCarbon file again changes nothing in the ledger — not even the
runs' ``updated_at`` — so a report as of a moment before the second import is the same,
byte for byte: same ``inputs_sha256``, no run counted as updated after its as-of."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from greenai.reports import report as make_report
from tests.interop.conftest import import_file, ledger_runs
from tests.interop.files import row, write_csv

ROWS = [
    row(1, timestamp="2026-08-01T10:00:00", duration="3600"),
    row(2, timestamp="2026-08-02T10:00:00", duration="60"),
]


def _after_a_tick() -> str:
    """An as-of strictly after what was written so far (the ledger's clock has seconds)."""
    time.sleep(1.1)
    moment = datetime.now(UTC).replace(microsecond=0).isoformat()
    time.sleep(1.1)
    return moment


def test_the_same_file_again_writes_nothing_and_the_report_is_the_same(
    tmp_path: Path, backend_url: str
) -> None:
    path = write_csv(tmp_path / "emissions.csv", ROWS)
    assert import_file(path, backend_url).exit_code == 0
    before = ledger_runs(backend_url)
    as_of = _after_a_tick()
    first = tmp_path / "first"
    make_report("2026-Q3", as_of=as_of, db_url=backend_url, out_dir=first, formats=("json",))

    again = import_file(path, backend_url)
    assert again.exit_code == 0
    assert "imported 2 rows as 0 runs" in again.stdout and "2 runs already" in again.stdout
    assert ledger_runs(backend_url) == before  # updated_at included
    second = tmp_path / "second"
    make_report("2026-Q3", as_of=as_of, db_url=backend_url, out_dir=second, formats=("json",))
    assert (first / "report.json").read_bytes() == (second / "report.json").read_bytes()
    report = json.loads((second / "report.json").read_text(encoding="utf-8"))
    assert report["data_quality"]["updated_after_as_of"]["runs_count"] == 0


def test_a_changed_row_is_still_written(tmp_path: Path, backend_url: str) -> None:
    path = write_csv(tmp_path / "emissions.csv", ROWS)
    assert import_file(path, backend_url).exit_code == 0
    corrected = [ROWS[0], {**ROWS[1], "project_name": "renamed"}]
    outcome = import_file(write_csv(tmp_path / "fixed.csv", corrected), backend_url)
    assert "imported 2 rows as 1 run" in outcome.stdout
    projects = {r["tags"]["codecarbon_run_id"]: r["project"] for r in ledger_runs(backend_url)}
    assert projects == {"run-1": "cc-proj", "run-2": "renamed"}
