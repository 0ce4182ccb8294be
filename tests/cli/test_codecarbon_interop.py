"""CodeCarbon's emissions.csv: import its rows as runs, export runs in its columns."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from greenai.interop.codecarbon_csv import COLUMNS
from greenai.ledger import Ledger
from tests.cli.test_run_command import greenai_cli

TRACKER = textwrap.dedent(
    """
    import sys, time
    from codecarbon import OfflineEmissionsTracker
    tracker = OfflineEmissionsTracker(
        country_iso_code="FRA", output_dir=sys.argv[1], pue=1.5, measure_power_secs=1,
        project_name="cc-proj", log_level="error",
    )
    tracker.start()
    end = time.process_time() + 1.0
    while time.process_time() < end:
        pass
    tracker.stop()
    """
)


@pytest.fixture(scope="module")
def codecarbon_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real emissions.csv written by CodeCarbon's own tracker (offline, FRA, PUE 1.5)."""
    folder = tmp_path_factory.mktemp("codecarbon")
    out = subprocess.run(
        [sys.executable, "-c", TRACKER, str(folder)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return folder / "emissions.csv"


def test_import_divides_out_pue_and_keeps_emissions(codecarbon_csv: Path) -> None:
    (row,) = list(csv.DictReader(codecarbon_csv.open()))
    out = greenai_cli(["import", "codecarbon", str(codecarbon_csv)])
    assert out.returncode == 0, out.stderr
    with Ledger.open() as ledger:
        (run,) = ledger.list_runs()
    facility_kwh = float(row["energy_consumed"])
    assert run["pue"] == 1.5
    assert run["facility_energy_j"] == pytest.approx(facility_kwh * 3.6e6)
    assert run["energy_j"] == pytest.approx(facility_kwh / 1.5 * 3.6e6)
    assert run["emissions_kg"] == pytest.approx(float(row["emissions"]))
    assert run["intensity_g_per_kwh"] == pytest.approx(float(row["emissions"]) / facility_kwh * 1e3)
    assert run["intensity_source"] == "codecarbon-import"
    assert run["country"] == "FRA" and run["project"] == "cc-proj"
    # importing the same file again adds nothing
    greenai_cli(["import", "codecarbon", str(codecarbon_csv)])
    with Ledger.open() as ledger:
        assert len(ledger.list_runs()) == 1


def test_export_in_codecarbon_columns_round_trips_energy(codecarbon_csv: Path) -> None:
    (original,) = list(csv.DictReader(codecarbon_csv.open()))
    greenai_cli(["import", "codecarbon", str(codecarbon_csv)])
    out = greenai_cli(["runs", "export", "--format", "codecarbon"])
    assert out.returncode == 0, out.stderr
    reader = csv.DictReader(io.StringIO(out.stdout))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    (exported,) = list(reader)
    for column in ("energy_consumed", "emissions", "pue", "duration"):
        assert float(exported[column]) == pytest.approx(float(original[column]), rel=1e-9)


def test_import_of_a_foreign_csv_names_what_is_missing(tmp_path: Path) -> None:
    bad = tmp_path / "other.csv"
    bad.write_text("a,b\n1,2\n")
    out = greenai_cli(["import", "codecarbon", str(bad)])
    assert out.returncode == 2
    assert "missing" in out.stderr and "emissions.csv" in out.stderr
