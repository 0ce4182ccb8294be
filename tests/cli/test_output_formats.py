"""Every command that prints a table, with its output captured as in a pipe, a CI log or
``make demo > log``: tables laid out whole (each row on one line, nothing cut with
``…``), no terminal escape codes, and ``--format json`` / ``--format csv`` giving raw
numbers under unit-suffixed names that programs can parse."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from greenai.cli.console import UNWRAPPED_WIDTH, table_console
from greenai.ledger import Ledger
from tests.cli.helpers import greenai_cli
from tests.dashboard.seed import run_record
from tests.fake_nvml.driver import subprocess_env

LONG_PROJECT = "energy-audit-of-the-quarterly-inference-fleet-" * 5
"""A project name longer than the 80 columns rich assumes when not writing to a terminal."""
LONG_GPU = "NVIDIA H100 80GB HBM3 liquid-cooled edition with a very long marketing name"
"""A GPU name that fits NVML's 96-byte name buffer, too long for 80 columns with the rest."""
RUN_ID = "run-with-a-long-project"
WORKLOAD = "tests.bench.sample_workloads:matmul"


@pytest.fixture(autouse=True)
def no_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's COLUMNS or FORCE_COLOR must not decide how these tests' output
    looks; tests that want them set them."""
    for key in ("COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def seeded_run(ledger_url: str) -> str:
    """One completed run of a long project name in this test's default ledger."""
    started = datetime.now(UTC) - timedelta(hours=1)
    record = run_record(
        RUN_ID,
        started,
        1000.0,
        tokens_output=500,
        project=LONG_PROJECT,
        model="llama-8b",
        technique="int8",
        phase="inference",
    )
    with Ledger.open(ledger_url) as ledger:
        ledger.save_run(record)
    return RUN_ID


def assert_plain_and_whole(stdout: str, *cells: str) -> None:
    """No escape codes, nothing cut short, and one line holding all of ``cells``."""
    assert "\x1b" not in stdout, stdout
    assert "…" not in stdout, stdout
    lines = [line for line in stdout.splitlines() if all(cell in line for cell in cells)]
    assert lines, f"no line holds all of {cells!r}:\n{stdout}"


