"""The spool and the record sink: nothing lost when the ledger cannot be reached."""

from __future__ import annotations

import io
import json
import logging
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from greenai.ledger import Ledger, RecordSink, Spool, schema
from greenai.ledger.sink import RUN_PREFIX

UNREACHABLE_PG = "postgresql://nobody@127.0.0.1:1/ledger"


def _count(ledger: Ledger, table: sa.Table) -> int:
    with ledger.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _blocked(tmp_path: Path) -> Path:
    """A path nobody can create, root included: its parent is a regular file."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    return blocker / "inside"


class TickingClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("where", ["unwritable-folder", "postgres-port-1"])
def test_unreachable_ledger_spools_the_record(tmp_path: Path, make_record, where) -> None:
    url = (
        f"sqlite:///{_blocked(tmp_path) / 'ledger.db'}"
        if where == "unwritable-folder"
        else UNREACHABLE_PG
    )
    spool = Spool(tmp_path / "spool")
    sink = RecordSink(lambda: Ledger.open(url), spool, stderr=io.StringIO())

    assert sink.save_run(make_record("r1")) == "spool"
    assert (
        sink.add_series(
            [
                {
                    "device_id": "gpu0",
                    "tier": "1s",
                    "ts": datetime(2026, 3, 1, tzinfo=UTC),
                    "power_w": 5.0,
                }
            ]
        )
        == "spool"
    )
    assert spool.pending() == 2
    files = sorted((tmp_path / "spool").iterdir())
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert stat.S_IMODE((tmp_path / "spool").stat().st_mode) == 0o700
    run_file = next(f for f in files if f.name.startswith("r1."))
    line = run_file.read_text()
    assert line.count("\n") == 1
    assert json.loads(line)["record"]["run"]["started_at"] == "2026-03-01T10:00:00.250000+00:00"


def test_read_only_ledger_spools_the_record(tmp_path: Path, make_record) -> None:
    path = tmp_path / "ledger.db"
    Ledger.open(f"sqlite:///{path}").close()
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    spool = Spool(tmp_path / "spool")
    sink = RecordSink(lambda: Ledger.open(read_only), spool, stderr=io.StringIO())
    assert sink.save_run(make_record("r1")) == "spool"
    assert sink.ledger is not None  # it opened, reads work, writes do not
    assert sink.ledger.list_runs() == []
    assert spool.pending() == 1


def test_replay_writes_once_and_empties_the_spool(tmp_path: Path, make_record) -> None:
    spool = Spool(tmp_path / "spool")
    record = make_record("r1", status="completed")
    spool.write(record)
    spool.write_series(
        [
            {
                "run_id": "r1",
                "device_id": "gpu0",
                "tier": "1s",
                "ts": datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=s),
                "power_w": 10.0,
                "energy_j": 10.0,
            }
            for s in range(3)
        ]
    )
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        assert spool.replay(ledger) == 2
        assert spool.pending() == 0
        got = ledger.get_run("r1")
        assert got is not None
        assert got["run"]["started_at"] == record["run"]["started_at"]  # aware datetime back
        assert got["run"]["status"] == "completed"
        assert got["metrics"][0]["logged_at"] == record["metrics"][0]["logged_at"]
        before = (
            _count(ledger, schema.runs),
            _count(ledger, schema.run_devices),
            _count(ledger, schema.series),
            got["run"]["updated_at"],
        )

        assert spool.replay(ledger) == 0  # again: nothing to do, nothing changes
        after = ledger.get_run("r1")
        assert after is not None
        assert (
            _count(ledger, schema.runs),
            _count(ledger, schema.run_devices),
            _count(ledger, schema.series),
            after["run"]["updated_at"],
        ) == before
        assert before[:3] == (1, 2, 3)


def test_replay_keeps_only_the_newest_record_of_each_run(tmp_path: Path, make_record) -> None:
    spool = Spool(tmp_path / "spool")
    spool.write(make_record("r1", status="running", energy_j=10.0))
    spool.write(make_record("r2", status="running"))
    spool.write(make_record("r1", status="completed", energy_j=99.0))
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        assert spool.replay(ledger) == 2
        r1 = ledger.get_run("r1")
        assert r1 is not None
        assert (r1["run"]["status"], r1["run"]["energy_j"]) == ("completed", 99.0)
    assert spool.pending() == 0


def test_a_malformed_record_is_set_aside_not_retried(tmp_path: Path, make_record) -> None:
    spool = Spool(tmp_path / "spool")
    spool.write(make_record("bad", energy_kwh=1.0))  # not a column: the ledger refuses it
    spool.write(make_record("good"))
    (tmp_path / "spool" / "junk.1.1.jsonl").write_text("{not json\n")
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        assert spool.replay(ledger) == 1
        assert ledger.get_run("good") is not None and ledger.get_run("bad") is None
    assert spool.pending() == 0
    assert len(list((tmp_path / "spool").glob("*.rejected"))) == 2


def test_unreachable_during_replay_keeps_the_files(tmp_path: Path, make_record) -> None:
    spool = Spool(tmp_path / "spool")
    spool.write(make_record("r1"))
    path = tmp_path / "ledger.db"
    Ledger.open(f"sqlite:///{path}").close()
    read_only = Ledger.open(f"sqlite:///file:{path}?mode=ro&uri=true")
    with read_only, pytest.raises(sa.exc.OperationalError):
        spool.replay(read_only)
    assert spool.pending() == 1


def test_spool_unwritable_prints_one_json_line(tmp_path: Path, make_record, caplog) -> None:
    stderr = io.StringIO()
    sink = RecordSink(lambda: Ledger.open(UNREACHABLE_PG), Spool(_blocked(tmp_path)), stderr=stderr)
    caplog.set_level(logging.WARNING, logger="greenai.ledger")
    record = make_record("r1")
    assert sink.save_run(record) == "stderr"
    assert sink.save_run(record) == "stderr"
    lines = stderr.getvalue().splitlines()
    assert len(lines) == 2 and all(line.startswith(RUN_PREFIX) for line in lines)
    printed = json.loads(lines[0][len(RUN_PREFIX) :])
    assert printed["run"]["id"] == "r1"
    assert printed["run"]["started_at"] == record["run"]["started_at"].isoformat()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # once for the ledger, once for the spool


def test_sink_never_raises(tmp_path: Path, make_record) -> None:
    class BrokenStream(io.StringIO):
        def write(self, _text: str) -> int:
            raise OSError("stderr closed")

    def factory() -> Ledger:
        raise RuntimeError("anything at all")

    sink = RecordSink(factory, Spool(_blocked(tmp_path)), stderr=BrokenStream())
    assert sink.save_run(make_record("r1")) == "stderr"
    assert sink.save_run({"no": "run"}) == "stderr"
    assert sink.add_series([{"garbage": object()}]) == "stderr"


def test_sink_retries_the_ledger_after_a_pause(tmp_path: Path, make_record) -> None:
    clock = TickingClock()
    url = {"value": UNREACHABLE_PG}
    opened: list[str] = []

    def factory() -> Ledger:
        opened.append(url["value"])
        return Ledger.open(url["value"])

    spool = Spool(tmp_path / "spool")
    sink = RecordSink(factory, spool, stderr=io.StringIO(), retry_after_s=30.0, clock=clock)
    assert sink.save_run(make_record("r1", energy_j=1.0)) == "spool"
    url["value"] = f"sqlite:///{tmp_path / 'ledger.db'}"  # the ledger comes back
    clock.now = 10.0
    assert sink.save_run(make_record("r1", energy_j=2.0)) == "spool"  # still pausing
    assert len(opened) == 1
    clock.now = 31.0
    assert sink.save_run(make_record("r1", energy_j=3.0)) == "ledger"
    # The newer record reached the ledger: the spooled older ones are superseded.
    assert spool.pending() == 0
    assert sink.ledger is not None
    got = sink.ledger.get_run("r1")
    assert got is not None and got["run"]["energy_j"] == 3.0
    sink.close()


def test_spool_files_are_named_by_run_and_ordered(tmp_path: Path, make_record) -> None:
    spool = Spool(tmp_path / "spool")
    first = spool.write(make_record("run-a"))
    second = spool.write(make_record("run-a"))
    odd = spool.write(make_record("run/with spaces"))
    assert first.name.startswith("run-a.") and second.name.startswith("run-a.")
    assert first.name < second.name
    assert "/" not in odd.name[:-1] and " " not in odd.name
    assert not list((tmp_path / "spool").glob(".*.tmp"))
    assert spool.discard_run("run-a") == 2
    assert spool.pending() == 1


def test_default_stderr_is_the_current_one(tmp_path: Path, make_record, capsys) -> None:
    sink = RecordSink(lambda: Ledger.open(UNREACHABLE_PG), Spool(_blocked(tmp_path)))
    assert sink.save_run(make_record("r1")) == "stderr"
    assert capsys.readouterr().err.startswith(RUN_PREFIX)
