"""Period choices of the sidebar: whole days in the configured time zone, today
included; the last complete month or quarter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from dashboard.widgets import Filters, period_of

TODAY = date(2026, 11, 29)


def _bounds(choice: str, *args: object, tz: str = "UTC") -> tuple[datetime, datetime]:
    period = period_of(choice, TODAY, *args, timezone=tz)  # type: ignore[arg-type]
    assert period is not None
    return period.start_utc, period.end_utc


def test_last_n_days_include_today() -> None:
    assert _bounds("Last 7 days") == (
        datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))  # fmt: skip
    assert _bounds("Last 12 months")[0] == datetime(2025, 11, 30, tzinfo=UTC)


def test_days_are_cut_in_the_configured_time_zone() -> None:
    start, end = _bounds("Last 7 days", tz="Asia/Tokyo")  # UTC+9, no daylight saving
    tokyo = timezone(timedelta(hours=9))
    assert start == datetime(2026, 11, 23, tzinfo=tokyo)
    assert end == datetime(2026, 11, 30, tzinfo=tokyo)


def test_last_complete_quarter_and_month() -> None:
    quarter = period_of("Last complete quarter", TODAY, timezone="Europe/Paris")
    assert quarter is not None and quarter.label == "2026-Q3"
    assert quarter.start_utc == datetime(2026, 6, 30, 22, tzinfo=UTC)  # CEST midnight
    month = period_of("Last complete month", TODAY)
    assert month is not None and (month.first_day, month.last_day) == (
        date(2026, 10, 1), date(2026, 10, 31))  # fmt: skip


def test_all_time_and_custom_ranges() -> None:
    assert period_of("All time", TODAY) is None
    assert _bounds("Custom range", (date(2026, 7, 31), date(2026, 7, 1))) == (
        datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC))  # fmt: skip
    with pytest.raises(ValueError, match="first and a last day"):
        period_of("Custom range", TODAY, None)
    with pytest.raises(ValueError, match="unknown period"):
        period_of("Last century", TODAY)


def test_previous_period_has_the_same_length() -> None:
    period = period_of("Last 30 days", TODAY)
    flt = Filters(period=period, label="x", projects=("chat",)).runs(previous=True)
    assert period is not None and period.start_utc == datetime(2026, 10, 31, tzinfo=UTC)
    assert flt.end == period.start_utc and flt.start == datetime(2026, 10, 1, tzinfo=UTC)
    assert flt.projects == ("chat",) and flt.root_only
    with pytest.raises(ValueError, match="no previous period"):
        Filters(period=None, label="All time").runs(previous=True)
