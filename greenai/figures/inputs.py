"""What a report reads from the ledger: root runs, the power series of runs that cross a
boundary, and node-level energy. Runs and series are read through :mod:`greenai.queries`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from greenai.figures.tiers import tier_seconds

if TYPE_CHECKING:
    from greenai.ledger import Ledger

__all__ = ["NODE_COLUMNS", "SERIES_COLUMNS", "ReportInputs", "load_inputs"]

SERIES_COLUMNS = ["ts_s", "bucket_s", "energy_j"]
NODE_COLUMNS = ["host_id", "device_id", "kind", "method", "start_s", "end_s", "energy_j"]
DEFAULT_TIERS = ("1s", "1m", "1h")
LOOKBACK_DAYS = 366
"""Runs that started this long before the window are not read (none lasts a year)."""


@dataclass(frozen=True)
class ReportInputs:
    """Everything a report is computed from.

    Attributes:
        runs: Root runs (every column of the runs table) that may touch the window,
            sorted by started_at then id.
        series: Run id -> power series of runs crossing a boundary (columns
            :data:`SERIES_COLUMNS`: bucket start and length in epoch seconds, J in it).
        nodes: Node-level energy rows (columns :data:`NODE_COLUMNS`).
        ledger_id: The ledger's own id, when it has one.
    """

    runs: pd.DataFrame
    series: dict[str, pd.DataFrame] = field(default_factory=dict)
    nodes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=NODE_COLUMNS))
    ledger_id: str | None = None


def span_end(row: Mapping[Any, Any]) -> datetime:
    """When a run's energy stops counting: its end, else its last heartbeat, else its start
    plus its duration (never before its start)."""
    start = as_datetime(row["started_at"])
    assert start is not None  # started_at is NOT NULL in the schema
    for key in ("ended_at", "heartbeat_at"):
        moment = as_datetime(row.get(key))
        if moment is not None:
            return max(moment, start)
    return start + pd.Timedelta(seconds=float(row.get("duration_s") or 0.0))


def as_datetime(value: object) -> datetime | None:
    """A ledger timestamp as a datetime; None for a missing one (None, NaT, NaN)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float):  # NaN
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, datetime):
        return value
    return None


def load_inputs(
    ledger: Ledger,
    *,
    window_start: datetime,
    window_end: datetime,
    boundaries: Iterable[datetime],
    projects: Sequence[str],
    as_of: datetime,
    tiers: Sequence[str] = DEFAULT_TIERS,
) -> ReportInputs:
    """Reads the runs touching ``[window_start, window_end)`` and what splitting them needs.

    Args:
        ledger: The ledger.
        window_start, window_end: The union of the periods compared (aware).
        boundaries: Every period boundary: runs crossing one get their series read.
        projects: Only these projects (empty: all).
        as_of: Only rows the ledger held at that time.
        tiers: Series tiers to read (with the default ones, finest to coarsest).

    Runs are read from :data:`LOOKBACK_DAYS` before the window, so that a run that started
    before the window and ran into it is split, not lost.
    """
    from greenai.queries import RunFilter, runs_frame

    flt = RunFilter(
        start=window_start - timedelta(days=LOOKBACK_DAYS),
        end=window_end,
        projects=tuple(projects),
        root_only=True,
        as_of=as_of,
        active_at=window_start,
    )
    runs = runs_frame(ledger, flt)
    spans = _spans(runs)
    keep = [end > window_start or start >= window_start for start, end in spans]
    runs = runs[pd.Series(keep, index=runs.index, dtype=bool)]
    order = runs.sort_values(["started_at", "id"], kind="stable").index  # positions: a fresh frame
    spans = [spans[i] for i in order]
    runs = runs.loc[order].reset_index(drop=True)
    crossing = _crossing_ids(runs, spans, list(boundaries))
    series = {run_id: _series(ledger, run_id, tiers) for run_id in crossing}
    nodes = pd.DataFrame(columns=NODE_COLUMNS)
    if not projects:  # node energy belongs to no project
        nodes = node_energy_frame(ledger, window_start, window_end, as_of)
    return ReportInputs(runs, series, nodes, ledger.get_meta("ledger_id"))


def _spans(runs: pd.DataFrame) -> list[tuple[datetime, datetime]]:
    """Each run's start and :func:`span_end`, in row order (positions of ``runs``)."""
    columns = [c for c in ("started_at", "ended_at", "heartbeat_at", "duration_s") if c in runs]
    spans = []
    for row in runs[columns].to_dict("records"):
        start = as_datetime(row["started_at"])
        assert start is not None  # started_at is NOT NULL in the schema
        spans.append((start, span_end(row)))
    return spans


def _crossing_ids(
    runs: pd.DataFrame, spans: Sequence[tuple[datetime, datetime]], boundaries: list[datetime]
) -> list[str]:
    found = [
        str(run_id)
        for run_id, (start, end) in zip(runs["id"], spans, strict=True)
        if any(start < b < end for b in boundaries)
    ]
    return sorted(found)


def _series(ledger: Ledger, run_id: str, tiers: Sequence[str]) -> pd.DataFrame:
    """A run's series over every tier (compaction moves buckets, so tiers never overlap)."""
    from greenai.queries import series_frame

    parts = []
    for tier in sorted(set(tiers) | set(DEFAULT_TIERS), key=tier_seconds):
        frame = series_frame(ledger, run_id, tier)
        if not len(frame):
            continue
        bucket_s = float(tier_seconds(tier))
        energy = [
            float(p) * bucket_s if e is None or math.isnan(float(e)) else float(e)
            for e, p in zip(frame["energy_j"], frame["power_w"], strict=True)
        ]
        parts.append(
            pd.DataFrame(
                {
                    "ts_s": [as_datetime(t).timestamp() for t in frame["ts"]],  # type: ignore[union-attr]
                    "bucket_s": bucket_s,
                    "energy_j": energy,
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    merged = pd.concat(parts, ignore_index=True)
    return merged.sort_values(["ts_s", "bucket_s"], kind="stable").reset_index(drop=True)


def node_energy_frame(
    ledger: Ledger, start: datetime, end: datetime, as_of: datetime
) -> pd.DataFrame:
    """Node-level energy rows overlapping ``[start, end)`` that ended by ``as_of``."""
    from greenai.queries import node_energy_rows

    rows = node_energy_rows(ledger, start, end, as_of)
    return pd.DataFrame(
        [
            {
                "host_id": r["host_id"],
                "device_id": r["device_id"],
                "kind": r["kind"],
                "method": r["method"],
                "start_s": r["start_at"].timestamp(),
                "end_s": r["end_at"].timestamp(),
                "energy_j": float(r["energy_j"]),
            }
            for r in rows
        ],
        columns=NODE_COLUMNS,
    )
