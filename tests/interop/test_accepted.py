"""Files that ``greenai import codecarbon`` takes: values as CodeCarbon wrote them, IT energy
= recorded / PUE, re-imports change nothing, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from greenai.interop.codecarbon_columns import COLUMNS, REQUIRED_COLUMNS
from tests.interop.conftest import assert_refused, import_file, ledger_runs
from tests.interop.files import csv_text, row, write_csv


def test_values_are_those_codecarbon_wrote(tmp_path: Path, backend_url: str) -> None:
    values = row(0, project_name="chat", timestamp="2026-03-01T10:00:00+02:00",
                 duration="60", energy_consumed="0.003", cpu_energy="0.0015",
                 gpu_energy="0.0012", ram_energy="0.0003", emissions="0.00015", pue="1.5",
                 gpu_model="NVIDIA H100", on_cloud="Y", cloud_provider="gcp",
                 cloud_region="europe-west1", country_iso_code="bel")  # fmt: skip
    outcome = import_file(write_csv(tmp_path / "emissions.csv", [values]), backend_url)
    assert outcome.exit_code == 0, outcome
    assert "imported 1 row as 1 run" in outcome.stdout
    (run,) = ledger_runs(backend_url)
    assert run["ended_at"] == datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)
    assert run["started_at"] == datetime(2026, 3, 1, 7, 59, 0, tzinfo=UTC)
    assert run["duration_s"] == 60.0 and run["pue"] == 1.5
    assert run["facility_energy_j"] == pytest.approx(0.003 * 3.6e6)
    assert run["energy_j"] == pytest.approx(0.002 * 3.6e6)
    assert run["energy_gpu_j"] == pytest.approx(0.0008 * 3.6e6)
    assert run["emissions_kg"] == 0.00015
    assert run["intensity_g_per_kwh"] == pytest.approx(50.0)
    assert (run["country"], run["cloud_provider"], run["cloud_region"]) == (
        "BEL", "gcp", "europe-west1",
    )  # fmt: skip
    assert (run["project"], run["hardware"], run["status"]) == ("chat", "NVIDIA H100", "completed")
    assert run["tags"]["codecarbon_run_id"] == "run-0"


def test_a_utf8_bom_is_accepted(tmp_path: Path, backend_url: str) -> None:
    path = tmp_path / "emissions.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text([row(0, project_name="caf\u00e9")]).encode())
    assert import_file(path, backend_url).exit_code == 0
    (run,) = ledger_runs(backend_url)
    assert run["project"] == "caf\u00e9"


def test_extra_and_missing_optional_columns(tmp_path: Path, backend_url: str) -> None:
    columns = [*REQUIRED_COLUMNS, "run_id", "a new column", "pue"]
    path = write_csv(tmp_path / "e.csv", [row(0, **{"a new column": "x"})], columns=columns)
    assert import_file(path, backend_url).exit_code == 0
    (run,) = ledger_runs(backend_url)
    assert run["duration_s"] == 0.0 and run["country"] is None and run["project"] is None


def test_a_file_with_only_its_header_imports_nothing(tmp_path: Path, backend_url: str) -> None:
    outcome = import_file(write_csv(tmp_path / "e.csv", []), backend_url)
    assert outcome.exit_code == 0 and "imported 0 rows" in outcome.stdout
    assert ledger_runs(backend_url) == []


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_numbers_count_lines_of_the_file_with_quoted_newlines(
    tmp_path: Path, backend_url: str, newline: str
) -> None:
    text = csv_text([row(0, project_name="two\nlines"), row(1), row(2, pue="0.5")])
    path = tmp_path / "e.csv"
    path.write_bytes(text.replace("\n", newline).encode())
    assert_refused(import_file(path, backend_url), "line 5, column 37 (pue)")
    path.write_bytes(text.replace("\n", newline).replace("0.5", "1.25").encode())
    assert import_file(path, backend_url).exit_code == 0
    projects = {r["tags"]["codecarbon_run_id"]: r["project"] for r in ledger_runs(backend_url)}
    assert projects["run-0"] == f"two{newline}lines"


def test_blank_lines_are_skipped(tmp_path: Path, backend_url: str) -> None:
    header, first, second = csv_text([row(0), row(1)]).splitlines()
    (tmp_path / "e.csv").write_text(f"\n{header}\n\n{first}\n  \n\n{second}\n\n")
    assert import_file(tmp_path / "e.csv", backend_url).exit_code == 0
    assert len(ledger_runs(backend_url)) == 2


def test_re_importing_changes_nothing_and_a_repeated_row_counts_once(
    tmp_path: Path, backend_url: str
) -> None:
    rows = [row(0, emissions="0.1"), row(1), row(0, emissions="0.2")]
    path = write_csv(tmp_path / "e.csv", rows)
    outcome = import_file(path, backend_url)
    assert "imported 3 rows as 2 runs" in outcome.stdout
    first = ledger_runs(backend_url)
    assert {r["tags"]["codecarbon_run_id"]: r["emissions_kg"] for r in first}["run-0"] == 0.2
    assert import_file(path, backend_url).exit_code == 0
    again = ledger_runs(backend_url)
    assert [{**r, "updated_at": None} for r in again] == [{**r, "updated_at": None} for r in first]


def test_text_cells_protected_against_formulas_are_restored(
    tmp_path: Path, backend_url: str
) -> None:
    values = row(0, project_name="'=HYPERLINK(1)", region="'-east", gpu_model="''@x",
                 cpu_model="'plain")  # fmt: skip
    assert import_file(write_csv(tmp_path / "e.csv", [values]), backend_url).exit_code == 0
    (run,) = ledger_runs(backend_url)
    assert (run["project"], run["region"], run["hardware"]) == ("=HYPERLINK(1)", "-east", "'@x")


def test_columns_are_those_of_codecarbon() -> None:
    assert set(REQUIRED_COLUMNS) <= set(COLUMNS)
    assert len(COLUMNS) == 38 and COLUMNS[0] == "timestamp" and COLUMNS[-1] == "wue"
