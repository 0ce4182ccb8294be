"""Revisions of a report's configuration (table ``report_inputs``), append-only.

A report in the present records its configuration when it differs from the latest
revision, at the report's as-of second; a report as of any time uses the revision held
then, so changing the configuration later leaves past reports as they were.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from greenai.ledger import schema

__all__ = ["HeldInputs", "held_inputs", "inputs_sha256", "record_inputs", "unrecorded"]

FIRST = "first used by a report"
CHANGED = "changed since revision {number}"
EARLIEST = "none recorded by the as-of time: the earliest revision recorded"
UNRECORDED = "not recorded ({why}): the configuration in effect now"


@dataclass(frozen=True)
class HeldInputs:
    """The configuration a report uses.

    Attributes:
        content: The configuration (plain JSON values).
        revision: Its revision (None: not recorded).
        sha256: SHA-256 of its canonical JSON.
        note: How it was chosen, when not simply the revision held at the as-of time.
    """

    content: dict[str, Any]
    revision: int | None
    sha256: str
    note: str | None = None


def inputs_sha256(content: Mapping[str, Any]) -> str:
    """SHA-256 of ``content`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_inputs(
    conn: Connection, name: str, content: Mapping[str, Any], now: datetime, as_of: datetime
) -> None:
    """Records ``content`` as the next revision when the report is in the present and it
    changed, or when none was ever recorded (inside the caller's write transaction).

    Args:
        conn: A connection in a write transaction.
        name: Which configuration (one name per kind of report).
        content: The configuration in effect now (plain JSON values).
        now: Ledger time, whole seconds.
        as_of: The report's as-of time, whole seconds: at or after ``now`` the report is in
            the present and records a change; before, it reads the past and records
            nothing, unless nothing was ever recorded (the first revision is then the
            earliest evidence, used until one held at the as-of time exists).
    """
    table = schema.report_inputs
    plain = _plain(content)
    digest = inputs_sha256(plain)
    query = sa.select(table).where(table.c.name == name)
    latest = conn.execute(query.order_by(table.c.revision.desc()).limit(1)).first()
    if latest is None or (as_of >= now and latest.sha256 != digest):
        number = 1 if latest is None else int(latest.revision) + 1
        reason = FIRST if latest is None else CHANGED.format(number=latest.revision)
        values = {"name": name, "revision": number, "sha256": digest, "content": plain,
                  "recorded_at": now, "reason": reason}  # fmt: skip
        conn.execute(sa.insert(table), values)


def held_inputs(
    conn: Connection, name: str, content: Mapping[str, Any], as_of: datetime
) -> HeldInputs:
    """The revision held at ``as_of``; before the first one, the first; with none recorded
    (a read-only ledger), ``content`` itself."""
    table = schema.report_inputs
    query = sa.select(table).where(table.c.name == name)
    held = conn.execute(
        query.where(table.c.recorded_at <= as_of).order_by(table.c.revision.desc()).limit(1)
    ).first()
    note = None
    if held is None:
        held = conn.execute(query.order_by(table.c.revision).limit(1)).first()
        note = EARLIEST
    if held is None:
        return unrecorded(content, "none in the ledger")
    return HeldInputs(dict(held.content), int(held.revision), str(held.sha256), note)


def unrecorded(content: Mapping[str, Any], why: str) -> HeldInputs:
    """``content`` itself, not recorded for the reason ``why``."""
    plain = _plain(content)
    return HeldInputs(plain, None, inputs_sha256(plain), UNRECORDED.format(why=why))


def _plain(content: Mapping[str, Any]) -> dict[str, Any]:
    """``content`` as it comes back from a JSON column."""
    plain: dict[str, Any] = json.loads(json.dumps(content))
    return plain
