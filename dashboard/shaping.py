"""Shaping the query layer's frames for display: group labels, series names, sorting,
local times for time axes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from greenai.figures.periods import Period, zone

SORTS = ("Model", "Mean, low to high", "Mean, high to low", "Runs (n)")
LOWER_IS_BETTER_HINTS = ("loss", "perplexity", "ppl", "error", "wer", "cer", "latency")


def _text(value: Any) -> str:
    return "–" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Adds ``group`` (model · technique, plus hardware when several) and ``series``
    (batch size · sequence length) to a frame with those columns."""
    out = frame.copy()
    if out.empty:
        return out.assign(group=pd.Series(dtype=str), series=pd.Series(dtype=str))
    group = out["model"].map(_text) + " · " + out["technique"].map(_text)
    if "hardware" in out.columns and out["hardware"].map(_text).nunique() > 1:
        group = group + " · " + out["hardware"].map(_text)
    out["group"] = group
    series = "batch " + out["batch_size"].map(_text)
    if "seq_len" in out.columns:
        series = series + " · seq " + out["seq_len"].map(_text)
    out["series"] = series
    return out


def sort_stats(stats: pd.DataFrame, metric: str, how: str) -> pd.DataFrame:
    """Orders group statistics as chosen in :data:`SORTS` (by the mean of ``metric``)."""
    if how == "Mean, low to high":
        return stats.sort_values(f"{metric}_mean", kind="stable", ignore_index=True)
    if how == "Mean, high to low":
        return stats.sort_values(
            f"{metric}_mean", ascending=False, kind="stable", ignore_index=True
        )
    if how == "Runs (n)":
        return stats.sort_values("n", ascending=False, kind="stable", ignore_index=True)
    return stats.reset_index(drop=True)


def savings_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """Adds ``pair``: technique (model vs base model) on its workload, for the savings
    chart."""
    out = frame.copy()
    out["pair"] = workload_labels(out)
    return out


def workload_labels(frame: pd.DataFrame) -> list[str]:
    """``int8 (m-q vs m) · decode · H100 · batch 8 · seq 256`` per row (workload lines'
    keys)."""
    labels = []
    for r in frame.itertuples():
        seq = "" if _text(r.seq_len) == "–" else f" · seq {_text(r.seq_len)}"
        labels.append(
            f"{_text(r.technique)} ({_text(r.model)} vs {_text(r.base_model)}) · "
            f"{_text(r.workload)} · {_text(r.hardware)} · batch {_text(r.batch_size)}{seq}"
        )
    return labels


def higher_is_better(metric_name: str) -> bool:
    """A guess from the name: losses, perplexities, error rates and latencies go down."""
    name = metric_name.lower()
    return not any(hint in name for hint in LOWER_IS_BETTER_HINTS)


INTERVALS: dict[str, str] = {
    "welch": "Welch (delta method)",
    "bootstrap": "Bootstrap (4,000 resamples, seed 0)",
}


def run_labels(runs: pd.DataFrame, limit: int = 2000) -> dict[str, str]:
    """Run id -> "start · project · model · id" for the newest ``limit`` runs, newest first."""
    newest = runs.iloc[::-1].head(limit)
    return {
        str(r.id): f"{pd.Timestamp(str(r.started_at)):%Y-%m-%d %H:%M} · {_text(r.project)} · "
        f"{_text(r.model)} · {r.id}"
        for r in newest.itertuples()
    }


STEPS = {"day": "D", "week": "W", "month": "MS"}


def bucket_step(period: Period) -> str:
    """The chart's time unit for the period's slices (``D``, ``W`` or ``MS``)."""
    return STEPS[period.slicing]


def wall_clock(moment: datetime) -> pd.Timestamp:
    """A local time as the same wall-clock time labelled UTC, so that a chart with UTC
    time units shows local days."""
    return pd.Timestamp(moment.replace(tzinfo=None)).tz_localize("UTC")


def local_times(series: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """``series`` with its ``period`` instants (aware UTC) as local wall-clock times."""
    if series.empty:
        return series
    local = pd.to_datetime(series["period"], utc=True).dt.tz_convert(zone(timezone))
    return series.assign(period=local.dt.tz_localize(None).dt.tz_localize("UTC"))
