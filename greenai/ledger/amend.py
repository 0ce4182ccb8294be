"""Corrections of a finished run's recorded figures, each a new revision with its reason.

Only what a person may know better than the tracker can be amended (:data:`AMENDABLE`):
how the run is labelled, its PUE and its token counts. A new PUE recomputes the facility
energy, the location-based emissions and the cost where the run recorded a price; the
IT energy the devices measured is never amended. A running run, a multi-rank job and its
parts (recomputed from the parts' records) are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from greenai.errors import ConfigError
from greenai.figures.units import J_PER_KWH, emissions_kg
from greenai.ledger import schema
from greenai.ledger.revisions import RECORDED, revise
from greenai.ledger.run_write import RUN_LOCKS, hold_lock

__all__ = ["AMENDABLE", "Amendment", "amend_run", "parse_changes"]

TEXT = ("project", "phase", "model", "base_model", "technique", "name")
COUNTS = ("tokens_input", "tokens_output")
AMENDABLE = (*TEXT, "pue", *COUNTS)
MAX_PUE = 10.0


@dataclass(frozen=True)
class Amendment:
    """What an amendment changed.

    Attributes:
        run_id: The run.
        changes: Column -> (before, after), for every column it changed.
        revision: The revision it made (None: nothing changed).
    """

    run_id: str
    changes: dict[str, tuple[Any, Any]]
    revision: int | None


def _refuse(key: str, value: str, accepted: str) -> ConfigError:
    return ConfigError(key, value, accepted)


def parse_changes(pairs: list[str]) -> dict[str, Any]:
    """``["pue=1.4", "project=chat"]`` -> checked values.

    Raises:
        ConfigError: Not KEY=VALUE, a key that cannot be amended, or a bad value.
    """
    changes: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep:
            raise _refuse("set", pair, f"KEY=VALUE, KEY one of {', '.join(AMENDABLE)}")
        if key not in AMENDABLE:
            raise _refuse("set", pair, f"a key that can be amended: {', '.join(AMENDABLE)}")
        changes[key] = _value(key, value)
    if not changes:
        raise _refuse("set", "", f"at least one --set KEY=VALUE ({', '.join(AMENDABLE)})")
    return changes


def _value(key: str, text: str) -> Any:
    if key in TEXT:
        limit = int(schema.runs.c[key].type.length or 200)  # type: ignore[attr-defined]
        value = text.strip()
        if not value or len(value) > limit or not value.isprintable():
            raise _refuse(key, text, f"1 to {limit} printable characters")
        return value
    if key == "pue":
        try:
            pue = float(text)
        except ValueError:
            pue = float("nan")
        if not 1.0 <= pue <= MAX_PUE:
            raise _refuse(key, text, f"a number from 1.0 to {MAX_PUE:g}")
        return pue
    if not text.strip().isdigit():
        raise _refuse(key, text, "a whole number, 0 or more")
    return int(text)


def _derived(row: Mapping[str, Any], pue: float) -> dict[str, Any]:
    """The columns a new PUE changes: facility energy, emissions, cost."""
    facility_j = float(row["energy_j"]) * pue
    values: dict[str, Any] = {"pue": pue, "facility_energy_j": facility_j}
    intensity = row.get("intensity_g_per_kwh")
    if intensity is not None:
        values["emissions_kg"] = emissions_kg(facility_j, float(intensity))
    price = row.get("price_per_kwh")
    if price is not None:
        values["cost"] = float(price) * facility_j / J_PER_KWH
    return values


def amend_run(
    conn: Connection, run_id: str, changes: Mapping[str, Any], reason: str, now: datetime
) -> Amendment:
    """Amends a finished run and records the revision (inside a write transaction).

    Raises:
        ConfigError: No such run, a run still running, a multi-rank job or part, or no
            reason.
    """
    if not reason.strip():
        raise _refuse("reason", reason, "why the run is amended (kept with the revision)")
    hold_lock(conn, RUN_LOCKS, run_id)
    runs = schema.runs
    found = conn.execute(sa.select(runs).where(runs.c.id == run_id)).first()
    if found is None:
        raise _refuse("run_id", run_id, "the id of a run in the ledger (greenai runs list)")
    row = dict(found._mapping)
    if row["status"] == "running":
        raise _refuse("run_id", run_id, "a finished run (this one is still running)")
    parts = sa.select(runs.c.id).where(runs.c.parent_run_id == run_id, runs.c.rank.is_not(None))
    if row["rank"] is not None or conn.execute(parts.limit(1)).first() is not None:
        accepted = "a run that is not a multi-rank job or part (their figures come from ranks)"
        raise _refuse("run_id", run_id, accepted)
    values = dict(changes)
    if "pue" in values:
        values.update(_derived(row, float(values["pue"])))
    changed = {k: (row[k], v) for k, v in values.items() if row[k] != v}
    if not changed:
        return Amendment(run_id, {}, None)
    conn.execute(sa.update(runs).where(runs.c.id == run_id).values(**values, updated_at=now))
    said = ", ".join(f"{k} {row[k]!r} -> {v!r}" for k, v in sorted(changes.items()) if k in changed)
    revise(conn, [run_id], now, reason=RECORDED, change_reason=f"amended: {said} ({reason})")
    rev = schema.run_revisions
    number = conn.execute(sa.select(sa.func.max(rev.c.revision)).where(rev.c.id == run_id))
    return Amendment(run_id, changed, int(number.scalar_one()))
