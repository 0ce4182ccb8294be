"""``greenai import codecarbon``: a CodeCarbon file's rows into the ledger, all or nothing."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from greenai.interop.bulk_runs import SavedRuns, save_runs
from greenai.interop.codecarbon_reader import Progress, read_codecarbon_rows
from greenai.interop.codecarbon_record import ledger_record
from greenai.ledger import Ledger


def known_countries() -> frozenset[str]:
    """ISO 3166-1 alpha-3 codes of the countries in CodeCarbon's factor table."""
    from greenai.emissions.factors import load_table

    return frozenset(load_table().countries())


def import_codecarbon(
    path: Path,
    ledger: Ledger,
    *,
    countries: Collection[str] | None = None,
    on_progress: Progress | None = None,
) -> SavedRuns:
    """Imports every row of a CodeCarbon ``emissions.csv`` in one transaction.

    Args:
        path: The file.
        ledger: Where the runs go.
        countries: Accepted country codes (default: :func:`known_countries`).
        on_progress: Called after each record with (records read, bytes read).

    Returns:
        Rows read and distinct runs written (re-imported rows update their runs).

    Raises:
        CsvImportError: The file is refused; nothing was written.
    """
    accepted = known_countries() if countries is None else countries
    rows = read_codecarbon_rows(path, accepted, on_progress=on_progress)
    return save_runs(ledger, (ledger_record(row)["run"] for row in rows))
