"""Reading back what the ledger holds, once the background writer is done."""

from __future__ import annotations

from tests.tracking.helpers import stored

__all__ = ["stored"]
