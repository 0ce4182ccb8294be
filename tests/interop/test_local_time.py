"""CodeCarbon's ``timestamp`` is the run's end in naive local time (``datetime.now()``):
the import reads it in ``--timezone`` (default: the configured ``timezone``), records the
zone it assumed on the run, and flags a local time that a DST change made ambiguous or
skipped. A time written with an offset keeps its offset."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from greenai.figures import flags
from tests.interop.conftest import assert_refused, import_file, ledger_runs
from tests.interop.files import row, write_csv


def _one_run(tmp_path: Path, url: str, timestamp: str, *options: str) -> dict[str, object]:
    path = write_csv(tmp_path / "emissions.csv", [row(0, timestamp=timestamp, duration="60")])
    outcome = import_file(path, url, *options)
    assert outcome.exit_code == 0, outcome
    (run,) = ledger_runs(url)
    return run


def test_a_paris_file_is_read_in_paris_time(tmp_path: Path, backend_url: str) -> None:
    run = _one_run(tmp_path, backend_url, "2026-01-01T00:30:00", "--timezone", "Europe/Paris")
    assert run["ended_at"] == datetime(2025, 12, 31, 23, 30, tzinfo=UTC)  # last year's Q4
    assert run["started_at"] == datetime(2025, 12, 31, 23, 29, tzinfo=UTC)
    assert run["tags"]["codecarbon_timezone"] == "Europe/Paris"  # type: ignore[index]
    assert flags.LOCAL_TIME_AMBIGUOUS not in run["flags"]  # type: ignore[operator]


def test_the_configured_time_zone_is_the_default(
    tmp_path: Path, backend_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GREENAI_TIMEZONE", "America/New_York")
    run = _one_run(tmp_path, backend_url, "2026-07-01T10:00:00")
    assert run["ended_at"] == datetime(2026, 7, 1, 14, 0, tzinfo=UTC)
    assert run["tags"]["codecarbon_timezone"] == "America/New_York"  # type: ignore[index]


def test_a_time_with_an_offset_keeps_it(tmp_path: Path, backend_url: str) -> None:
    run = _one_run(tmp_path, backend_url, "2026-07-01T10:00:00+00:00", "--timezone", "Asia/Tokyo")
    assert run["ended_at"] == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert "codecarbon_timezone" not in run["tags"]  # type: ignore[operator]


def test_a_time_that_occurs_twice_is_flagged(tmp_path: Path, backend_url: str) -> None:
    # 2026-10-25 in Paris: 03:00 CEST becomes 02:00 CET, so 02:30 occurs twice
    run = _one_run(tmp_path, backend_url, "2026-10-25T02:30:00", "--timezone", "Europe/Paris")
    assert flags.LOCAL_TIME_AMBIGUOUS in run["flags"]  # type: ignore[operator]
    assert run["ended_at"] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # its first occurrence
    assert flags.describe(flags.LOCAL_TIME_AMBIGUOUS).code


def test_a_time_that_never_occurred_is_flagged(tmp_path: Path, backend_url: str) -> None:
    # 2026-03-29 in Paris: 02:00 CET becomes 03:00 CEST, so 02:30 never occurs
    run = _one_run(tmp_path, backend_url, "2026-03-29T02:30:00", "--timezone", "Europe/Paris")
    assert flags.LOCAL_TIME_NONEXISTENT in run["flags"]  # type: ignore[operator]
    assert run["ended_at"] == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # the offset before


def test_an_unknown_time_zone_is_refused_in_one_line(tmp_path: Path, backend_url: str) -> None:
    path = write_csv(tmp_path / "emissions.csv", [row(0)])
    outcome = import_file(path, backend_url, "--timezone", "Mars/Olympus")
    assert outcome.escaped is None and outcome.exit_code == 2
    assert "timezone" in outcome.stderr_lines[0] and ledger_runs(backend_url) == []


def test_a_local_time_beyond_utc_s_range_is_refused(tmp_path: Path, backend_url: str) -> None:
    path = write_csv(tmp_path / "emissions.csv", [row(0, timestamp="0001-01-01T00:05:00")])
    assert_refused(import_file(path, backend_url, "--timezone", "Europe/Paris"), "line 2")
