"""The query layer: what the dashboard, the CLI and the reports read, as DataFrames.

Nothing here writes. Overview-style questions read run totals (the ``runs`` table),
never raw samples. Light to import: pandas and SQLAlchemy load with the first reader
used (``greenai.queries.stats`` needs neither).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenai.queries.frames import (
        RunFilter,
        child_runs_frame,
        devices_frame,
        filter_options,
        metrics_frame,
        node_energy_rows,
        runs_frame,
        series_frame,
        windows_frame,
    )

__all__ = [
    "RunFilter",
    "child_runs_frame",
    "devices_frame",
    "filter_options",
    "metrics_frame",
    "node_energy_rows",
    "runs_frame",
    "series_frame",
    "windows_frame",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'greenai.queries' has no attribute {name!r}")
    from greenai.queries import frames

    value = getattr(frames, name)
    globals()[name] = value
    return value