def csv_rows(stdout: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of CSV text, read by the csv module."""
    reader = csv.DictReader(io.StringIO(stdout))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def ok(*args: str, **env: str) -> str:
    """Stdout of ``greenai ARGS`` that must succeed."""
    done = greenai_cli(*args, **env)
    assert done.returncode == 0, done.stderr
    return done.stdout


# --- the console itself ---------------------------------------------------------------


def test_a_console_not_on_a_terminal_is_wide_and_colourless(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # CI often sets it; still a file, not a terminal
    console = table_console(io.StringIO())
    assert console.width == UNWRAPPED_WIDTH
    assert not console.is_terminal and console.color_system is None
    monkeypatch.setenv("COLUMNS", "123")
    assert table_console(io.StringIO()).width == 123


def test_a_console_on_a_terminal_is_rich_s_own() -> None:
    main_fd, tty_fd = os.openpty()
    try:
        with open(tty_fd, "w", encoding="utf-8", closefd=False) as tty:
            console = table_console(tty)
            assert console.is_terminal
            assert console.width < UNWRAPPED_WIDTH
    finally:
        os.close(main_fd)
        os.close(tty_fd)


# --- greenai runs list / show / export --------------------------------------------------


def test_runs_list_table_keeps_each_run_on_one_line(seeded_run: str) -> None:
    out = ok("runs", "list")
    assert_plain_and_whole(out, seeded_run, "completed", LONG_PROJECT, "llama-8b", "1000")


def test_runs_list_json_and_csv_have_raw_numbers_in_base_units(seeded_run: str) -> None:
    (row,) = json.loads(ok("runs", "list", "--format", "json"))
    assert row["project"] == LONG_PROJECT
    assert row["energy_j"] == 1000.0 and isinstance(row["emissions_kg"], float)
    assert row["duration_s"] == 60.0 and row["tokens_output"] == 500
    header, (cells,) = csv_rows(ok("runs", "list", "--format", "csv"))
    assert {"energy_j", "emissions_kg", "duration_s", "tokens_output"} <= set(header)
    assert float(cells["energy_j"]) == 1000.0 and cells["project"] == LONG_PROJECT


def test_runs_export_as_a_table_is_whole(seeded_run: str) -> None:
    assert_plain_and_whole(ok("runs", "export", "--format", "table"), seeded_run, LONG_PROJECT)


def test_runs_show_table_keeps_each_field_on_one_line(seeded_run: str) -> None:
    out = ok("runs", "show", seeded_run)
    assert_plain_and_whole(out, "project", LONG_PROJECT)
    assert_plain_and_whole(out, "energy_j", "1000")


def test_runs_show_json_and_csv(seeded_run: str) -> None:
    shown = json.loads(ok("runs", "show", seeded_run, "--format", "json"))
    assert shown["energy_j"] == 1000.0 and shown["project"] == LONG_PROJECT
    assert {d["device_id"] for d in shown["devices"]} == {"gpu:0", "cpu:0"}
    header, (cells,) = csv_rows(ok("runs", "show", seeded_run, "--format", "csv"))
    assert {"energy_j", "emissions_kg", "duration_s"} <= set(header)
    assert float(cells["energy_j"]) == 1000.0


def test_runs_codecarbon_export_still_works(seeded_run: str) -> None:
    header, (cells,) = csv_rows(ok("runs", "list", "--format", "codecarbon"))
    assert "energy_consumed" in header and cells["project_name"] == LONG_PROJECT


# --- greenai detect ---------------------------------------------------------------------


def test_detect_table_and_reasons_are_whole_lines(fake_nvml_library: Path) -> None:
    env = subprocess_env(fake_nvml_library, COUNT="1", NAME=LONG_GPU)
    out = ok("detect", **env)
    assert_plain_and_whole(out, "gpu:0", "gpu", LONG_GPU, "counter")
    found = json.loads(ok("detect", "--format", "json", **env))
    for entry in found:
        if not entry["available"]:  # the reason a collector is off is one line too
            assert f"{entry['collector']}: unavailable: {entry['reason']}" in out.splitlines()


def test_detect_csv_has_one_row_per_device_with_units(fake_nvml_library: Path) -> None:
    env = subprocess_env(fake_nvml_library, COUNT="2", NAME=LONG_GPU)
    header, rows = csv_rows(ok("detect", "--format", "csv", **env))
    assert {"collector", "available", "device_id", "method", "power_limit_w"} <= set(header)
    gpus = [row for row in rows if row["collector"] == "nvml"]
    assert [row["device_id"] for row in gpus] == ["gpu:0", "gpu:1"]
    assert all(row["name"] == LONG_GPU for row in gpus)
    assert all(float(row["power_limit_w"]) > 0 for row in gpus)
    off = [row for row in rows if row["available"] == "False"]
    assert all(row["reason"] and not row["device_id"] for row in off)  # the reason is kept


# --- greenai bench ----------------------------------------------------------------------

BENCH = ["bench", "--workload", WORKLOAD, "--repeats", "1", "--device", "cpu", "--threads", "1"]


def test_bench_summary_table_keeps_each_cell_on_one_line() -> None:
    pytest.importorskip("torch")
    out = ok(*BENCH, "--no-progress", "--project", LONG_PROJECT)
    assert_plain_and_whole(out, "toy-matmul baseline", "decode", "accuracy 0.75")
    assert_plain_and_whole(out, f"project {LONG_PROJECT}", "bench_id=", "measured in")


def test_bench_json_is_the_only_thing_on_stdout() -> None:
    pytest.importorskip("torch")
    done = greenai_cli(*BENCH, "--format", "json")  # progress bars on: they go to stderr
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    (row,) = payload["rows"]
    assert row["window"] == "decode" and row["quality_metric"] == "accuracy"
    assert row["j_per_token"] is None or isinstance(row["j_per_token"], float)
    assert "runs recorded in the ledger" in done.stderr


def test_bench_csv_has_unit_suffixed_columns() -> None:
    pytest.importorskip("torch")
    header, (row,) = csv_rows(ok(*BENCH, "--no-progress", "--format", "csv"))
    assert {"j_per_token", "j_per_token_low", "j_per_token_high", "size_bytes"} <= set(header)
    assert row["window"] == "decode" and row["technique"] == "baseline"
    assert row["j_per_token"] == "" or float(row["j_per_token"]) >= 0


def test_bench_list_workloads_in_each_format() -> None:
    assert "\x1b" not in ok("bench", "--list-workloads")
    assert json.loads(ok("bench", "--list-workloads", "--format", "json")) == []
    header, rows = csv_rows(ok("bench", "--list-workloads", "--format", "csv"))
    assert header == ["workload", "target"] and rows == []


def test_detect_shows_a_path_of_undecodable_bytes_escaped(tmp_path: Path) -> None:
    root = str(tmp_path / "powercap-\udc80")  # byte 0x80 as Python decodes it from the OS
    out = ok("detect", GREENAI_POWERCAP_ROOT=root)
    assert any(
        line.startswith("rapl: unavailable") and "\\udc80" in line for line in out.splitlines()
    )
    _, rows = csv_rows(ok("detect", "--format", "csv", GREENAI_POWERCAP_ROOT=root))
    (rapl,) = [row for row in rows if row["collector"] == "rapl"]
    assert "powercap-\\udc80" in rapl["reason"]
