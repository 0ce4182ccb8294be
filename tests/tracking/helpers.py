"""Helpers for tracking tests: real CPU work, and reading back what the ledger holds."""

from __future__ import annotations

import time
from typing import Any

from greenai.ledger import Ledger


def burn_cpu(seconds: float) -> int:
    """Busy work on this thread for ``seconds`` (CPU time, not sleep)."""
    end = time.process_time() + seconds
    n = 0
    while time.process_time() < end:
        n += sum(i * i for i in range(500))
    return n


def stored(run_id: str, url: str | None = None) -> dict[str, Any]:
    """The ledger's record of a run (fails the test when absent)."""
    ledger = Ledger.open(url)
    try:
        record = ledger.get_run(run_id)
    finally:
        ledger.close()
    assert record is not None, f"run {run_id} not in the ledger"
    return record
