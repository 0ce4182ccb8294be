"""The benchmark summary's intervals, computed by the query layer's statistics, so the
summary and the dashboard's Compare page give the same figures for the same runs: a
mean with its Student-t interval, and a ratio of means with a Welch interval on the log
ratio (:mod:`greenai.queries.stats`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from greenai.queries.stats import t_interval, welch_ratio


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate with its confidence interval.

    Attributes:
        value: The estimate (a mean, a ratio).
        low, high: Interval bounds; None when it cannot be computed (n < 2).
        n: Observations behind it (the smaller sample for a ratio).
    """

    value: float
    low: float | None
    high: float | None
    n: int

    @property
    def half_width(self) -> float | None:
        """Half the interval's width (None without an interval)."""
        if self.low is None or self.high is None:
            return None
        return (self.high - self.low) / 2


def _bound(value: float) -> float | None:
    return None if math.isnan(value) else value


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean. Raises ValueError on no values."""
    if not values:
        raise ValueError("mean of no values")
    return math.fsum(values) / len(values)


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean and its t-interval (no interval with fewer than 2 values).

    Raises:
        ValueError: No values.
    """
    interval = t_interval(list(values), confidence)
    if interval.n == 0:
        raise ValueError("mean of no values")
    return Interval(interval.mean, _bound(interval.low), _bound(interval.high), interval.n)


def ratio_interval(
    numerator: Sequence[float], denominator: Sequence[float], confidence: float = 0.95
) -> Interval:
    """mean(numerator) / mean(denominator) with its interval (independent samples).

    Raises:
        ValueError: An empty sample, or means that are not positive.
    """
    ratio = welch_ratio(list(numerator), list(denominator), confidence)
    if math.isnan(ratio.ratio):
        raise ValueError("a ratio needs two non-empty samples with positive means")
    n = min(ratio.n_treated, ratio.n_reference)
    return Interval(ratio.ratio, _bound(ratio.low), _bound(ratio.high), n)
