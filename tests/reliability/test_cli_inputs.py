"""Command-line values a command cannot use: one line, exit code 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import greenai

GREENAI = [sys.executable, "-m", "greenai.cli.main"]


def greenai_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GREENAI, *args], capture_output=True, text=True, timeout=180)


def assert_one_line_error(out: subprocess.CompletedProcess[str], *words: str) -> None:
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    for word in words:
        assert word in lines[0]


@pytest.fixture
def one_run() -> str:
    """A ledger holding one run, of this month."""
    with greenai.track(model="m") as run:
        run.add_tokens(output=1)
    return run.root_span.started_at.strftime("%Y-%m")  # type: ignore[union-attr]


@pytest.mark.parametrize("period", ["0001-01", "0001-Q1", "0001", "0001-01-01..0001-01-31"])
def test_report_of_a_period_before_the_ledgers_time_is_refused(
    one_run: str, tmp_path: Path, period: str
) -> None:
    out = greenai_cli("report", "--period", period, "--out", str(tmp_path / "r"))
    assert_one_line_error(out, "period")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "as_of", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00+05:00", "1900-01-01", "tomorrow"]
)
def test_report_as_of_a_time_out_of_range_is_refused(one_run: str, as_of: str) -> None:
    out = greenai_cli("report", "--period", one_run, "--as-of", as_of)
    assert_one_line_error(out, "as_of")


def test_report_into_a_folder_that_cannot_be_created_is_refused(one_run: str) -> None:
    out = greenai_cli("report", "--period", one_run, "--out", "/proc/nope/report")
    assert_one_line_error(out, "out=", "/proc/nope/report")


def test_report_onto_an_existing_file_is_refused_and_the_file_kept(
    one_run: str, tmp_path: Path
) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    out = greenai_cli("report", "--period", one_run, "--out", str(target))
    assert_one_line_error(out, "out=", "not a folder")
    assert target.read_text() == "keep me"


def test_report_into_an_existing_folder_replaces_its_report(one_run: str, tmp_path: Path) -> None:
    folder = tmp_path / "r"
    for _ in range(2):  # cron reruns a period into the same folder
        out = greenai_cli("report", "--period", one_run, "--out", str(folder), "--format", "json")
        assert out.returncode == 0, out.stderr
    assert (folder / "report.json").is_file()


def test_an_empty_period_leaves_no_folder_behind(one_run: str, tmp_path: Path) -> None:
    out = greenai_cli("report", "--period", "2001-01", "--out", str(tmp_path / "r"))
    assert out.returncode == 2 and "nothing to report" in out.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", [["runs", "list"], ["runs", "export"]])
@pytest.mark.parametrize("limit", ["99999999999999999999", "0", "-1"])
def test_runs_limit_out_of_range_is_refused(one_run: str, command: list[str], limit: str) -> None:
    out = greenai_cli(*command, "--limit", limit)
    assert_one_line_error(out, "limit")


def test_runs_list_with_a_large_limit_works(one_run: str) -> None:
    out = greenai_cli("runs", "list", "--limit", "1000000", "--format", "json")
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("option", ["--batch-size", "--seq-len"])
def test_run_options_beyond_the_column_are_refused_before_the_command(option: str) -> None:
    out = greenai_cli("run", option, str(2**31), "--", sys.executable, "-c", "print('ran')")
    assert_one_line_error(out, option.strip("-").replace("-", "_"))
    assert "ran" not in out.stdout
