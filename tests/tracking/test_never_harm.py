"""Monitoring failures never change the job's result, exception or exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

import greenai
from collectors.base import Collector
from collectors.discover import Discovery
from collectors.types import Device, Kind, Method, Reading
from greenai.tracking import hub as hub_module
from greenai.tracking.hub import Hub, HubKey
from tests.tracking.helpers import stored


class BrokenGpu(Collector):
    """A device that answers once at opening and then fails on every read."""

    name = "broken"

    def devices(self) -> Sequence[Device]:
        return [Device("gpu:0", Kind.GPU, "test", "broken", Method.COUNTER)]

    def read(self) -> list[Reading]:
        raise OSError("GPU fell off the bus")


def test_failing_collector_keeps_result_and_flags_the_run(monkeypatch) -> None:
    # A hub whose only collector fails, selected by a unique TDP setting.
    key = HubKey("process", Path("/sys/class/powercap"), 123.0, 1.0, 10.0)
    hub = Hub(key, Discovery([BrokenGpu()], []))
    monkeypatch.setitem(hub_module._HUBS, key, hub)

    @greenai.track(model="m", cpu_tdp_w=123.0)
    def job(x: int) -> int:
        return x * 2

    try:
        assert job(21) == 42
    finally:
        hub.sampler.close()
    row = stored(greenai_last_id())["run"]
    assert row["status"] == "completed"
    assert any(f.startswith("collector_errors:broken=") for f in row["flags"])


def greenai_last_id() -> str:
    from greenai.ledger import Ledger

    with Ledger.open() as ledger:
        return str(ledger.list_runs(limit=1)[0]["id"])


def test_hardware_discovery_crash_keeps_the_job_running(monkeypatch) -> None:
    def explode(*_a, **_k):
        raise RuntimeError("driver crashed")

    monkeypatch.setattr(hub_module, "discover", explode)

    @greenai.track(model="m", cpu_tdp_w=77.0)
    def job() -> str:
        return "done"

    assert job() == "done"
    row = stored(greenai_last_id())["run"]
    assert "monitoring_error:RuntimeError" in row["flags"]
    assert "no_collector" in row["flags"]


def test_exception_passes_through_even_when_the_ledger_is_unreachable(tmp_path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a folder should be")
    url = f"sqlite:///{blocker}/ledger.db"

    @greenai.track(model="m", db_url=url)
    def job() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        job()
    # the record waits in the ledger's journal; once it can be reached, sync ships it once
    from greenai.ledger.journal import journal_for

    assert journal_for(url).pending() >= 1
    blocker.unlink()
    blocker.mkdir()
    out = run_cli(["sync", "--db", url])
    assert out.returncode == 0, out.stderr
    from greenai.ledger import Ledger

    with Ledger.open(url) as ledger:
        rows = ledger.list_runs()
    assert [r["status"] for r in rows] == ["failed"]
    assert journal_for(url).pending() == 0
    run_cli(["sync", "--db", url])
    with Ledger.open(url) as ledger:
        assert len(ledger.list_runs()) == 1  # exactly once


def run_cli(args: list[str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenai.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


def test_unwritable_spool_prints_the_record_to_stderr(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = (
        "import greenai\n"
        "with greenai.track(model='m') as run:\n"
        "    run.add_tokens(output=9)\n"
        "print('result-ok')\n"
    )
    env = {
        **__import__("os").environ,
        "GREENAI_DB_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        "GREENAI_DATA_DIR": str(blocker / "data"),  # cannot be created: a file is in the way
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0 and "result-ok" in out.stdout
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("greenai: unsaved run record: ")]
    assert lines, out.stderr
    record = json.loads(lines[-1].split(": ", 2)[2])
    assert record["run"]["tokens_output"] == 9 and record["run"]["status"] == "completed"


def test_foreign_ledger_file_is_a_clear_error_before_the_job(tmp_path) -> None:
    garbage = tmp_path / "ledger.db"
    garbage.write_bytes(b"this is not a database" * 10)
    called = []

    @greenai.track(db_url=f"sqlite:///{garbage}")
    def job() -> None:
        called.append(1)

    with pytest.raises(greenai.StorageError, match=str(garbage)):
        job()
    assert called == []


def test_bad_db_url_is_a_config_error() -> None:
    with pytest.raises(greenai.ConfigError, match="db_url"):
        greenai.start(db_url="not a url")


def test_locked_ledger_delays_nothing_and_loses_nothing(ledger_url: str, greenai_env) -> None:
    import sqlite3

    from greenai.tracking.writer import get_writer

    with greenai.track(model="first"):
        pass  # creates the ledger file
    holder = sqlite3.connect(greenai_env / "ledger.db", timeout=0)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock

    @greenai.track(model="while-locked", tokens=len)
    def job() -> str:
        return "result"

    try:
        assert job() == "result"
    finally:
        holder.rollback()
        holder.close()
    assert get_writer(None).flush(60.0)
    from greenai.ledger import Ledger

    with Ledger.open() as ledger:
        rows = {r["model"]: r for r in ledger.list_runs()}
    assert rows["while-locked"]["status"] == "completed"
    assert rows["while-locked"]["tokens_output"] == len("result")


def test_identifiers_hashed_when_asked(monkeypatch) -> None:
    import socket

    monkeypatch.setenv("GREENAI_HASH_IDENTIFIERS", "true")
    with greenai.track(model="m") as run:
        pass
    row = stored(run.id)["run"]
    assert row["host_id"] != socket.gethostname() and len(row["host_id"]) == 16
    with greenai.track(model="m") as again:
        pass
    assert stored(again.id)["run"]["host_id"] == row["host_id"]  # stable per ledger
