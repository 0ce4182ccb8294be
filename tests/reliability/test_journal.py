"""The write-ahead journal: a record reaches its own ledger exactly once, whatever the
ledger does (refuses, hangs, comes back), the disk (full) or the next process (another
ledger)."""

from __future__ import annotations

import errno
import io
import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import greenai
from greenai.ledger import Ledger, RecordSink
from greenai.ledger.journal import journal_for, ledger_identity
from greenai.ledger.sink import RUN_PREFIX
from greenai.ledger.spool import FileOps, Spool
from greenai.tracking.writer import Writer, flush_all
from tests.cli.helpers import greenai_cli
from tests.reliability.hanging_server import HangingServer


def _cli(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return greenai_cli(*args, **env)


def _blocked_url(tmp_path: Path) -> tuple[str, Path]:
    """A SQLite URL whose folder cannot exist yet: a file stands where it should be."""
    blocker = tmp_path / "not-yet-a-folder"
    blocker.write_text("x")
    return f"sqlite:///{blocker}/ledger.db", blocker


def _runs(url: str) -> list[dict[str, Any]]:
    with Ledger.open(url) as ledger:
        return ledger.list_runs(limit=1000)


def test_each_ledger_has_its_own_journal_and_replays_only_into_it(tmp_path: Path) -> None:
    down_url, blocker = _blocked_url(tmp_path)
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    with greenai.track(name="meant-for-the-down-ledger", db_url=down_url):
        pass
    flush_all()
    assert journal_for(down_url).pending() >= 1
    # the next process (a fresh interpreter) writes its own run into another ledger
    code = f"import greenai\nwith greenai.track(name='other', db_url={other_url!r}):\n    pass\n"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
    assert [r["name"] for r in _runs(other_url)] == ["other"]
    assert journal_for(down_url).pending() >= 1
    blocker.unlink()
    out = _cli(["sync", "--db", down_url])
    assert out.returncode == 0, out.stderr
    assert [(r["name"], r["status"]) for r in _runs(down_url)] == [
        ("meant-for-the-down-ledger", "completed")
    ]
    assert journal_for(down_url).pending() == 0


def test_a_journal_is_named_by_the_ledger_not_by_the_spelling_of_its_url(tmp_path: Path) -> None:
    file = tmp_path / "a.db"
    assert ledger_identity(f"sqlite:///{file}") == ledger_identity(f"sqlite:///{file}?timeout=5")
    one = ledger_identity("postgresql+psycopg://me:secret@DB.example:5432/l")
    assert one == ledger_identity("postgresql://me:other@db.example/l?sslmode=require")
    assert "secret" not in one and one != ledger_identity("postgresql://me@db.example/l2")
    assert journal_for(None).folder == journal_for(f"sqlite:///{greenai_default_ledger()}").folder


def greenai_default_ledger() -> Path:
    from greenai.ledger import default_ledger_path

    return default_ledger_path()


@pytest.mark.postgres
def test_a_postgresql_that_hangs_delays_the_job_by_a_bound_then_gets_the_run_once(
    pg_ledger: str,
) -> None:
    real = sa.make_url(pg_ledger)
    with HangingServer() as server:
        url = real.set(port=server.port).render_as_string(hide_password=False)
        started = time.monotonic()
        out = _cli(["run", "--", sys.executable, "-c", "print(1)"], GREENAI_DB_URL=url)
        elapsed_s = time.monotonic() - started
        assert out.returncode == 0, out.stderr
        assert out.stdout == "1\n"
        assert server.accepted >= 1  # it did try the ledger, which never answered
        assert journal_for(url).pending() >= 1
        print(f"greenai run against a hanging PostgreSQL: {elapsed_s:.1f} s")
        server.forward_to(real.host or "127.0.0.1", real.port or 5432)
        for _ in range(2):  # a second sync changes nothing
            synced = _cli(["sync"], GREENAI_DB_URL=url)
            assert synced.returncode == 0, synced.stderr
            assert [r["status"] for r in _runs(pg_ledger)] == ["completed"]
    assert journal_for(url).pending() == 0


def _record(run_id: str, seq: int | None, status: str) -> dict[str, Any]:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    run = {"id": run_id, "status": status, "started_at": now, "host_id": "h"}
    if seq is not None:
        run["record_seq"] = seq
    return {"run": run}


def _status(ledger: Ledger, run_id: str) -> str:
    stored = ledger.get_run(run_id)
    assert stored is not None
    return str(stored["run"]["status"])


def test_an_older_record_never_replaces_a_newer_one(tmp_path: Path) -> None:
    with Ledger.open(f"sqlite:///{tmp_path / 'l.db'}") as ledger:
        ledger.save_run(_record("r", 2, "completed"))
        ledger.save_run(_record("r", 1, "running"))  # a journal replayed late
        ledger.save_run(_record("r", 2, "running"))  # the same record again
        assert _status(ledger, "r") == "completed"
        ledger.save_run(_record("r", 3, "failed"))
        assert _status(ledger, "r") == "failed"
        ledger.save_run(_record("r", None, "completed"))  # no number: always applied
        assert _status(ledger, "r") == "completed"


def _full_disk() -> FileOps:
    def write(_fd: int, _data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    return FileOps(write=write)


def test_a_full_disk_sends_the_record_to_stderr_and_sync_reads_it_back(tmp_path: Path) -> None:
    down_url, blocker = _blocked_url(tmp_path)
    journal = Spool(tmp_path / "journal", ops=_full_disk())
    stderr = io.StringIO()
    sink = RecordSink(lambda: Ledger.open(down_url), journal, stderr=stderr)
    record = _record("run-enospc", 5, "completed")
    assert sink.save_run(record) == "stderr"
    assert journal.pending() == 0 and not list(journal.folder.glob(".*.tmp"))
    (line,) = stderr.getvalue().splitlines()
    assert line.startswith(RUN_PREFIX)
    assert json.loads(line[len(RUN_PREFIX) :])["run"]["id"] == "run-enospc"
    log = tmp_path / "job.err"
    log.write_text(f"epoch 1 done\n{line}\nTraceback? no: a line of the job\n")
    blocker.unlink()
    for _ in range(2):
        out = _cli(["sync", "--db", down_url, "--from-stderr", str(log)])
        assert out.returncode == 0, out.stderr
        assert "wrote 1 run record(s)" in out.stdout and "0 line(s) refused" in out.stdout
    assert [(r["id"], r["status"]) for r in _runs(down_url)] == [("run-enospc", "completed")]


def test_a_full_disk_during_a_tracked_job_keeps_its_result(tmp_path: Path, capfd) -> None:
    down_url, _ = _blocked_url(tmp_path)
    writer = Writer(down_url, journal=Spool(tmp_path / "journal", ops=_full_disk()))
    outcome = writer.submit_run(_record("run-full-disk", None, "completed"), wait_s=10)
    assert outcome == "stderr"
    assert RUN_PREFIX in capfd.readouterr().err


def test_at_exit_what_the_shipper_did_not_write_stays_in_the_journal(tmp_path: Path) -> None:
    down_url, _ = _blocked_url(tmp_path)
    journal = Spool(tmp_path / "journal")
    writer = Writer(down_url, journal=journal)
    rows = [{"device_id": "gpu0", "tier": "1s", "ts": datetime(2026, 3, 1, tzinfo=UTC),
             "power_w": 5.0, "run_id": "r"}]  # fmt: skip
    blocked = writer.call(lambda _sink: time.sleep(0.5), wait_s=None)
    assert blocked == "queued"
    writer.submit_series(rows)
    assert not writer.flush(0.0)
    assert writer.journal_unshipped() == 1
    (entry,) = journal.folder.glob("_series.*.jsonl")
    assert json.loads(entry.read_text())["rows"][0]["power_w"] == 5.0


def test_at_exit_the_series_a_queued_heartbeat_carries_stay_in_the_journal(
    tmp_path: Path,
) -> None:
    down_url, _ = _blocked_url(tmp_path)
    journal = Spool(tmp_path / "journal")
    writer = Writer(down_url, journal=journal)
    rows = [{"device_id": "gpu0", "tier": "1s", "ts": datetime(2026, 3, 1, tzinfo=UTC),
             "power_w": 7.0, "run_id": "r"}]  # fmt: skip
    assert writer.call(lambda _sink: time.sleep(0.5), wait_s=None) == "queued"
    beat = _record("r", None, "running")
    writer.queue_heartbeat(beat, lambda: beat, rows)
    assert not writer.flush(0.0)
    assert writer.journal_unshipped() == 1  # the heartbeat itself is superseded, not its rows
    (entry,) = journal.folder.glob("_series.*.jsonl")
    assert json.loads(entry.read_text())["rows"][0]["power_w"] == 7.0


def test_readers_say_when_the_journal_holds_unshipped_records(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    Ledger.open(url).close()
    quiet = _cli(["runs", "list", "--db", url])
    assert quiet.returncode == 0 and "not shipped" not in quiet.stderr
    journal_for(url).write(_record("waiting", 1, "completed"))
    told = _cli(["runs", "list", "--db", url])
    assert told.returncode == 0
    assert "1 record(s) in this machine's journal of the ledger are not shipped yet" in (
        told.stderr
    )


def test_a_slow_ledger_costs_the_job_one_wait_not_one_per_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    writer = Writer(url, journal=Spool(tmp_path / "journal"))
    release = threading.Event()
    writer.call(lambda _sink: release.wait(15), wait_s=None)  # the ledger is locked for 15 s
    try:
        # Given up once the shipper is stuck (it would be shipped within the 30 s), ...
        assert writer.submit_run(_record("first", None, "completed"), wait_s=30) == "queued"
        assert writer.behind
        # ... and not waited for at all while it still is.
        assert writer.submit_run(_record("second", None, "completed"), wait_s=30) == "queued"
    finally:
        release.set()
    assert writer.flush(60)
    assert not writer.behind
    assert writer.submit_run(_record("third", None, "completed"), wait_s=30) == "ledger"
    assert {r["id"] for r in _runs(url)} == {"first", "second", "third"}
    assert writer.journal.pending() == 0


def test_a_ranks_part_is_journaled_before_it_is_shipped_and_replayed_with_its_job(
    tmp_path: Path,
) -> None:
    from greenai.fleet.rank_run import submit_part
    from tests.fleet.parts import part

    url = f"sqlite:///{tmp_path / 'l.db'}"
    journal = Spool(tmp_path / "journal")
    writer = Writer(url, journal=journal)
    release = threading.Event()
    writer.call(lambda _sink: release.wait(30), wait_s=None)
    record = part("job", 1, "b", [("gpu:0", "gpu", 70.0, 1.0)], world_size=2)
    assert submit_part(writer, record, stale_after_s=60.0, wait_s=None) == "queued"
    assert journal.pending() == 1  # on disk before the shipper got to it: a crash keeps it
    # The process dies there; the next one replays the part, and the job's row with it.
    with Ledger.open(url) as ledger:
        assert journal.replay(ledger) == 1
        job = ledger.get_run("job")
    release.set()
    assert job is not None and job["run"]["energy_j"] == 70.0 and job["run"]["hosts"] == ["b"]
