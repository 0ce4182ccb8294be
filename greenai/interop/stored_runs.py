"""What the ledger already holds of the runs an import is about to write."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from greenai.ledger import Ledger, schema

STAMPS = ("created_at", "updated_at")
"""Columns the ledger sets on every write, not part of what a run says."""
LOOKUP_BATCH = 500
"""Ids per query (well under every database's limit on bound parameters)."""


@dataclass(frozen=True)
class StoredRun:
    """A run already in the ledger.

    Attributes:
        duration_s: Its duration, s.
        tags: Its tags.
        row: Its whole runs row, as stored.
    """

    duration_s: float
    tags: Mapping[str, Any]
    row: Mapping[str, Any]

    def same_as(self, row: Mapping[str, Any]) -> bool:
        """Whether writing ``row`` (a complete runs row, :func:`greenai.ledger.rows.run_row`)
        would change nothing but the ledger's own timestamps."""
        return all(self.row.get(key) == value for key, value in row.items() if key not in STAMPS)


def stored_runs(ledger: Ledger, ids: Collection[str]) -> dict[str, StoredRun]:
    """The runs of ``ids`` that the ledger holds, by id."""
    runs = schema.runs
    wanted = sorted(set(ids))
    found: dict[str, StoredRun] = {}
    with ledger.read() as conn:
        for start in range(0, len(wanted), LOOKUP_BATCH):
            batch = wanted[start : start + LOOKUP_BATCH]
            query = sa.select(runs).where(runs.c.id.in_(batch))
            for row in conn.execute(query).mappings():
                found[row["id"]] = StoredRun(
                    float(row["duration_s"] or 0.0), dict(row["tags"] or {}), dict(row)
                )
    return found
