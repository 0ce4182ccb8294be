"""The share of a run that falls in a period.

A run inside the period counts whole. A run crossing a boundary is split by its stored power
series where one is stored (the share of the series' energy whose buckets fall in the
period; a bucket cut by the boundary counts pro rata by time), else pro rata by time.
Tokens, emissions, water and cost follow the same share as energy. A run of zero length
counts whole in the period holding its start.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = ["SPLIT_NONE", "SPLIT_SERIES", "SPLIT_TIME", "period_shares", "run_share"]

SPLIT_NONE = "none"
SPLIT_SERIES = "power_series"
SPLIT_TIME = "time"


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def series_share(series: pd.DataFrame, start_s: float, end_s: float) -> float | None:
    """Share of a series' energy inside ``[start_s, end_s)``; None when it holds no energy."""
    total = 0.0
    inside = 0.0
    for ts, bucket, energy in zip(
        series["ts_s"], series["bucket_s"], series["energy_j"], strict=True
    ):
        value = max(float(energy), 0.0)
        total += value
        if bucket > 0:
            inside += value * _overlap(ts, ts + bucket, start_s, end_s) / bucket
    if total <= 0.0:
        return None
    return min(inside / total, 1.0)


def run_share(
    span_start_s: float,
    span_end_s: float,
    start_s: float,
    end_s: float,
    series: pd.DataFrame | None = None,
) -> tuple[float, str]:
    """The share of a run in ``[start_s, end_s)`` and how it was found.

    Args:
        span_start_s, span_end_s: The run's start and end, epoch seconds.
        start_s, end_s: The period, epoch seconds.
        series: The run's power series (columns ts_s, bucket_s, energy_j), if stored.

    Returns:
        ``(share in [0, 1], method)``: method :data:`SPLIT_NONE` when the run is wholly in
        or out, else :data:`SPLIT_SERIES` or :data:`SPLIT_TIME`.
    """
    if span_end_s <= span_start_s:
        inside = start_s <= span_start_s < end_s
        return (1.0 if inside else 0.0), SPLIT_NONE
    if span_start_s >= start_s and span_end_s <= end_s:
        return 1.0, SPLIT_NONE
    overlap = _overlap(span_start_s, span_end_s, start_s, end_s)
    if overlap <= 0.0:
        return 0.0, SPLIT_NONE
    if series is not None and len(series):
        share = series_share(series, start_s, end_s)
        if share is not None:
            return share, SPLIT_SERIES
    return overlap / (span_end_s - span_start_s), SPLIT_TIME


def period_shares(
    lines: pd.DataFrame,
    start_s: float,
    end_s: float,
    series: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """Every run line's share in a period.

    Args:
        lines: Run lines with ``id``, ``start_s`` and ``end_s``.
        start_s, end_s: The period, epoch seconds.
        series: Run id -> stored power series.

    Returns:
        A frame aligned with ``lines``: ``share`` and ``split_method``.
    """
    shares: list[float] = []
    methods: list[str] = []
    for run_id, span_start, span_end in zip(
        lines["id"], lines["start_s"], lines["end_s"], strict=True
    ):
        share, method = run_share(span_start, span_end, start_s, end_s, series.get(run_id))
        shares.append(share)
        methods.append(method)
    return pd.DataFrame({"share": shares, "split_method": methods}, index=lines.index)
