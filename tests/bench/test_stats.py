"""Statistics of the summary: t-intervals and the interval of a ratio (through the query
layer's statistics, whose t quantiles are tested with the dashboard's comparisons)."""

from __future__ import annotations

import random

import pytest

from greenai.bench.stats import mean_interval, ratio_interval


def test_mean_interval_covers_the_true_mean_95_percent_of_the_time() -> None:
    rng = random.Random(7)
    trials, covered = 3000, 0
    for _ in range(trials):
        sample = [rng.gauss(10.0, 2.0) for _ in range(4)]
        interval = mean_interval(sample)
        assert interval.low is not None and interval.high is not None
        covered += interval.low <= 10.0 <= interval.high
    assert 0.935 <= covered / trials <= 0.965


def test_ratio_interval_covers_the_true_ratio_about_95_percent_of_the_time() -> None:
    rng = random.Random(11)
    trials, covered = 3000, 0
    for _ in range(trials):
        top = [rng.gauss(6.0, 0.3) for _ in range(5)]
        bottom = [rng.gauss(10.0, 0.8) for _ in range(4)]
        interval = ratio_interval(top, bottom)
        assert interval.low is not None and interval.high is not None
        covered += interval.low <= 0.6 <= interval.high
    assert 0.93 <= covered / trials <= 0.97


def test_single_values_give_estimates_without_intervals() -> None:
    assert mean_interval([3.0]).low is None
    ratio = ratio_interval([2.0], [4.0, 4.2])
    assert ratio.value == pytest.approx(2.0 / 4.1) and ratio.high is None and ratio.n == 1
    with pytest.raises(ValueError, match="positive means"):
        ratio_interval([1.0, 2.0], [0.0, 0.0])
