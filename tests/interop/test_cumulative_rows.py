"""CodeCarbon writes running totals: ``flush()`` appends a row with the run's totals so
far and ``stop()`` the final one, under the same ``run_id``; ``on_csv_write="update"``
rewrites the row. The import keeps one run per CodeCarbon run (per task, in a task file):
its last cumulative row, so the run is counted once, and re-importing the same or a
grown file changes nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.conftest import import_file, ledger_runs
from tests.interop.files import row, write_csv

FLUSHED = [
    row(0, timestamp="2026-03-01T10:00:00", duration="60", energy_consumed="0.0010",
        emissions="0.00005"),
    row(1, timestamp="2026-03-01T10:00:30", duration="30", energy_consumed="0.0004",
        emissions="0.00002"),
    row(0, timestamp="2026-03-01T10:01:00", duration="120", energy_consumed="0.0021",
        emissions="0.000105"),
]  # fmt: skip
"""Run 0 flushed once then stopped; run 1 stopped."""


def _by_cc_id(url: str) -> dict[str, dict[str, object]]:
    return {r["tags"]["codecarbon_run_id"]: r for r in ledger_runs(url)}


def test_a_flushed_run_is_one_run_with_its_last_totals(tmp_path: Path, backend_url: str) -> None:
    outcome = import_file(write_csv(tmp_path / "emissions.csv", FLUSHED), backend_url)
    assert outcome.exit_code == 0, outcome
    assert "imported 3 rows as 2 runs" in outcome.stdout
    runs = _by_cc_id(backend_url)
    assert set(runs) == {"run-0", "run-1"}
    assert runs["run-0"]["facility_energy_j"] == pytest.approx(0.0021 * 3.6e6)
    assert runs["run-0"]["emissions_kg"] == pytest.approx(0.000105)
    assert runs["run-0"]["duration_s"] == 120.0
    total = sum(float(r["facility_energy_j"]) for r in runs.values())  # type: ignore[arg-type]
    assert total == pytest.approx((0.0021 + 0.0004) * 3.6e6)


def test_re_importing_the_file_as_it_grows_keeps_one_run_each(
    tmp_path: Path, backend_url: str
) -> None:
    path = tmp_path / "emissions.csv"
    write_csv(path, FLUSHED[:2])  # run 0 has flushed once
    assert import_file(path, backend_url).exit_code == 0
    assert _by_cc_id(backend_url)["run-0"]["duration_s"] == 60.0
    write_csv(path, FLUSHED)  # then it stopped
    assert import_file(path, backend_url).exit_code == 0
    grown = ledger_runs(backend_url)
    assert len(grown) == 2
    assert _by_cc_id(backend_url)["run-0"]["duration_s"] == 120.0
    assert import_file(path, backend_url).exit_code == 0  # the same file again
    same = ledger_runs(backend_url)
    assert [{**r, "updated_at": None} for r in same] == [{**r, "updated_at": None} for r in grown]


def test_an_older_copy_of_the_file_does_not_shrink_a_run(tmp_path: Path, backend_url: str) -> None:
    assert import_file(write_csv(tmp_path / "now.csv", FLUSHED), backend_url).exit_code == 0
    older = write_csv(tmp_path / "older.csv", FLUSHED[:1])
    assert import_file(older, backend_url).exit_code == 0
    assert _by_cc_id(backend_url)["run-0"]["duration_s"] == 120.0


def test_an_update_mode_file_rewritten_after_each_write_imports_alike(
    tmp_path: Path, backend_url: str
) -> None:
    path = tmp_path / "emissions.csv"
    write_csv(path, [FLUSHED[1], FLUSHED[0]])
    assert import_file(path, backend_url).exit_code == 0
    write_csv(path, [FLUSHED[1], FLUSHED[2]])  # update mode replaced run 0's row
    assert import_file(path, backend_url).exit_code == 0
    runs = _by_cc_id(backend_url)
    assert len(runs) == 2 and runs["run-0"]["duration_s"] == 120.0


def test_rows_of_equal_time_keep_the_longest(tmp_path: Path, backend_url: str) -> None:
    rows = [row(0, duration="90", energy_consumed="0.002"),
            row(0, duration="80", energy_consumed="0.001")]  # fmt: skip
    assert import_file(write_csv(tmp_path / "e.csv", rows), backend_url).exit_code == 0
    (run,) = ledger_runs(backend_url)
    assert run["duration_s"] == 90.0


def test_a_task_file_keeps_one_run_per_task(tmp_path: Path, backend_url: str) -> None:
    rows = [row(0, task_name="load", duration="5", energy_consumed="0.0001"),
            row(0, task_name="train", duration="50", energy_consumed="0.001"),
            row(0, task_name="train", duration="55", energy_consumed="0.0011")]  # fmt: skip
    path = write_csv(tmp_path / "emissions_x_run-0.csv", rows, columns=list(rows[0]))
    assert import_file(path, backend_url).exit_code == 0
    runs = {r["tags"]["codecarbon_task_name"]: r for r in ledger_runs(backend_url)}
    assert set(runs) == {"load", "train"} and runs["train"]["duration_s"] == 55.0


def test_rows_without_a_run_id_stay_one_run_each(tmp_path: Path, backend_url: str) -> None:
    rows = [row(0, run_id="", timestamp="2026-03-01T10:00:00"),
            row(0, run_id="", timestamp="2026-03-01T11:00:00")]  # fmt: skip
    assert import_file(write_csv(tmp_path / "e.csv", rows), backend_url).exit_code == 0
    assert len(ledger_runs(backend_url)) == 2
