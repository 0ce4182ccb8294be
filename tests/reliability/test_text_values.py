"""Text the API accepts reaches the ledger: cleaned to what the columns hold, flagged.

A name, tag or metric name with NUL or an unencodable character, or longer than its
column, used to make the database refuse the final record, leaving a ``running`` row.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

import greenai
from greenai.tracking.run import GreenAIWarning
from tests.reliability.helpers import stored

CLEANED = "text_cleaned"

# (metadata keywords, the runs column to check, its length in the schema)
TEXT_CASES = [
    pytest.param({"name": "before\x00after"}, "name", 200, id="nul-in-name"),
    pytest.param({"name": "x" * 201}, "name", 200, id="name-over-200"),
    pytest.param({"project": "p" * 5000}, "project", 200, id="project-over-200"),
    pytest.param({"technique": "t" * 101}, "technique", 100, id="technique-over-100"),
    pytest.param({"precision": "bf16\x00"}, "precision", 50, id="nul-in-precision"),
    pytest.param({"model": "m\ud800"}, "model", 200, id="lone-surrogate-in-model"),
]


def _tracked(url: str, **meta: Any) -> dict[str, Any]:
    with (
        pytest.warns(GreenAIWarning, match="changed to fit the ledger"),
        greenai.track(db_url=url, **meta) as run,
    ):
        run.log_metric("loss\x00" + "l" * 300, 1.0)
    return stored(run.id, url)


def _assert_clean(text: str, limit: int) -> None:
    assert len(text) <= limit
    assert "\x00" not in text
    text.encode("utf-8")  # no lone surrogate left


@pytest.mark.postgres
@pytest.mark.parametrize(("meta", "column", "limit"), TEXT_CASES)
def test_text_postgresql_refuses_is_cleaned_and_the_run_completes(
    pg_ledger: str, meta: dict[str, Any], column: str, limit: int
) -> None:
    record = _tracked(pg_ledger, **meta)
    row = record["run"]
    assert row["status"] == "completed"
    assert CLEANED in row["flags"]
    _assert_clean(row[column], limit)
    (metric,) = record["metrics"]
    _assert_clean(metric["name"], 200)
    assert metric["name"].startswith("loss")


@pytest.mark.parametrize(("meta", "column", "limit"), TEXT_CASES)
def test_text_is_cleaned_on_sqlite_too(
    ledger_url: str, meta: dict[str, Any], column: str, limit: int
) -> None:
    row = _tracked(ledger_url, **meta)["run"]
    assert row["status"] == "completed" and CLEANED in row["flags"]
    _assert_clean(row[column], limit)


@pytest.mark.postgres
def test_nul_and_long_tags_are_cleaned(pg_ledger: str) -> None:
    tags = {"k\x00": "v\x00", "long": "v" * 100_000, "<script>": "<b>x</b>"}
    row = _tracked(pg_ledger, tags=tags)["run"]
    assert row["status"] == "completed" and CLEANED in row["flags"]
    assert row["tags"]["<script>"] == "<b>x</b>"  # stored as given: escaping is the reader's
    for key, value in row["tags"].items():
        _assert_clean(key, 200)
        _assert_clean(value, 1000)


@pytest.mark.postgres
def test_window_names_are_cleaned(pg_ledger: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenAIWarning)
        with greenai.track(db_url=pg_ledger, model="m") as run, run.window("w\x00" + "w" * 300):
            pass
    record = stored(run.id, pg_ledger)
    assert record["run"]["status"] == "completed"
    (window,) = record["windows"]
    _assert_clean(window["name"], 200)


def test_clean_text_keeps_ordinary_text_as_given(ledger_url: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", GreenAIWarning)  # nothing to clean: no warning
        with greenai.track(db_url=ledger_url, name="été 🌱 <b>", tags={"k": "v"}) as run:
            pass
    row = stored(run.id, ledger_url)["run"]
    assert row["name"] == "été 🌱 <b>" and CLEANED not in row["flags"]


@pytest.mark.postgres
@pytest.mark.parametrize("key", ["batch_size", "seq_len"])
def test_integers_beyond_the_column_fail_before_the_job(pg_ledger: str, key: str) -> None:
    with pytest.raises(greenai.ConfigError, match=key):
        greenai.track(db_url=pg_ledger, **{key: 2**31})


def test_an_exception_message_with_nul_is_stored_cleaned(tmp_path) -> None:
    import greenai
    from greenai.tracking.writer import flush_all
    from tests.tracking.helpers import stored

    url = f"sqlite:///{tmp_path / 'l.db'}"
    try:
        with greenai.track(name="nul-error", db_url=url) as run:
            raise RuntimeError("bad\x00byte" + "x" * 2000)
    except RuntimeError:
        pass
    flush_all(timeout_s=60.0)
    row = stored(run.id, url)["run"]
    assert row["status"] == "failed"
    assert row["error"].startswith("RuntimeError: bad\ufffdbyte") and len(row["error"]) == 520
