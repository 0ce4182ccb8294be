"""The query layer: what the dashboard, the CLI and the reports read, as DataFrames.

Nothing here writes. Overview-style questions read run totals (the ``runs`` table),
never raw samples.
"""

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
