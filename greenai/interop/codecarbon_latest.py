"""One row per CodeCarbon run: its latest cumulative one.

CodeCarbon's ``flush()`` appends the run's totals so far and ``stop()`` the final ones,
under one ``run_id``; ``on_csv_write="update"`` rewrites the file with the run's row
last. The latest row is the last in file order (timestamps are local wall-clock time,
which a DST change turns back); of rows with the same end time, the longest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from greenai.interop.codecarbon_row import CodecarbonRow


@dataclass(frozen=True)
class LatestRows:
    """The rows kept from a file.

    Attributes:
        rows: One row per run, in the order the runs first appear.
        read: Rows read in all.
    """

    rows: list[CodecarbonRow]
    read: int


def supersedes(later: CodecarbonRow, kept: CodecarbonRow) -> bool:
    """Whether ``later`` (after ``kept`` in the file, same run) is the run's latest row."""
    return later.ended_at != kept.ended_at or later.duration_s >= kept.duration_s


def latest_rows(rows: Iterable[CodecarbonRow], key: Callable[[CodecarbonRow], str]) -> LatestRows:
    """The latest row of each run of ``rows`` (file order), runs told apart by ``key``.

    Memory: one row per run.
    """
    kept: dict[str, CodecarbonRow] = {}
    read = 0
    for row in rows:
        read += 1
        run = key(row)
        if run not in kept or supersedes(row, kept[run]):
            kept[run] = row
    return LatestRows(list(kept.values()), read)
