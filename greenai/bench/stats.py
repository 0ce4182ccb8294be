"""The few statistics the benchmark summary needs: mean with a t-interval, and the
interval of a ratio of two means (delta method, Welch-Satterthwaite degrees of freedom).

No SciPy: Student's t quantiles come from a table (exact at whole degrees of freedom
1-30, 40, 60, 120) interpolated linearly in 1/df, which is within 0.001 of the true value
in between.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

_DF = (*range(1, 31), 40, 60, 120)
# Two-sided critical values t_{1-(1-c)/2, df} for the df above, then the normal value.
_T: dict[float, tuple[float, ...]] = {
    0.90: (6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812, 1.796, 1.782,
           1.771, 1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711,
           1.708, 1.706, 1.703, 1.701, 1.699, 1.697, 1.684, 1.671, 1.658, 1.645),
    0.95: (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201,
           2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
           2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042, 2.021, 2.000, 1.980, 1.960),
    0.99: (63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169, 3.106,
           3.055, 3.012, 2.977, 2.947, 2.921, 2.898, 2.878, 2.861, 2.845, 2.831, 2.819, 2.807,
           2.797, 2.787, 2.779, 2.771, 2.763, 2.756, 2.750, 2.704, 2.660, 2.617, 2.576),
}  # fmt: skip


def t_quantile(df: float, confidence: float = 0.95) -> float:
    """Two-sided critical value of Student's t (e.g. 2.262 for df=9 at 95%).

    Args:
        df: Degrees of freedom, >= 1 (fractional values are interpolated).
        confidence: 0.90, 0.95 or 0.99.

    Raises:
        ValueError: Another confidence level, or df < 1.
    """
    table = _T.get(round(confidence, 4))
    if table is None:
        raise ValueError(f"confidence {confidence} not tabulated: use 0.90, 0.95 or 0.99")
    if not df >= 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df >= _DF[-1]:  # between 120 and infinity, linear in 1/df
        return float(table[-1] + (table[-2] - table[-1]) * (_DF[-1] / df))
    for i in range(len(_DF) - 1):
        low, high = _DF[i], _DF[i + 1]
        if low <= df <= high:
            weight = (1 / low - 1 / df) / (1 / low - 1 / high)
            return float(table[i] + (table[i + 1] - table[i]) * weight)
    raise AssertionError("unreachable")  # pragma: no cover


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


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean. Raises ValueError on no values."""
    if not values:
        raise ValueError("mean of no values")
    return math.fsum(values) / len(values)


def variance(values: Sequence[float]) -> float:
    """Sample variance (n - 1 denominator); 0 for a single value."""
    if len(values) < 2:
        return 0.0
    centre = mean(values)
    return math.fsum((v - centre) ** 2 for v in values) / (len(values) - 1)


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean and its t-interval (no interval with fewer than 2 values).

    Raises:
        ValueError: No values.
    """
    centre = mean(values)
    n = len(values)
    if n < 2:
        return Interval(centre, None, None, n)
    half = t_quantile(n - 1, confidence) * math.sqrt(variance(values) / n)
    return Interval(centre, centre - half, centre + half, n)


def ratio_interval(
    numerator: Sequence[float], denominator: Sequence[float], confidence: float = 0.95
) -> Interval:
    """Ratio of two means, mean(numerator) / mean(denominator), with a delta-method
    interval: relative standard errors add in quadrature, degrees of freedom by
    Welch-Satterthwaite. Independent samples (different runs) are assumed.

    Raises:
        ValueError: An empty sample, or a denominator mean of zero.
    """
    top, bottom = mean(numerator), mean(denominator)
    if bottom == 0:
        raise ValueError("ratio with a zero denominator mean")
    ratio = top / bottom
    n_top, n_bottom = len(numerator), len(denominator)
    n = min(n_top, n_bottom)
    if n < 2 or top == 0:
        return Interval(ratio, None, None, n)
    u_top = variance(numerator) / (n_top * top**2)
    u_bottom = variance(denominator) / (n_bottom * bottom**2)
    total = u_top + u_bottom
    if total == 0:
        return Interval(ratio, ratio, ratio, n)
    df = total**2 / (u_top**2 / (n_top - 1) + u_bottom**2 / (n_bottom - 1))
    half = t_quantile(max(df, 1.0), confidence) * abs(ratio) * math.sqrt(total)
    return Interval(ratio, ratio - half, ratio + half, n)
