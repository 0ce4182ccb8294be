"""``greenai run`` ends with one line on stderr that sums the stored run up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from greenai.cli.summary import summary_line
from greenai.figures.units import format_energy, format_mass
from greenai.ledger import Ledger
from tests.cli.helpers import GREENAI, greenai_run

REPORT_TOKENS = 'printf \'{"input": 100, "output": 400}\\n\' >> "$GREENAI_EVENTS_FILE"'


def the_run() -> dict[str, Any]:
    with Ledger.open() as ledger:
        (row,) = ledger.list_runs(limit=10)
    return row


def summary_of(stderr: str, *, last: bool = True) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("greenai: run ")]
    assert len(lines) == 1, stderr
    assert not last or stderr.splitlines()[-1] == lines[0]  # the last thing greenai says
    return lines[0]


def test_the_summary_gives_energy_by_kind_emissions_factor_tokens_and_run_id() -> None:
    out = greenai_run("--country", "FRA", "sh", "-c", REPORT_TOKENS)
    assert out.returncode == 0, out.stderr
    line = summary_of(out.stderr)
    row = the_run()
    assert line.startswith(f"greenai: run {row['id']} completed in ")
    assert row["energy_by_kind"], "this machine measured nothing"
    for kind, total in row["energy_by_kind"].items():
        assert f"{kind} {format_energy(total['energy_j'])} ({total['method']})" in line
    assert format_mass(row["emissions_kg"]) in line
    assert f"gCO2e/kWh ({row['intensity_source']})" in line
    assert "FRA" in row["intensity_source"] and row["codecarbon_version"] in line
    assert "/output token (400 output tokens)" in line
    assert "journaled" not in line  # the ledger has it


def test_no_tokens_no_per_token_figure_and_the_status_of_a_failed_command() -> None:
    out = greenai_run("--", sys.executable, "-c", "raise SystemExit(3)")
    assert out.returncode == 3
    line = summary_of(out.stderr)
    assert f"run {the_run()['id']} failed" in line
    assert "token" not in line


def test_a_pue_adds_the_facility_energy() -> None:
    out = greenai_run("--pue", "1.5", sys.executable, "-c", "pass")
    assert out.returncode == 0, out.stderr
    row = the_run()
    assert f"facility {format_energy(row['facility_energy_j'])} at PUE 1.50" in out.stderr


@pytest.mark.parametrize(
    ("args", "env"), [(["--quiet"], {}), (["-q"], {}), ([], {"GREENAI_QUIET": "1"})]
)
def test_quiet_silences_the_summary(args: list[str], env: dict[str, str]) -> None:
    out = greenai_run(*args, sys.executable, "-c", "print('hi')", **env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "hi\n"
    assert "greenai: run" not in out.stderr
    assert the_run()["status"] == "completed"


def test_ledger_down_keeps_the_exit_code_and_says_the_record_is_journaled() -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    out = greenai_run(sys.executable, "-c", "raise SystemExit(7)", GREENAI_DB_URL=url)
    assert out.returncode == 7
    line = summary_of(out.stderr)
    assert " failed in " in line and "journaled" in line and "greenai sync" in line


def test_neither_ledger_nor_journal_the_line_says_the_record_is_on_stderr(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")  # the data folder cannot be made: no journal
    out = greenai_run(
        sys.executable, "-c", "raise SystemExit(6)",
        GREENAI_DB_URL="postgresql+psycopg://nobody@127.0.0.1:1/none",
        GREENAI_DATA_DIR=str(blocker / "data"),
    )  # fmt: skip
    assert out.returncode == 6
    # With the ledger known down the final record is not waited for, so the wait may
    # end before the shipper printed it: the line then says the journal refused it and
    # where it goes instead; the record follows the line. Never "journaled".
    line = summary_of(out.stderr, last=False)
    assert line.endswith(
        ("JSON line (greenai sync --from-stderr reads it back)", "before greenai exits")
    )
    assert "it is journaled" not in line
    assert any(ln.startswith("greenai: unsaved run record: ") for ln in out.stderr.splitlines())


def test_a_closed_stderr_changes_neither_stdout_nor_the_exit_code() -> None:
    script = (
        f"exec {' '.join(GREENAI)} run {sys.executable} -c 'print(1); raise SystemExit(5)' 2>&-"
    )
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=180)
    assert out.returncode == 5
    assert out.stdout == "1\n"


RECORD = {
    "id": "r1",
    "status": "interrupted",
    "duration_s": 3725.0,
    "energy_by_kind": {},
    "pue": 1.0,
    "emissions_kg": 0.0,
    "intensity_g_per_kwh": 20.0,
    "intensity_source": "forced intensity (config)",
    "codecarbon_version": None,
    "tokens_input": 0,
    "tokens_output": 0,
}


def test_the_line_of_a_long_run_without_energy() -> None:
    # A record, not a real run: on a machine where the CPU model always works, a run
    # measures something, and a test cannot wait an hour.
    line = summary_line(RECORD, "ledger")
    assert line == (
        "greenai: run r1 interrupted in 1 h 02 min: no energy measured; "
        "0 gCO2e at 20.0 gCO2e/kWh (forced intensity (config))"
    )


def test_the_line_stays_one_line_of_text_whatever_the_factor_source_holds() -> None:
    source = "user table /data/f\nactors.csv: FRA (\x1b[31mutility\x1b[0m)"
    line = summary_line({**RECORD, "intensity_source": source}, "ledger")
    assert "\n" not in line and "\x1b" not in line
    assert "/data/f\\nactors.csv" in line
