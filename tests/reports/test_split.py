"""Splitting a run at period boundaries: by its power series, else by time."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from greenai.figures.inputs import span_end
from greenai.figures.split import SPLIT_NONE, SPLIT_SERIES, SPLIT_TIME, run_share

H = 3600.0


def series(*buckets: tuple[float, float, float]) -> pd.DataFrame:
    return pd.DataFrame(buckets, columns=["ts_s", "bucket_s", "energy_j"])


def test_whole_outside_and_zero_length() -> None:
    assert run_share(10 * H, 12 * H, 0, 24 * H) == (1.0, SPLIT_NONE)
    assert run_share(30 * H, 32 * H, 0, 24 * H) == (0.0, SPLIT_NONE)
    assert run_share(24 * H, 24 * H, 0, 24 * H) == (0.0, SPLIT_NONE)  # end excluded
    assert run_share(0.0, 0.0, 0, 24 * H) == (1.0, SPLIT_NONE)  # start included


def test_pro_rata_by_time_without_series() -> None:
    assert run_share(20 * H, 28 * H, 0, 24 * H) == (0.5, SPLIT_TIME)
    assert run_share(-2 * H, 6 * H, 0, 24 * H) == (0.75, SPLIT_TIME)
    # A run spanning the whole period and more on both sides.
    share, method = run_share(-H, 25 * H, 0, 24 * H)
    assert share == pytest.approx(24 / 26)
    assert method == SPLIT_TIME


def test_by_power_series_with_a_bucket_cut_by_the_boundary() -> None:
    # Run 22:00 -> 02:00 in one-hour buckets of 100, 100, 300 and 300 J: a quarter before
    # midnight, where time alone would say half.
    run = series((22 * H, H, 100.0), (23 * H, H, 100.0), (24 * H, H, 300.0), (25 * H, H, 300.0))
    assert run_share(22 * H, 26 * H, 0, 24 * H, run) == (0.25, SPLIT_SERIES)
    # One two-hour bucket straddling midnight counts pro rata inside it.
    straddle = series((23 * H, 2 * H, 400.0), (25 * H, H, 400.0))
    share, method = run_share(23 * H, 26 * H, 0, 24 * H, straddle)
    assert method == SPLIT_SERIES
    assert share == pytest.approx(200 / 800)


def test_series_without_energy_falls_back_to_time() -> None:
    empty = series((22 * H, H, 0.0), (23 * H, H, 0.0))
    assert run_share(20 * H, 28 * H, 0, 24 * H, empty) == (0.5, SPLIT_TIME)
    assert run_share(20 * H, 28 * H, 0, 24 * H, series()) == (0.5, SPLIT_TIME)


def test_span_of_a_run_without_an_end() -> None:
    start = datetime(2026, 9, 30, 20, tzinfo=UTC)
    beat = datetime(2026, 10, 1, 2, tzinfo=UTC)
    running = pd.Series({"started_at": start, "ended_at": None, "heartbeat_at": beat,
                         "duration_s": 60.0})  # fmt: skip
    assert span_end(running) == beat
    no_beat = pd.Series({"started_at": start, "ended_at": None, "heartbeat_at": None,
                         "duration_s": 7200.0})  # fmt: skip
    assert span_end(no_beat) == datetime(2026, 9, 30, 22, tzinfo=UTC)
