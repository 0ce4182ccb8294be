"""Reporting periods: the accepted spellings, time zones, and clear errors."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from greenai.errors import ConfigError
from greenai.figures.periods import parse_as_of
from greenai.reports import last_period, parse_period


@pytest.mark.parametrize(
    ("text", "first", "last", "label"),
    [
        ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30), "2026-Q3"),
        ("2026-q1", date(2026, 1, 1), date(2026, 3, 31), "2026-Q1"),
        ("2026-10", date(2026, 10, 1), date(2026, 10, 31), "2026-10"),
        ("2028-02", date(2028, 2, 1), date(2028, 2, 29), "2028-02"),
        ("2026", date(2026, 1, 1), date(2026, 12, 31), "2026"),
        ("2026-07-01..2026-09-30", date(2026, 7, 1), date(2026, 9, 30), "2026-07-01..2026-09-30"),
        (
            " 2026-07-05 .. 2026-07-05 ",
            date(2026, 7, 5),
            date(2026, 7, 5),
            "2026-07-05..2026-07-05",
        ),
    ],
)
def test_forms(text: str, first: date, last: date, label: str) -> None:
    period = parse_period(text, "UTC")
    assert (period.first_day, period.last_day, period.label) == (first, last, label)
    assert period.start_utc == datetime.combine(first, datetime.min.time(), UTC)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2026-Q5", "a quarter Q1 to Q4"),
        ("2026-13", "a month 01 to 12"),
        ("2026-00", "a month 01 to 12"),
        ("2026-09-31..2026-10-02", "real dates"),
        ("2026-10-02..2026-09-01", "first day is on or before its last"),
        ("Q3 2026", "2026-Q3 (quarter), 2026-10 (month), 2026 (year)"),
        ("", "2026-Q3 (quarter)"),
        ("2026-W40", "2026-Q3 (quarter)"),
    ],
)
def test_bad_periods_say_what_is_accepted(text: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_period(text, "UTC")
    assert caught.value.key == "period"
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_time_zone_cuts_the_days_and_comes_from_the_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paris = parse_period("2026-Q3", "Europe/Paris")
    assert paris.start_utc == datetime(2026, 6, 30, 22, tzinfo=UTC)  # CEST, UTC+2
    assert paris.end_utc == datetime(2026, 9, 30, 22, tzinfo=UTC)
    winter = parse_period("2026-12", "Europe/Paris")
    assert winter.start_utc == datetime(2026, 11, 30, 23, tzinfo=UTC)  # CET, UTC+1
    monkeypatch.setenv("GREENAI_TIMEZONE", "America/New_York")
    configured = parse_period("2026-10")
    assert configured.timezone == "America/New_York"
    assert configured.start_utc == datetime(2026, 10, 1, 4, tzinfo=UTC)
    with pytest.raises(ConfigError, match="timezone"):
        parse_period("2026", "Mars/Olympus")


def test_last_complete_period() -> None:
    now = datetime(2026, 10, 1, 3, tzinfo=UTC)
    assert last_period("month", now=now, timezone="UTC").label == "2026-09"
    assert last_period("quarter", now=now, timezone="UTC").label == "2026-Q3"
    assert last_period("year", now=now, timezone="UTC").label == "2025"
    jan = datetime(2026, 1, 15, tzinfo=UTC)
    assert last_period("month", now=jan, timezone="UTC").label == "2025-12"
    assert last_period("quarter", now=jan, timezone="UTC").label == "2025-Q4"
    # 03:00 UTC on 1 October is still 30 September in New York: September is not over.
    assert last_period("month", now=now, timezone="America/New_York").label == "2026-08"
    with pytest.raises(ConfigError, match="month, quarter or year"):
        last_period("week", now=now, timezone="UTC")


def test_previous_and_year_before() -> None:
    q1 = parse_period("2026-Q1", "UTC")
    assert q1.previous().label == "2025-Q4"
    assert q1.year_before().label == "2025-Q1"
    assert parse_period("2026-03", "UTC").previous().label == "2026-02"
    assert parse_period("2026", "UTC").previous().label == "2025"
    leap = parse_period("2028-02", "UTC").year_before()
    assert (leap.first_day, leap.last_day) == (date(2027, 2, 1), date(2027, 2, 28))
    span = parse_period("2026-07-01..2026-07-10", "UTC")
    assert span.previous().label == "2026-06-21..2026-06-30"
    assert span.year_before().label == "2025-07-01..2025-07-10"


def test_subperiods_cover_the_period_without_gaps() -> None:
    for text, count in (("2026-10", 31), ("2026-Q3", 14), ("2026", 12)):
        period = parse_period(text, "Europe/Paris")
        parts = period.subperiods()
        assert len(parts) == count
        assert parts[0].start == period.start and parts[-1].end == period.end
        assert all(a.end == b.start for a, b in itertools.pairwise(parts))


def test_as_of() -> None:
    now = datetime(2026, 11, 2, 8, 30, 15, 999, tzinfo=UTC)
    assert parse_as_of(None, now=now) == now.replace(microsecond=0) + timedelta(seconds=1)
    assert parse_as_of("2026-10-05") == datetime(2026, 10, 5, tzinfo=UTC)
    assert parse_as_of("2026-10-05", "Europe/Paris") == datetime(2026, 10, 4, 22, tzinfo=UTC)
    assert parse_as_of("2026-10-05T06:00:00+02:00") == datetime(2026, 10, 5, 4, tzinfo=UTC)
    with pytest.raises(ConfigError, match="as_of"):
        parse_as_of("last tuesday")
