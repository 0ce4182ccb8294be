"""Period choices of the sidebar: whole UTC days, today included."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dashboard.widgets import Filters, period_bounds

TODAY = date(2026, 11, 29)


def test_last_n_days_include_today() -> None:
    start, end = period_bounds("Last 7 days", TODAY)
    assert start == datetime(2026, 11, 23, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, tzinfo=UTC)
    assert period_bounds("Last 12 months", TODAY)[0] == datetime(2025, 11, 30, tzinfo=UTC)


def test_all_time_and_custom_ranges() -> None:
    assert period_bounds("All time", TODAY) == (None, None)
    start, end = period_bounds("Custom range", TODAY, (date(2026, 7, 31), date(2026, 7, 1)))
    assert (start, end) == (datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="first and a last day"):
        period_bounds("Custom range", TODAY, None)
    with pytest.raises(ValueError, match="unknown period"):
        period_bounds("Last century", TODAY)


def test_previous_period_has_the_same_length() -> None:
    start, end = period_bounds("Last 30 days", TODAY)
    flt = Filters(start=start, end=end, label="x", projects=("chat",)).runs(previous=True)
    assert start == datetime(2026, 10, 31, tzinfo=UTC)
    assert flt.end == start and flt.start == datetime(2026, 10, 1, tzinfo=UTC)
    assert flt.projects == ("chat",) and flt.root_only
    with pytest.raises(ValueError, match="no previous period"):
        Filters(start=None, end=None, label="All time").runs(previous=True)
