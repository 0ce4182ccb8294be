"""What the ledger already holds of the runs an import is about to write."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from greenai.ledger import Ledger, schema

LOOKUP_BATCH = 500
"""Ids per query (well under every database's limit on bound parameters)."""


@dataclass(frozen=True)
class StoredRun:
    """A run already in the ledger.

    Attributes:
        duration_s: Its duration, s.
        tags: Its tags.
    """

    duration_s: float
    tags: Mapping[str, Any]


def stored_runs(ledger: Ledger, ids: Collection[str]) -> dict[str, StoredRun]:
    """The runs of ``ids`` that the ledger holds, by id."""
    runs = schema.runs
    wanted = sorted(set(ids))
    found: dict[str, StoredRun] = {}
    with ledger.read() as conn:
        for start in range(0, len(wanted), LOOKUP_BATCH):
            batch = wanted[start : start + LOOKUP_BATCH]
            query = sa.select(runs.c.id, runs.c.duration_s, runs.c.tags).where(runs.c.id.in_(batch))
            for run_id, duration_s, tags in conn.execute(query):
                found[run_id] = StoredRun(float(duration_s or 0.0), dict(tags or {}))
    return found
