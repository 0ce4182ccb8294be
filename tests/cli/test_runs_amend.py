"""``greenai runs amend``: a correction of a finished run is a new revision with its reason;
reports as of an earlier time keep the figures held then, and ``--compare-to`` names the
correction; what cannot be amended is refused in one line, nothing written."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from greenai.cli.main import app
from greenai.figures.units import emissions_kg
from greenai.ledger import Ledger

KWH = 3.6e6
STARTED = datetime(2026, 8, 3, 9, 0, tzinfo=UTC)


def _run(run_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": run_id, "status": "completed", "project": "chat", "started_at": STARTED,
        "ended_at": STARTED + timedelta(hours=1), "duration_s": 3600.0, "energy_j": 10 * KWH,
        "facility_energy_j": 10 * KWH, "pue": 1.0, "country": "FRA", "host_id": "h1",
        "intensity_g_per_kwh": 56.0, "emissions_kg": emissions_kg(10 * KWH, 56.0),
        "price_per_kwh": 0.2, "cost": 2.0, "currency": "EUR", **extra,
    }  # fmt: skip


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.open(url) as ledger:
        ledger.save_run({"run": _run("done")})
        ledger.save_run({"run": _run("busy", status="running", ended_at=None)})
        ledger.save_run({"run": _run("job")})
        ledger.save_run({"run": _run("job/rank0", parent_run_id="job", rank=0, world_size=1)})
    return url


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def _report(url: str, out: Path, *options: str) -> dict[str, Any]:
    result = _cli("report", "--period", "2026-Q3", "--db", url, "--out", str(out),
                  "--format", "json,csv", *options)  # fmt: skip
    assert result.exit_code == 0, (result.stdout, result.stderr)
    data: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return data


def test_a_new_pue_is_a_revision_and_the_past_report_stands(url: str, tmp_path: Path) -> None:
    time.sleep(1.1)
    as_of = datetime.now(UTC).replace(microsecond=0).isoformat()
    before = _report(url, tmp_path / "before", "--as-of", as_of)
    assert {r["run_id"]: r["revision"] for r in before["runs"]} == {
        "busy": None,
        "done": 1,
        "job": 1,
    }
    time.sleep(1.1)
    done = _cli("runs", "amend", "done", "--set", "pue=1.5", "--set", "project=search",
                "--reason", "site survey 2026-09", "--db", url)  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert "revision 2" in done.stdout and "pue 1 -> 1.5" in done.stdout
    with Ledger.open(url) as ledger:
        record = ledger.get_run("done")
        assert record is not None
        run = record["run"]
        assert run["facility_energy_j"] == 15 * KWH and run["project"] == "search"
        assert run["emissions_kg"] == emissions_kg(15 * KWH, 56.0) and run["cost"] == 3.0
        revisions = ledger.revisions("done")
    assert [r["revision"] for r in revisions] == [1, 2]
    assert revisions[1]["reason"] == (
        "amended: project 'chat' -> 'search', pue 1.0 -> 1.5 (site survey 2026-09)"
    )

    again = _report(url, tmp_path / "again", "--as-of", as_of)
    for name in ("report.json", "runs.csv", "summary.csv"):
        assert (tmp_path / "before" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
    now = _report(url, tmp_path / "now", "--compare-to", str(tmp_path / "before"))
    assert now["energy_facility_kwh"] == pytest.approx(again["energy_facility_kwh"] + 5.0)
    (restated,) = [r for r in now["restatements"]["runs"] if r["run_id"] == "done"]
    assert restated["before"]["project"] == "chat" and restated["after"]["project"] == "search"
    assert restated["reasons"] == [revisions[1]["reason"]]
    shown = _cli("runs", "show", "done", "--format", "json", "--db", url)
    assert [r["revision"] for r in json.loads(shown.stdout)["revisions"]] == [1, 2]


def test_the_same_values_again_change_nothing(url: str) -> None:
    result = _cli("runs", "amend", "done", "--set", "pue=1", "--reason", "check", "--db", url)
    assert result.exit_code == 0 and "nothing to change" in result.stdout
    with Ledger.open(url) as ledger:
        assert [r["revision"] for r in ledger.revisions("done")] == [1]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("busy", "--set", "pue=1.2"), "a finished run"),
        (("job", "--set", "pue=1.2"), "multi-rank job or part"),
        (("job/rank0", "--set", "pue=1.2"), "multi-rank job or part"),
        (("nobody", "--set", "pue=1.2"), "greenai runs list"),
        (("done", "--set", "energy_j=1"), "a key that can be amended"),
        (("done", "--set", "pue=0.9"), "a number from 1.0 to 10"),
        (("done", "--set", "pue"), "KEY=VALUE"),
        (("done", "--set", "tokens_input=-3"), "a whole number"),
    ],
)
def test_what_cannot_be_amended_is_refused_in_one_line(
    url: str, args: tuple[str, ...], needle: str
) -> None:
    result = _cli("runs", "amend", *args, "--reason", "why", "--db", url)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("greenai: error: ") and needle in lines[0]
    with Ledger.open(url) as ledger:
        assert all(len(ledger.revisions(i)) <= 1 for i in ("done", "job", "job/rank0"))


def test_a_reason_is_required(url: str) -> None:
    result = _cli("runs", "amend", "done", "--set", "pue=1.2", "--reason", " ", "--db", url)
    assert result.exit_code == 2 and "why the run is amended" in result.stderr
