"""Records that reached only stderr (the journal could not be written), read back.

The shipper prints such a record as one line, ``greenai: unsaved run record: {json}`` or
``greenai: unsaved series rows: [json]``; ``greenai sync --from-stderr FILE`` finds those
lines among whatever else the job printed and writes them to the ledger (run records are
idempotent upserts, series rows are skipped when present, so a file read twice is fine).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from greenai.ledger.sink import RUN_PREFIX, SERIES_PREFIX
from greenai.ledger.spool import decode_record, decode_row

if TYPE_CHECKING:
    from greenai.ledger.ledger import Ledger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StderrImport:
    """What a stderr file gave: run records and series batches written, lines refused."""

    runs: int
    series: int
    refused: int


def import_stderr_records(path: Path, ledger: Ledger) -> StderrImport:
    """Writes every record line of ``path`` to ``ledger``; other lines are ignored.

    A record line that does not parse is refused with a warning naming its line.

    Raises:
        OSError: The file cannot be read.
        sqlalchemy.exc.SQLAlchemyError: The ledger failed (what was written stays).
    """
    runs = series = refused = 0
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            text = line.rstrip("\n")
            start = text.find("greenai: unsaved ")
            if start < 0:
                continue
            text = text[start:]
            try:
                if text.startswith(RUN_PREFIX):
                    ledger.save_run(decode_record(json.loads(text[len(RUN_PREFIX) :])))
                    runs += 1
                elif text.startswith(SERIES_PREFIX):
                    rows = json.loads(text[len(SERIES_PREFIX) :])
                    ledger.add_series([decode_row("series", row) for row in rows])
                    series += 1
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                log.warning("%s, line %d: not a greenai record (%s); skipped", path, number, exc)
                refused += 1
    return StderrImport(runs, series, refused)
