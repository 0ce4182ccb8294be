"""trackio receives a run's figures and tags: the real trackio with its local storage in
tmp_path (``TRACKIO_DIR``), read back from its SQLite file; the run on the fake GPUs'
manual clock."""

from __future__ import annotations

import importlib
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from greenai.figures.logged import tracker_tags
from tests.fake_nvml.driver import FakeNvml
from tests.integrations.runs import EXACT, known_run, ledger_figures, ledger_run
from tests.tracking.manual import manual_hub

__all__ = ["manual_hub"]


@pytest.fixture(scope="module")
def trackio_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """trackio's SQLite file of the ``greenai`` project, under tmp_path (trackio reads
    ``TRACKIO_DIR`` when it is imported: set before the import)."""
    folder = tmp_path_factory.mktemp("trackio")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRACKIO_DIR", str(folder))
        importlib.import_module("trackio")
        from trackio.sqlite_storage import SQLiteStorage

        from greenai.integrations.trackio_sink import PROJECT

        db = SQLiteStorage.get_project_db_path(PROJECT)
        assert db.parent == folder, "trackio was imported before TRACKIO_DIR was set"
        yield db


@pytest.fixture
def trackio(trackio_db: Path) -> Iterator[ModuleType]:
    """trackio, with no run left current after the test."""
    del trackio_db
    import trackio as module
    from trackio import context_vars

    yield module
    if context_vars.current_run.get() is not None:
        module.finish()


def logged(db: Path, run_name: str) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, Any]]:
    """The run's (step, metrics) rows in order, and its config."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT step, metrics FROM metrics WHERE run_name = ? ORDER BY id", (run_name,)
        ).fetchall()
        configs = conn.execute(
            "SELECT config FROM configs WHERE run_name = ?", (run_name,)
        ).fetchall()
    config = json.loads(configs[0][0]) if configs else {}
    return [(step, json.loads(metrics)) for step, metrics in rows], config


def stored_rows(db: Path, run_name: str, count: int) -> None:
    """Wait until trackio's sender has stored ``count`` rows of the run (it sends every
    half second)."""
    deadline = time.monotonic() + 30.0
    while not db.exists() or len(logged(db, run_name)[0]) < count:
        assert time.monotonic() < deadline, f"trackio stored no {count} rows of {run_name}"
        time.sleep(0.05)


@pytest.mark.usefixtures("manual_hub")
def test_a_run_of_its_own_gets_the_ledger_figures_and_tags(
    fake_nvml: FakeNvml, trackio: ModuleType, trackio_db: Path
) -> None:
    from trackio import context_vars

    run = known_run(fake_nvml, "tk-own", log_to="trackio")

    assert context_vars.current_run.get() is None  # finished
    rows, config = logged(trackio_db, "tk-own")
    figures = ledger_figures(run)
    assert figures.items() >= EXACT.items()
    assert rows == [(0, figures)]
    tags = tracker_tags(ledger_run(run))
    assert tags["greenai/run_id"] == run.id
    assert config.items() >= tags.items()


@pytest.mark.usefixtures("manual_hub")
def test_the_current_user_run_is_used_and_left_open(
    fake_nvml: FakeNvml, trackio: ModuleType, trackio_db: Path
) -> None:
    from trackio import context_vars

    user = trackio.init(
        project="greenai", name="tk-user", embed=False, auto_log_cpu=False, auto_log_gpu=False
    )
    trackio.log({"loss": 0.5}, step=4)  # its config is stored with this first log
    stored_rows(trackio_db, "tk-user", 1)  # sent: the job logged a while ago
    run = known_run(fake_nvml, "inside", log_to="trackio")
    assert context_vars.current_run.get() is user
    trackio.log({"loss": 0.25})  # still open
    trackio.finish()

    rows, config = logged(trackio_db, "tk-user")
    assert rows == [(4, {"loss": 0.5}), (5, ledger_figures(run)), (6, {"loss": 0.25})]
    assert config["greenai/run_id"] == run.id  # stored again, with the figures
