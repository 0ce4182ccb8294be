"""Secrets stay out of messages: SQL parameters and database passwords."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

import greenai
from greenai.config import load_settings
from greenai.ledger import Ledger
from greenai.ledger.engine import create_engine, mask_url, parse_url

GREENAI = [sys.executable, "-m", "greenai.cli.main"]
SECRET = "s3cret-Token-42"


def _refuse_runs_with_the_secret(db: Path) -> None:
    """A trigger stands for any reason the database refuses a record."""
    Ledger.open(f"sqlite:///{db}").close()
    with sqlite3.connect(db) as conn:
        for event in ("INSERT", "UPDATE"):  # the final record may be the run's first write
            conn.execute(
                f"CREATE TRIGGER refuse_{event.lower()} BEFORE {event} ON runs "
                "WHEN NEW.status = 'completed' "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )


def test_a_refused_record_does_not_print_its_parameters(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    _refuse_runs_with_the_secret(db)
    out = subprocess.run(
        [*GREENAI, "run", "--db", f"sqlite:///{db}", "--", sys.executable, "-c", "pass", SECRET],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "GREENAI_STORE_COMMAND": "1"},
    )
    assert out.returncode == 0, out.stderr
    assert SECRET not in out.stderr  # the failure warning, when shown, has no values


def test_the_ledgers_error_for_a_refused_record_has_no_values(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    _refuse_runs_with_the_secret(db)
    started = datetime(2026, 3, 1, tzinfo=UTC)
    record = {
        "run": {"id": "r1", "status": "completed", "started_at": started, "command": SECRET},
        "devices": [],
        "windows": [],
        "metrics": [],
    }
    with Ledger.open(f"sqlite:///{db}") as ledger, pytest.raises(sa.exc.DBAPIError) as caught:
        ledger.save_run(record)
    assert "refused by the test" in str(caught.value)  # what the sink's warning shows
    assert SECRET not in str(caught.value)


def test_engines_hide_sql_parameters(tmp_path: Path) -> None:
    engine = create_engine(parse_url(f"sqlite:///{tmp_path / 'x.db'}"))
    with pytest.raises(sa.exc.DBAPIError) as caught, engine.connect() as conn:
        conn.execute(sa.text("SELECT * FROM missing WHERE a = :a"), {"a": SECRET})
    assert SECRET not in str(caught.value)
    engine.dispose()


REFUSED_BY_CONFIG = [
    f"postgresql://user:{SECRET}@127.0.0.1:1/greenai?x y",
    f"postgresql://user:{SECRET} x@127.0.0.1:1/greenai",
    f"foo://user:{SECRET}@127.0.0.1:1/greenai",
]
REFUSED_BY_SQLALCHEMY = [f"postgresql://user:{SECRET}@[::1/greenai"]
REFUSED_BY_THE_DRIVER = [f"postgresql://user:{SECRET}@127.0.0.1:99999999/greenai"]


@pytest.mark.parametrize("url", REFUSED_BY_CONFIG)
def test_an_invalid_db_url_setting_is_shown_with_its_password_masked(url: str) -> None:
    with pytest.raises(greenai.ConfigError) as caught:
        load_settings({"db_url": url})
    assert caught.value.key == "db_url"
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value.value)
    assert "user:***@" in str(caught.value)


@pytest.mark.parametrize("url", REFUSED_BY_SQLALCHEMY)
def test_a_url_sqlalchemy_cannot_parse_is_shown_with_its_password_masked(url: str) -> None:
    with pytest.raises(greenai.ConfigError) as caught:
        parse_url(url)
    assert SECRET not in str(caught.value) and "user:***@" in str(caught.value)


@pytest.mark.parametrize("url", REFUSED_BY_CONFIG + REFUSED_BY_SQLALCHEMY + REFUSED_BY_THE_DRIVER)
def test_the_cli_masks_the_password_of_an_invalid_url(url: str) -> None:
    out = subprocess.run(
        [*GREENAI, "runs", "list", "--db", url], capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 2
    assert SECRET not in out.stderr and SECRET not in out.stdout
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_mask_url_forms() -> None:
    assert mask_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert mask_url("pg://u:p@ss w@rd@h/db") == "pg://u:***@h/db"
