"""Many processes on one ledger: SQLite writers, PostgreSQL upgrades. No timing asserts."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from greenai.ledger import HEAD_REVISION, Ledger, current_revision, schema, upgrade

RUNS_PER_PROCESS = 50
_CTX = multiprocessing.get_context("fork")


def _write_runs(url: str, prefix: str, barrier: Any, errors: Any) -> None:
    try:
        barrier.wait()
        with Ledger.open(url) as ledger:  # a fresh file: both race to create the schema
            started = datetime(2026, 3, 1, tzinfo=UTC)
            for i in range(RUNS_PER_PROCESS):
                ledger.save_run(
                    {
                        "run": {
                            "id": f"{prefix}-{i}",
                            "status": "completed",
                            "started_at": started + timedelta(seconds=i),
                            "energy_j": 1.0,
                        },
                        "devices": [
                            {
                                "device_id": "gpu0",
                                "kind": "gpu",
                                "method": "counter",
                                "energy_j": 1.0,
                            }
                        ],
                    }
                )
                ledger.add_series(
                    [
                        {
                            "run_id": f"{prefix}-{i}",
                            "device_id": "gpu0",
                            "tier": "1s",
                            "ts": started,
                            "power_w": 1.0,
                        }
                    ]
                )
    except BaseException as exc:
        errors.put(f"{prefix}: {type(exc).__name__}: {exc}")
        raise


def _run_upgrade(url: str, barrier: Any, results: Any) -> None:
    try:
        barrier.wait()
        results.put(("ok", upgrade(url)))
    except BaseException as exc:
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def _join(processes: list[Any]) -> None:
    for process in processes:
        process.join(timeout=240)
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join()


def test_two_processes_write_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    barrier = _CTX.Barrier(2)
    errors = _CTX.Queue()
    processes = [
        _CTX.Process(target=_write_runs, args=(url, name, barrier, errors)) for name in ("a", "b")
    ]
    for process in processes:
        process.start()
    _join(processes)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert problems == []
    assert [p.exitcode for p in processes] == [0, 0]

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
    barrier = _CTX.Barrier(2)
    results = _CTX.Queue()
    processes = [
        _CTX.Process(target=_run_upgrade, args=(pg_url, barrier, results)) for _ in range(2)
    ]
    for process in processes:
        process.start()
    _join(processes)
    outcomes = [results.get(timeout=5) for _ in processes]
    assert outcomes == [("ok", HEAD_REVISION)] * 2

    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        ids = conn.exec_driver_sql("SELECT value FROM ledger_meta WHERE key = 'ledger_id'").all()
    engine.dispose()
    assert versions == [(HEAD_REVISION,)]
    assert len(ids) == 1
