"""Training resumed from a checkpoint: the totals of the sessions before it, carried in
the checkpoint's ``trainer_state.json``, and the figures that continue from them.

Each session (``train()`` call) is a run of its own in the ledger, with its own energy;
a resumed session's run carries the tag ``resumed_from=<id>`` (the run, or for a
multi-rank job the job, that wrote the checkpoint). What the trackers and the log
history receive continues cumulatively: every figure is the earlier sessions' total as
of the checkpoint plus this run's. Work done after the checkpoint by a session that then
died is in that session's own run, not in the continued totals: they are what the
checkpoint's model cost.

The state is plain JSON (the Trainer's ``stateful_callbacks`` mechanism): ``run_id`` and
the cumulative fields below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RESUMED_FROM_TAG = "resumed_from"
"""The tag linking a resumed session's run to the run that wrote its checkpoint."""

SUMMED = (
    "duration_s",
    "energy_j",
    "facility_energy_j",
    "measured_energy_j",
    "emissions_kg",
    "tokens_input",
    "tokens_output",
)
"""The run fields a resumed session continues from (``energy_by_kind`` too, per kind)."""


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)


def totals_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """The cumulative fields of a run record (``Run.to_dict()``), as plain JSON."""
    totals: dict[str, Any] = {key: _number(record.get(key)) for key in SUMMED}
    by_kind = record.get("energy_by_kind") or {}
    totals["energy_by_kind"] = {
        str(kind): {"energy_j": _number(v.get("energy_j")), "method": str(v.get("method"))}
        for kind, v in by_kind.items()
        if isinstance(v, Mapping)
    }
    return totals


def continued(record: Mapping[str, Any], previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """``record`` with the earlier sessions' totals added to its cumulative fields.

    A device kind only one side has keeps its method; one both have keeps this run's.
    """
    if not previous:
        return dict(record)
    out = dict(record)
    before = totals_of(previous)
    for key in SUMMED:
        out[key] = _number(record.get(key)) + before[key]
    for key in ("tokens_input", "tokens_output"):
        out[key] = int(out[key])
    by_kind = {k: dict(v) for k, v in before["energy_by_kind"].items()}
    for kind, value in (record.get("energy_by_kind") or {}).items():
        earlier = by_kind.get(kind, {}).get("energy_j", 0.0)
        by_kind[kind] = {**value, "energy_j": _number(value.get("energy_j")) + earlier}
    out["energy_by_kind"] = by_kind
    return out


def saved_state(link_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """What a checkpoint keeps: the id to link to and the cumulative totals so far."""
    return {"run_id": link_id, **totals_of(record)}


def previous_state(stateful: object, name: str) -> dict[str, Any] | None:
    """The totals a checkpoint's ``stateful_callbacks`` hold for callback ``name``.

    Args:
        stateful: ``TrainerState.stateful_callbacks`` (a dict once loaded from JSON).
        name: The callback's class name (the key the Trainer saves it under).

    Returns:
        The saved state (``run_id`` and totals), or None when the checkpoint has none.
    """
    if not isinstance(stateful, Mapping):
        return None
    entry = stateful.get(name)
    if isinstance(entry, list):
        entry = entry[0] if entry else None
    if not isinstance(entry, Mapping):
        return None
    attributes = entry.get("attributes")
    saved = attributes.get("resume_state") if isinstance(attributes, Mapping) else None
    if not isinstance(saved, Mapping) or not isinstance(saved.get("run_id"), str):
        return None
    return dict(saved)
