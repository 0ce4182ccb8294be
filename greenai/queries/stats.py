"""Small-sample statistics for honest comparisons: t-intervals and ratio intervals.

Pure functions (NumPy only). Student's t quantiles come from the regularized incomplete
beta function, so no SciPy is needed; they match published tables to 1e-9.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np

_EPS = 1e-15
_TINY = 1e-300


def _beta_cf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        for num in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                    -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):  # fmt: skip
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + num / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b) for 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
        + a * math.log(x) + b * math.log1p(-x)
    )  # fmt: skip
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_cf(a, b, x) / a
    return 1.0 - front * _beta_cf(b, a, 1.0 - x) / b


def t_cdf(x: float, df: float) -> float:
    """Cumulative distribution function of Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + x * x))
    return 1.0 - tail if x > 0 else tail


@lru_cache(maxsize=4096)
def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t (``df`` may be fractional, as in Welch's test).

    Args:
        p: Probability in (0, 1).
        df: Degrees of freedom (> 0); ``inf`` gives the normal quantile.

    Raises:
        ValueError: ``p`` outside (0, 1) or ``df`` not positive.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if not df > 0:
        raise ValueError(f"df must be positive, got {df}")
    if math.isinf(df) or df > 1e7:
        return NormalDist().inv_cdf(p)
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    found = _newton(p, df)
    return found if found is not None else _bisect(p, df)


def _t_pdf(x: float, df: float) -> float:
    log_pdf = (
        math.lgamma((df + 1.0) / 2.0) - math.lgamma(df / 2.0) - 0.5 * math.log(df * math.pi)
        - (df + 1.0) / 2.0 * math.log1p(x * x / df)
    )  # fmt: skip
    return math.exp(log_pdf)


def _newton(p: float, df: float) -> float | None:
    """Newton's method from a Cornish-Fisher start; None if it does not settle."""
    z = NormalDist().inv_cdf(p)
    x = z + (z**3 + z) / (4.0 * df) + (5.0 * z**5 + 16.0 * z**3 + 3.0 * z) / (96.0 * df**2)
    for _ in range(60):
        following = x - (t_cdf(x, df) - p) / _t_pdf(x, df)
        if following <= 0.0:
            following = x / 2.0
        if abs(following - x) <= 1e-12 * max(1.0, x):
            return following
        x = following
    return None


def _bisect(p: float, df: float) -> float:
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(200):  # the CDF is monotonic: 200 halvings reach 1e-12
        mid = 0.5 * (low + high)
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * max(1.0, high):
            break
    return 0.5 * (low + high)


@dataclass(frozen=True, slots=True)
class Interval:
    """A mean with its confidence interval.

    Attributes:
        mean: Sample mean.
        low, high: Interval bounds; NaN when fewer than two values.
        n: Number of values.
        std: Sample standard deviation (ddof=1); NaN when fewer than two values.
    """

    mean: float
    low: float
    high: float
    n: int
    std: float


def t_interval(values: np.ndarray | list[float], confidence: float = 0.95) -> Interval:
    """Mean and two-sided Student-t confidence interval of ``values`` (NaNs dropped)."""
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    n = int(data.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, math.nan)
    mean = float(data.mean())
    if n < 2:
        return Interval(mean, math.nan, math.nan, n, math.nan)
    std = float(data.std(ddof=1))
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * std / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n, std)


@dataclass(frozen=True, slots=True)
class RatioInterval:
    """Ratio of two means, ``treated / reference``, with its confidence interval.

    Attributes:
        ratio: mean(treated) / mean(reference).
        low, high: Interval of the ratio; NaN when it cannot be computed.
        n_treated, n_reference: Sample sizes.
    """

    ratio: float
    low: float
    high: float
    n_treated: int
    n_reference: int


def _clean(values: np.ndarray | list[float]) -> np.ndarray:
    data: np.ndarray = np.asarray(values, dtype=float)
    finite: np.ndarray = data[np.isfinite(data)]
    return finite


def welch_ratio(
    treated: np.ndarray | list[float],
    reference: np.ndarray | list[float],
    confidence: float = 0.95,
) -> RatioInterval:
    """Ratio of means with a Welch interval on the log ratio (delta method).

    ``Var(log mean) ~= s^2 / (n mean^2)`` for each group; the degrees of freedom follow
    Welch-Satterthwaite. Needs two positive means and at least two values per group,
    otherwise the bounds are NaN.
    """
    t, r = _clean(treated), _clean(reference)
    nt, nr = int(t.size), int(r.size)
    if nt == 0 or nr == 0 or t.mean() <= 0 or r.mean() <= 0:
        return RatioInterval(math.nan, math.nan, math.nan, nt, nr)
    mt, mr = float(t.mean()), float(r.mean())
    ratio = mt / mr
    if nt < 2 or nr < 2:
        return RatioInterval(ratio, math.nan, math.nan, nt, nr)
    a = float(t.var(ddof=1)) / (nt * mt * mt)
    b = float(r.var(ddof=1)) / (nr * mr * mr)
    if a + b == 0.0:
        return RatioInterval(ratio, ratio, ratio, nt, nr)
    df = (a + b) ** 2 / (a * a / (nt - 1) + b * b / (nr - 1))
    half = t_quantile(0.5 + confidence / 2.0, df) * math.sqrt(a + b)
    log_ratio = math.log(ratio)
    return RatioInterval(ratio, math.exp(log_ratio - half), math.exp(log_ratio + half), nt, nr)


def bootstrap_ratio(
    treated: np.ndarray | list[float],
    reference: np.ndarray | list[float],
    confidence: float = 0.95,
    *,
    resamples: int = 4000,
    seed: int = 0,
) -> RatioInterval:
    """Ratio of means with a percentile bootstrap interval (fixed seed: reproducible)."""
    t, r = _clean(treated), _clean(reference)
    nt, nr = int(t.size), int(r.size)
    if nt == 0 or nr == 0 or r.mean() <= 0:
        return RatioInterval(math.nan, math.nan, math.nan, nt, nr)
    ratio = float(t.mean() / r.mean())
    if nt < 2 or nr < 2:
        return RatioInterval(ratio, math.nan, math.nan, nt, nr)
    rng = np.random.default_rng(seed)
    t_means = rng.choice(t, size=(resamples, nt), replace=True).mean(axis=1)
    r_means = rng.choice(r, size=(resamples, nr), replace=True).mean(axis=1)
    ratios = t_means / np.where(r_means > 0, r_means, np.nan)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.nanpercentile(ratios, [tail, 100.0 - tail])
    return RatioInterval(ratio, float(low), float(high), nt, nr)
