"""Helpers for tracking tests: real CPU work, and reading back what the ledger holds."""

from __future__ import annotations

import time
from typing import Any

from greenai.ledger import Ledger
from greenai.tracking.writer import flush_all


def burn_cpu(seconds: float) -> int:
    """Busy work on this thread for ``seconds`` (CPU time, not sleep)."""
    end = time.process_time() + seconds
    n = 0
    while time.process_time() < end:
        n += sum(i * i for i in range(500))
    return n


def stored(run_id: str, url: str | None = None) -> dict[str, Any]:
    """The ledger's record of a run once the writer is done (fails the test when absent;
    a busy machine may take longer than the final record's wait in ``stop``)."""
    flush_all(timeout_s=60.0)
    ledger = Ledger.open(url)
    try:
        record = ledger.get_run(run_id)
    finally:
        ledger.close()
    assert record is not None, f"run {run_id} not in the ledger"
    return record
