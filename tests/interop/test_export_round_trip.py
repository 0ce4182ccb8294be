"""``greenai runs export --format codecarbon`` writes what re-imports to the same totals:
root runs only (``--include-parts`` adds children and rank parts, marked as parts of
their parent), imported runs under their own CodeCarbon ``run_id``, and an export
re-imported into the ledger it came from is recognised: no run twice, same totals."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from greenai.interop.bulk_runs import save_runs
from greenai.ledger import Ledger
from tests.interop.conftest import export_file, import_file, ledger_runs, root_energy_j
from tests.interop.files import row, write_csv

KWH_J = 3.6e6
START = datetime(2026, 3, 1, 10, tzinfo=UTC)


def _run(
    run_id: str, kwh: float, parent: str | None = None, rank: int | None = None
) -> dict[str, Any]:
    return {
        "id": run_id, "status": "completed", "project": "p", "started_at": START,
        "ended_at": START.replace(hour=11), "duration_s": 3600.0, "energy_j": kwh * KWH_J,
        "facility_energy_j": kwh * KWH_J, "pue": 1.0, "emissions_kg": kwh * 0.05,
        "country": "FRA", "parent_run_id": parent, "rank": rank,
    }  # fmt: skip


@pytest.fixture
def source(tmp_path: Path) -> str:
    """A ledger with a 2 kWh parent and its 1 kWh child, and a 4 kWh job with 2 rank parts."""
    url = f"sqlite:///{tmp_path / 'source.db'}"
    with Ledger.open(url) as ledger:
        save_runs(ledger, [
            _run("parent", 2.0), _run("child", 1.0, parent="parent"), _run("job", 4.0),
            _run("job/rank0", 2.0, parent="job", rank=0),
            _run("job/rank1", 2.0, parent="job", rank=1),
        ], reason="test source")  # fmt: skip
    return url


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def test_the_export_holds_root_runs_only(tmp_path: Path, source: str) -> None:
    exported = export_file(source, tmp_path / "export.csv")
    assert sorted(r["run_id"] for r in _rows(exported)) == ["job", "parent"]
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert import_file(exported, other).exit_code == 0
    assert root_energy_j(other) == pytest.approx(root_energy_j(source)) == 6.0 * KWH_J


def test_parts_when_asked_are_marked_and_re_import_as_parts(tmp_path: Path, source: str) -> None:
    exported = export_file(source, tmp_path / "export.csv", "--include-parts")
    assert len(_rows(exported)) == 5
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert import_file(exported, other).exit_code == 0
    runs = ledger_runs(other)
    assert len(runs) == 5
    assert root_energy_j(other) == pytest.approx(6.0 * KWH_J)
    by_cc = {r["tags"]["codecarbon_run_id"]: r for r in runs}
    assert by_cc["child"]["parent_run_id"] == by_cc["parent"]["id"]
    assert by_cc["job/rank1"]["parent_run_id"] == by_cc["job"]["id"]
    again = export_file(other, tmp_path / "again.csv", "--include-parts")  # a second hop
    third = f"sqlite:///{tmp_path / 'third.db'}"
    assert import_file(again, third).exit_code == 0
    assert len(ledger_runs(third)) == 5 and root_energy_j(third) == pytest.approx(6.0 * KWH_J)


def test_an_export_re_imported_into_its_own_ledger_changes_nothing(
    tmp_path: Path, source: str
) -> None:
    before = ledger_runs(source)
    for options in ((), ("--include-parts",)):
        exported = export_file(source, tmp_path / "export.csv", *options)
        outcome = import_file(exported, source)
        assert outcome.exit_code == 0, outcome
        assert "already in the ledger" in outcome.stdout
        assert ledger_runs(source) == before


def test_imported_runs_keep_their_codecarbon_run_id(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    rows = [row(0, duration="60", energy_consumed="0.001"),
            row(0, duration="120", energy_consumed="0.002"), row(1)]  # fmt: skip
    assert import_file(write_csv(tmp_path / "emissions.csv", rows), url).exit_code == 0
    exported = export_file(url, tmp_path / "export.csv")
    assert sorted(r["run_id"] for r in _rows(exported)) == ["run-0", "run-1"]
    before = ledger_runs(url)
    assert import_file(exported, url).exit_code == 0
    after = ledger_runs(url)
    assert len(after) == 2 and root_energy_j(url) == pytest.approx(
        sum(r["energy_j"] for r in before)
    )
    assert {r["id"] for r in after} == {r["id"] for r in before}
