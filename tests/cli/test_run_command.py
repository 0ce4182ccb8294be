"""``greenai run -- CMD``: I/O, exit code and signals pass through; the child reports work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from greenai.ledger import Ledger

GREENAI = [sys.executable, "-m", "greenai.cli.main"]


def greenai_cli(args: list[str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GREENAI, *args], capture_output=True, text=True, timeout=180, **kw)


def runs() -> list[dict]:
    with Ledger.open() as ledger:
        return ledger.list_runs(limit=100)


def test_exit_code_and_output_pass_through() -> None:
    out = greenai_cli(
        ["run", "--project", "p", "--", sys.executable, "-c", "print('hello'); raise SystemExit(3)"]
    )
    assert out.returncode == 3
    assert out.stdout == "hello\n"
    (row,) = runs()
    assert row["status"] == "failed" and row["exit_code"] == 3 and row["project"] == "p"
    assert row["command"] is None  # command lines are not stored by default (secrets)


def test_stdin_passes_through_and_command_stored_when_asked() -> None:
    out = subprocess.run(
        [
            *GREENAI,
            "run",
            "--",
            sys.executable,
            "-c",
            "import sys; print(sys.stdin.read().upper())",
        ],
        input="abc",
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "GREENAI_STORE_COMMAND": "1"},
    )
    assert out.returncode == 0 and out.stdout.strip() == "ABC"
    (row,) = runs()
    assert row["status"] == "completed" and "sys.stdin.read" in row["command"]


def test_child_reports_tokens_through_current_run_and_nested_track_is_a_child_run() -> None:
    child = textwrap.dedent(
        """
        import greenai
        run = greenai.current_run()
        run.add_tokens(input=4, output=6)
        with greenai.track(model="inner") as inner:
            inner.add_tokens(output=10)
        print(run.id, inner.parent_run_id)
        """
    )
    out = greenai_cli(["run", "--model", "outer", "--", sys.executable, "-c", child])
    assert out.returncode == 0, out.stderr
    cli_id, parent_of_inner = out.stdout.split()
    assert cli_id == parent_of_inner
    by_model = {r["model"]: r for r in runs()}
    assert by_model["outer"]["id"] == cli_id
    assert by_model["outer"]["tokens_output"] == 16  # 6 directly + 10 from the child run
    assert by_model["outer"]["tokens_input"] == 4
    assert by_model["inner"]["parent_run_id"] == cli_id


def test_a_child_without_greenai_writes_the_events_file() -> None:
    script = 'printf \'{"input": 2, "output": 40}\\n{"samples": 3}\\n\' >> "$GREENAI_EVENTS_FILE"'
    out = greenai_cli(["run", "--", "sh", "-c", script])
    assert out.returncode == 0, out.stderr
    (row,) = runs()
    assert row["tokens_output"] == 40 and row["samples"] == 3


def test_sigterm_is_forwarded_and_the_run_is_interrupted(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    child = (
        "import pathlib, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([*GREENAI, "run", "--", sys.executable, "-c", child])
    deadline = time.monotonic() + 120
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 143
    (row,) = runs()
    assert row["exit_code"] == 143 and row["status"] == "failed"


def test_child_killed_by_a_signal_is_interrupted_with_shell_exit_code() -> None:
    out = greenai_cli(["run", "--", sys.executable, "-c", "import os; os.kill(os.getpid(), 9)"])
    assert out.returncode == 128 + 9
    (row,) = runs()
    assert row["status"] == "interrupted" and row["exit_code"] == -9


def test_exit_code_unchanged_when_the_ledger_is_unreachable() -> None:
    env = {**os.environ, "GREENAI_DB_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    out = greenai_cli(["run", "--", sys.executable, "-c", "raise SystemExit(7)"], env=env)
    assert out.returncode == 7


def test_configuration_error_is_one_line_before_the_command_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    env = {**os.environ, "GREENAI_PUE": "0.5"}
    out = greenai_cli(["run", "--", "touch", str(marker)], env=env)
    assert out.returncode == 2
    assert not marker.exists()
    assert out.stderr.strip().count("\n") == 0 and "pue" in out.stderr


def test_runs_list_show_and_json_field_names() -> None:
    greenai_cli(["run", "--model", "m", "--", sys.executable, "-c", "pass"])
    listed = json.loads(greenai_cli(["runs", "list", "--format", "json"]).stdout)
    assert len(listed) == 1
    run_id = listed[0]["id"]
    shown = json.loads(greenai_cli(["runs", "show", run_id, "--format", "json"]).stdout)
    for key in (
        "energy_j",
        "facility_energy_j",
        "energy_by_kind",
        "j_per_output_token",
        "emissions_kg",
        "intensity_g_per_kwh",
        "intensity_source",
        "flags",
        "windows",
    ):
        assert key in shown
    assert greenai_cli(["runs", "show", "nope"]).returncode == 1
    table = greenai_cli(["runs", "list"]).stdout
    assert run_id[:8] in table
