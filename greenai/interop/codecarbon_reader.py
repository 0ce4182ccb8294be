"""Reads CodeCarbon's emissions.csv as a stream of checked rows, each with its line.

Memory stays at one record (plus the first few problems): the file is never loaded whole.
The reader refuses, with the line and column of each problem: a binary or non-UTF-8 file
(a BOM is fine), text that is not CSV, a header without CodeCarbon's required columns or
with a column twice, a record with more or fewer cells than the header, and every cell
that :func:`~greenai.interop.codecarbon_row.validate_row` refuses. Blank lines are skipped;
columns greenai does not import are ignored, whatever they hold.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, tzinfo
from pathlib import Path
from typing import BinaryIO

from greenai.interop.codecarbon_columns import REQUIRED_COLUMNS
from greenai.interop.codecarbon_row import CodecarbonRow, validate_row
from greenai.interop.problems import Problem, ProblemLog, UnreadableFileError
from greenai.interop.text_lines import TextLines

Progress = Callable[[int, int], None]
"""Called after each record with (records read, bytes read)."""


def read_codecarbon_rows(
    path: Path,
    countries: Collection[str],
    *,
    zone: tzinfo = UTC,
    on_progress: Progress | None = None,
) -> Iterator[CodecarbonRow]:
    """The checked rows of a CodeCarbon file, in file order.

    Rows are yielded while every record so far is valid. After the first problem the
    rest of the file is still read, to find the other problems, but no row is yielded;
    at the end CsvImportError names them. A caller that writes the rows in one
    transaction therefore writes all of them or, rolled back by the error, none.

    Args:
        path: The file.
        countries: ISO 3166-1 alpha-3 codes accepted in ``country_iso_code``.
        zone: The time zone of a timestamp written without offset (CodeCarbon's
            ``datetime.now()``: the tracking machine's local time).
        on_progress: Called after each record with (records read, bytes read).

    Raises:
        CsvImportError: The file cannot be read, or has problems (the first few named).
    """
    log = ProblemLog()
    try:
        with path.open("rb") as stream:
            yield from _rows(stream, countries, zone, log, on_progress)
    except OSError as exc:
        log.add(Problem(None, f"cannot read the file: {exc.strerror or exc}"))
    log.raise_if_any(str(path))


def _rows(
    stream: BinaryIO,
    countries: Collection[str],
    zone: tzinfo,
    log: ProblemLog,
    on_progress: Progress | None,
) -> Iterator[CodecarbonRow]:
    lines = TextLines(stream)
    records = csv.reader(lines, strict=True)
    positions: dict[str, int] | None = None
    width = count = 0
    while True:
        start = lines.line + 1
        try:
            cells = next(records, None)
        except UnreadableFileError as exc:
            log.add(exc.problem)
            return
        except csv.Error as exc:
            log.add(Problem(start, f"not CSV: {exc}"))
            return
        if cells is None:
            break
        count += 1
        if on_progress is not None:
            on_progress(count, lines.bytes_read)
        if not any(cell.strip() for cell in cells):
            continue
        if positions is None:
            positions, width = _header(cells, start, log), len(cells)
            if log.count:
                return
            continue
        if len(cells) != width:
            message = f"{len(cells)} cells, the header has {width}"
            log.add(Problem(start, message, min(len(cells), width) + 1))
            continue
        checked = validate_row(cells, positions, start, countries, zone)
        if isinstance(checked, list):
            for problem in checked:
                log.add(problem)
        elif not log.count:
            yield checked
    if positions is None:
        log.add(Problem(1, "an empty file, not CodeCarbon's emissions.csv"))


def _header(cells: list[str], line: int, log: ProblemLog) -> dict[str, int]:
    """Column name -> position; problems for a name given twice or required ones missing."""
    positions: dict[str, int] = {}
    for position, cell in enumerate(cells):
        name = cell.strip()
        if name in positions:
            log.add(Problem(line, f"{name} appears twice in the header", position + 1, name))
        elif name:
            positions[name] = position
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    if missing:
        message = f"not CodeCarbon's emissions.csv: missing columns {', '.join(missing)}"
        log.add(Problem(line, message))
    return positions
