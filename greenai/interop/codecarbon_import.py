"""``greenai import codecarbon``: a CodeCarbon file's runs into the ledger, all or nothing.

Each CodeCarbon run becomes one ledger run, from its latest cumulative row
(:mod:`greenai.interop.codecarbon_latest`). Against what the ledger holds:

- a row whose ``run_id`` is a ledger run's id is that run, exported by greenai and
  coming back: it is left as it is (counted in ``known``);
- a row never replaces a stored run with a longer duration (an older copy of a file
  after the grown one); of equal durations the file's row wins (a re-import with
  another ``--timezone`` corrects the times), unless it would write the stored run
  exactly as it is: then nothing is written (not even ``updated_at``), so importing the
  same file again leaves reports as of any earlier moment unchanged;
- a part that greenai exported (``experiment_id`` ``greenai-part-of:<run_id>``) is
  imported as a part of its parent, so only the parent counts in totals.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any

from greenai.interop.bulk_runs import save_runs
from greenai.interop.codecarbon_ids import ledger_id, parent_of
from greenai.interop.codecarbon_latest import latest_rows
from greenai.interop.codecarbon_reader import Progress, read_codecarbon_rows
from greenai.interop.codecarbon_record import ledger_record, run_id_of
from greenai.interop.codecarbon_row import CodecarbonRow
from greenai.interop.implied_factor import FactorCheck, check_factor
from greenai.interop.stored_runs import StoredRun, stored_runs
from greenai.ledger import Ledger
from greenai.ledger.revisions import IMPORTED
from greenai.ledger.rows import run_row


@dataclass(frozen=True)
class ImportedRuns:
    """What an import did.

    Attributes:
        rows: Rows read.
        runs: Runs written (new or updated).
        known: Runs of the file left as the ledger holds them: greenai's own runs coming
            back from an export, runs stored with a longer duration, or stored as the
            file says already.
    """

    rows: int
    runs: int
    known: int


def known_countries() -> frozenset[str]:
    """ISO 3166-1 alpha-3 codes of the countries in CodeCarbon's factor table."""
    from greenai.emissions.factors import load_table

    return frozenset(load_table().countries())


def import_codecarbon(
    path: Path,
    ledger: Ledger,
    *,
    countries: Collection[str] | None = None,
    zone: tzinfo = UTC,
    on_progress: Progress | None = None,
) -> ImportedRuns:
    """Imports the runs of a CodeCarbon ``emissions.csv`` in one transaction.

    Args:
        path: The file.
        ledger: Where the runs go.
        countries: Accepted country codes (default: :func:`known_countries`).
        zone: Time zone of timestamps written without offset (CodeCarbon writes local
            time without one).
        on_progress: Called after each record with (records read, bytes read).

    Returns:
        Rows read, runs written and runs left as stored.

    Raises:
        CsvImportError: The file is refused; nothing was written.
    """
    accepted = known_countries() if countries is None else countries
    rows = read_codecarbon_rows(path, accepted, zone=zone, on_progress=on_progress)
    latest = latest_rows(rows, run_id_of)  # reads the whole file: refused before writing
    parents = {p for p in (parent_of(r.experiment_id) for r in latest.rows) if p}
    ids = {run_id_of(r) for r in latest.rows} | {r.run_id for r in latest.rows if r.run_id}
    stored = stored_runs(ledger, ids | parents)
    from greenai.emissions.factors import load_table

    table = load_table()
    records = [_record(row, stored, check_factor(row, table)) for row in latest.rows]
    written = [record for record in records if record is not None]
    source = f"CodeCarbon file {path.name}"
    save_runs(
        ledger,
        written,
        reason=IMPORTED.format(source=source),
        change_reason=f"re-imported from {source}: a later row of the run",
    )
    return ImportedRuns(rows=latest.read, runs=len(written), known=len(records) - len(written))


def _record(
    row: CodecarbonRow, stored: dict[str, StoredRun], check: FactorCheck
) -> dict[str, Any] | None:
    """The runs row to write for ``row``, or None when the ledger's run stands."""
    if row.run_id and row.run_id in stored:
        return None  # greenai's own run, exported and coming back
    same = stored.get(run_id_of(row))
    if same is not None and same.duration_s > row.duration_s:
        return None
    parent = parent_of(row.experiment_id)
    parent_id = None if parent is None else parent if parent in stored else ledger_id(parent)
    kept = same.tags if same is not None else None
    record = ledger_record(row, parent_id=parent_id, kept_tags=kept, check=check)
    run: dict[str, Any] = record["run"]
    if same is not None and same.same_as(run_row(run)):
        return None  # the same row again: the stored run, its updated_at included, stands
    return run
