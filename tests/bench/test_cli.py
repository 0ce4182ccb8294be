"""``greenai bench`` and ``greenai demo`` from the command line."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from greenai.cli.demo import current_quarter, write_report
from greenai.cli.main import app
from greenai.ledger import Ledger

TINY = [
    "--models",
    "gpt-tiny",
    "--batch-sizes",
    "2",
    "--prompt-len",
    "16",
    "--decode-tokens",
    "16",
    "--prefill-iters",
    "2",
    "--train-steps",
    "2",
    "--device",
    "cpu",
    "--threads",
    "1",
    "--no-progress",
]


def test_bench_prints_the_summary_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    args = [
        "bench",
        *TINY,
        "--techniques",
        "baseline,int8",
        "--phases",
        "inference",
        "--repeats",
        "2",
        "--project",
        "cli-bench",
        "--json",
        str(out),
    ]
    result = CliRunner().invoke(app, args, catch_exceptions=False, env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    assert "J/token" in result.output
    rows = json.loads(out.read_text())["rows"]
    assert [(r["technique"], r["window"]) for r in rows] == [
        ("baseline", "prefill"),
        ("baseline", "decode"),
        ("int8", "prefill"),
        ("int8", "decode"),
    ]
    decode = rows[3]
    assert decode["n"] + decode["missing"] == 2
    # without RAPL the CPU is a model; a window too short for any CPU time (or below the
    # counters' resolution in both repeats) has no CPU figure at all, so look at every row
    cpu = [row["methods"]["cpu"] for row in rows if "cpu" in row["methods"]]
    assert cpu and set(cpu) <= {"model", "counter"}
    estimated = any("model" in row["methods"].values() for row in rows)
    assert ("estimates, not measurements" in result.output) == estimated
    assert rows[1]["change_vs_baseline"] is None
    if decode["j_per_token"] is not None and rows[1]["j_per_token"] is not None:
        expected = decode["j_per_token"] / rows[1]["j_per_token"] - 1
        assert abs(decode["change_vs_baseline"] - expected) < 1e-9
    ledger = Ledger.open()
    try:
        assert len(ledger.list_runs(project="cli-bench")) == 4
    finally:
        ledger.close()


def test_a_bad_flag_is_one_line_naming_the_key(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "greenai.cli.main", "bench", "--techniques", "baseline,fp4"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "greenai: error: invalid techniques='fp4': one of: baseline, bf16, int8, pruning, "
        "distillation, smaller-model"
    ]


def test_demo_records_into_its_own_located_ledger(greenai_env: Path) -> None:
    args = ["demo", "--no-serve", "--model", "gpt-tiny", "--repeats", "1", "--threads", "1"]
    result = CliRunner().invoke(app, args, catch_exceptions=False, env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    assert "demo finished" in result.output and "J/token" in result.output
    assert "dashboard:" not in result.output.split("demo finished")[1]  # not served
    assert list((greenai_env / "models").glob("gpt-tiny-*.pt"))  # cached for next time
    demo_db = greenai_env / "demo" / "ledger.db"
    assert not (greenai_env / "ledger.db").exists()  # the user's default ledger: untouched
    ledger = Ledger.open(f"sqlite:///{demo_db}")
    try:
        runs = ledger.list_runs(project="greenai-demo")
    finally:
        ledger.close()
    assert len(runs) == 10 and all(r["status"] == "completed" for r in runs)
    assert {r["country"] for r in runs} == {"USA"}
    assert not [r["id"] for r in runs if "unknown_location" in (r["flags"] or [])]
    said = " ".join(result.output.split())
    assert f"ledger: sqlite:///{demo_db}" in said
    assert "location: USA" in said and "--country" in said
    assert f"greenai dashboard --db sqlite:///{demo_db}" in said
    if importlib.util.find_spec("greenai.reports") is not None:
        written = list((greenai_env / "demo" / "reports").glob("*/report.json"))
        assert written, result.output
        report = json.loads(written[0].read_text(encoding="utf-8"))
        assert report["runs_count"] == 10  # the report read the demo's ledger
        assert report["data_quality"]["unknown_location"]["runs_count"] == 0
        html = (written[0].parent / "report.html").read_text(encoding="utf-8")
        assert "0.000 kWh" not in html


def test_demo_goes_on_without_report_builder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "greenai.reports", None)  # as if not installed
    console = Console(record=True)
    assert write_report(console, current_quarter(), tmp_path) is None
    assert "not installed" in console.export_text()
    assert current_quarter(datetime(2026, 8, 31, tzinfo=UTC)) == "2026-Q3"
