"""A progress bar for ``greenai import``: bytes of the file read, rows and rows per second.

Shown on stderr when it is a terminal; nothing at all otherwise (pipes, cron, CI logs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from greenai.cli.console import table_console

UPDATE_EVERY_ROWS = 64
"""The bar is redrawn from its own thread; telling it every row would only cost time."""


def rows_text(rows: int, elapsed_s: float | None) -> str:
    """``12,345 rows, 9,876 rows/s`` (no rate before any time has passed)."""
    rate = f", {rows / elapsed_s:,.0f} rows/s" if elapsed_s else ""
    return f"{rows:,} rows{rate}"


def _rows_column() -> Any:
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class RowsColumn(ProgressColumn):
        """Rows read so far and rows per second."""

        def render(self, task: Task) -> Text:
            return Text(rows_text(int(task.fields.get("rows", 0)), task.elapsed))

    return RowsColumn()


@contextmanager
def import_progress(
    label: str, total_bytes: int, console: Any = None
) -> Iterator[Callable[[int, int], None]]:
    """A callback ``(rows, bytes_read)`` that drives the bar while the block runs.

    Args:
        label: What is imported (the file name).
        total_bytes: The file's size, bytes.
        console: A ``rich.console.Console``; default the CLI's console on stderr
            (:func:`greenai.cli.console.table_console`). Not a terminal: the callback
            does nothing and nothing is printed.
    """
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    console = console if console is not None else table_console(stderr=True)
    if not console.is_terminal:
        yield lambda _rows, _bytes: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
    with Progress(*columns, _rows_column(), console=console) as progress:
        task = progress.add_task(label, total=max(total_bytes, 1), rows=0)
        last = [0, 0]

        def update(rows: int, bytes_read: int) -> None:
            last[:] = rows, bytes_read
            if rows % UPDATE_EVERY_ROWS == 0:
                progress.update(task, completed=bytes_read, rows=rows)

        yield update
        progress.update(task, completed=last[1], rows=last[0])
