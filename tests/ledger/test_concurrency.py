"""Many processes on one ledger: SQLite writers, PostgreSQL upgrades. No timing asserts.

The processes are real interpreters let go at the same instant (:mod:`tests.at_once`).
"""

from __future__ import annotations

import json
import textwrap
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from greenai.ledger import HEAD_REVISION, Ledger, current_revision, schema, upgrade
from greenai.ledger.ranks import save_part
from tests.at_once import run_at_once

RUNS_PER_PROCESS = 50

WRITE_RUNS = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime, timedelta
    from greenai.ledger import Ledger
    from tests.at_once import wait_for_go

    url, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    started = datetime(2026, 3, 1, tzinfo=UTC)
    wait_for_go()
    with Ledger.open(url) as ledger:  # a fresh file: both race to create the schema
        for i in range(n):
            run_id = f"{prefix}-{i}"
            device = {"device_id": "gpu0", "kind": "gpu", "method": "counter", "energy_j": 1.0}
            ledger.save_run({
                "run": {"id": run_id, "status": "completed",
                        "started_at": started + timedelta(seconds=i), "energy_j": 1.0},
                "devices": [device],
            })
            ledger.add_series([{"run_id": run_id, "device_id": "gpu0", "tier": "1s",
                                "ts": started, "power_w": 1.0}])
    """
)

UPGRADE = textwrap.dedent(
    """
    import json, sys
    from greenai.ledger import upgrade
    from tests.at_once import wait_for_go

    wait_for_go()
    try:
        print(json.dumps(["ok", upgrade(sys.argv[1])]))
    except Exception as exc:
        print(json.dumps(["error", f"{type(exc).__name__}: {exc}"]))
    """
)


def test_two_processes_write_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ends = run_at_once(WRITE_RUNS, [[url, name, str(RUNS_PER_PROCESS)] for name in ("a", "b")])
    assert [end.returncode for end in ends] == [0, 0], [end.why() for end in ends]

    with Ledger.open(url) as ledger, ledger.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(schema.runs)).scalar_one()
        devices = conn.execute(
            sa.select(sa.func.count()).select_from(schema.run_devices)
        ).scalar_one()
        series = conn.execute(sa.select(sa.func.count()).select_from(schema.series)).scalar_one()
        assert current_revision(ledger.engine) == HEAD_REVISION
    assert (count, devices, series) == (2 * RUNS_PER_PROCESS,) * 3


@pytest.mark.postgres
def test_two_processes_upgrade_postgres_at_once(pg_url: str) -> None:
    ends = run_at_once(UPGRADE, [[pg_url]] * 2)
    assert [end.returncode for end in ends] == [0, 0], [end.why() for end in ends]
    outcomes = [json.loads(end.stdout.strip().splitlines()[-1]) for end in ends]
    assert outcomes == [["ok", HEAD_REVISION]] * 2

    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        ids = conn.exec_driver_sql("SELECT value FROM ledger_meta WHERE key = 'ledger_id'").all()
    engine.dispose()
    assert versions == [(HEAD_REVISION,)]
    assert len(ids) == 1


@pytest.mark.postgres
def test_an_older_record_never_overwrites_a_newer_one_written_at_once(pg_url: str) -> None:
    """A process replaying a run's start record from the shared journal while the run's
    own process writes its final record, both let go together for each run: the final
    record stays whoever commits last (the start record used to win when the row did
    not exist yet). Rank parts alike."""
    upgrade(pg_url)
    n = RUNS_PER_PROCESS * 2
    together = threading.Barrier(2)
    started = datetime(2026, 3, 1, tzinfo=UTC)
    failures: list[BaseException] = []

    def write(ledger: Ledger, seq: int) -> None:
        status = "completed" if seq == 2 else "running"
        run = {"status": status, "started_at": started, "energy_j": 1.0, "record_seq": seq}
        try:
            for i in range(n):
                together.wait(timeout=30)
                ledger.save_run({"run": {"id": f"run-{i}", **run}})
                together.wait(timeout=30)
                part = {"id": f"part-{i}", "parent_run_id": f"job-{i}", "rank": 0, **run}
                save_part(ledger, {"run": part})
        except BaseException as exc:
            together.abort()
            failures.append(exc)

    with Ledger.open(pg_url) as ledger:
        threads = [threading.Thread(target=write, args=(ledger, seq)) for seq in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        with ledger.engine.connect() as conn:
            rows = conn.execute(sa.select(schema.runs.c.id, schema.runs.c.record_seq)).all()
    written = {row.id: row.record_seq for row in rows if row.id.startswith(("run-", "part-"))}
    assert len(written) == 2 * n
    assert {run_id: seq for run_id, seq in written.items() if seq != 2} == {}
