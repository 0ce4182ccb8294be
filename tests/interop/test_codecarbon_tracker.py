"""Files written by CodeCarbon's own ``OfflineEmissionsTracker`` in this test (offline,
FRA, this machine's CPU measured by CodeCarbon's own models): a tracker that flushed
once, and one writing with ``on_csv_write="update"``. The imported totals are those of
each run's last row, not the sum of its rows, and import -> export -> re-import keeps
the totals and the run count."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

from tests.interop.conftest import export_file, import_file, ledger_runs

KWH_J = 3.6e6


def _busy(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def _tracker(folder: Path, **options: object) -> object:
    codecarbon = pytest.importorskip("codecarbon", reason="codecarbon is not installed")
    return codecarbon.OfflineEmissionsTracker(
        country_iso_code="FRA", output_dir=str(folder), save_to_file=True,
        measure_power_secs=1, log_level="error", project_name="cc-real", **options,
    )  # fmt: skip


def _last_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8") as stream:
        return {r["run_id"]: r for r in csv.DictReader(stream)}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def _assert_round_trip(path: Path, tmp_path: Path) -> None:
    last = _last_rows(path)
    url = f"sqlite:///{tmp_path / 'first.db'}"
    assert import_file(path, url).exit_code == 0
    runs = ledger_runs(url)
    assert len(runs) == len(last)
    facility_kwh = sum(float(r["energy_consumed"]) for r in last.values())
    assert sum(r["facility_energy_j"] for r in runs) == pytest.approx(facility_kwh * KWH_J)
    emissions = sum(float(r["emissions"]) for r in last.values())
    assert sum(r["emissions_kg"] for r in runs) == pytest.approx(emissions)
    assert import_file(path, url).exit_code == 0  # again: nothing changes
    assert len(ledger_runs(url)) == len(last)
    exported = export_file(url, tmp_path / "export.csv")
    other = f"sqlite:///{tmp_path / 'second.db'}"
    assert import_file(exported, other).exit_code == 0
    again = ledger_runs(other)
    assert len(again) == len(last)
    assert sum(r["facility_energy_j"] for r in again) == pytest.approx(facility_kwh * KWH_J)
    assert import_file(exported, url).exit_code == 0  # back into its own ledger
    assert len(ledger_runs(url)) == len(last)


def _track_with_a_flush(tracker: object) -> None:
    """Start, work, ``flush()`` (a running-total row), work, stop (the final row)."""
    tracker.start()  # type: ignore[attr-defined]
    _busy(1.2)
    tracker.flush()  # type: ignore[attr-defined]
    _busy(1.2)
    tracker.stop()  # type: ignore[attr-defined]


def test_a_tracker_that_flushed_imports_its_last_row(tmp_path: Path) -> None:
    tracker = _tracker(tmp_path)
    _track_with_a_flush(tracker)
    path = tmp_path / "emissions.csv"
    rows = _rows(path)
    assert len(rows) == 2 and rows[0]["run_id"] == rows[1]["run_id"]
    assert float(rows[1]["energy_consumed"]) > float(rows[0]["energy_consumed"]) > 0
    _assert_round_trip(path, tmp_path)


def test_an_update_mode_tracker_imports_its_last_row(tmp_path: Path) -> None:
    tracker = _tracker(tmp_path, on_csv_write="update")
    _track_with_a_flush(tracker)
    path = tmp_path / "emissions.csv"
    assert len(_last_rows(path)) == 1
    _assert_round_trip(path, tmp_path)
