"""``GREENAI_RUN_ID`` is as long as the ledger's id column, no longer."""

from __future__ import annotations

import pytest

import greenai
from greenai.config import load_settings
from tests.reliability.helpers import stored


@pytest.mark.postgres
def test_a_run_id_longer_than_the_column_fails_before_the_job(
    pg_ledger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GREENAI_RUN_ID", "r" * 100)
    ran = []
    with (
        pytest.raises(greenai.ConfigError, match=r"run_id=.*1 to 64 characters"),
        greenai.track(db_url=pg_ledger),
    ):
        ran.append(1)
    assert ran == []


@pytest.mark.postgres
def test_a_run_id_as_long_as_the_column_is_stored(
    pg_ledger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = "job-" + "7" * 60
    monkeypatch.setenv("GREENAI_RUN_ID", run_id)
    with greenai.track(db_url=pg_ledger) as run:
        pass
    assert run.id == run_id
    assert stored(run_id, pg_ledger)["run"]["status"] == "completed"


@pytest.mark.parametrize("value", ["abc\udcff", "tab\there", "x" * 65])
def test_run_ids_the_database_cannot_hold_are_refused(value: str) -> None:
    with pytest.raises(greenai.ConfigError, match="run_id"):
        load_settings({"run_id": value})


def test_host_id_is_as_long_as_its_column() -> None:
    assert load_settings({"host_id": "h" * 128}).host_id == "h" * 128
    with pytest.raises(greenai.ConfigError, match="host_id"):
        load_settings({"host_id": "h" * 129})
