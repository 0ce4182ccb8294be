"""Reading back what the ledger holds, once the background writer is done."""

from __future__ import annotations

from typing import Any

from greenai.tracking.writer import flush_all
from tests.tracking import helpers


def stored(run_id: str, url: str | None = None) -> dict[str, Any]:
    """The ledger's record of a run, after every queued record is written (a busy
    machine may take longer than the final write's wait)."""
    flush_all(timeout_s=60.0)
    return helpers.stored(run_id, url)
