"""Which run a CodeCarbon row is: the ids that export and import share, one home.

CodeCarbon's ``run_id`` names a tracker's run; its ``flush()`` and ``stop()`` rows (and
a task file's rows, per ``task_name``) share it and carry running totals. An imported
run's ledger id is derived from that id (and the task), so every row of a run, in any
file or import, lands on one ledger run. A row without ``run_id`` is its own run, keyed
by its timestamp and project as written.

On export a run keeps the CodeCarbon id it was imported under (greenai's own runs use
their ledger id), and a child run or rank part says whose part it is in
``experiment_id``: ``greenai-part-of:<the parent's exported run_id>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

PART_MARK = "greenai-part-of:"
"""Start of the ``experiment_id`` of an exported child run or rank part."""
RUN_ID_TAG = "codecarbon_run_id"
"""Tag holding the CodeCarbon run id an imported run came under."""


def ledger_id(run_id: str, task_name: str | None = None, *, fallback: str = "") -> str:
    """The ledger id of CodeCarbon run ``run_id`` (its task ``task_name``): ``cc-`` and
    24 hex digits of a SHA-256. Without ``run_id``, of ``fallback`` (a row's own key)."""
    key = (run_id if task_name is None else f"{run_id}|task|{task_name}") if run_id else fallback
    return "cc-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def exported_run_id(run: Mapping[str, Any]) -> str:
    """The ``run_id`` a ledger run is exported under: its CodeCarbon id, else its id."""
    tags = run.get("tags") or {}
    original = tags.get(RUN_ID_TAG) if isinstance(tags, Mapping) else None
    return original if isinstance(original, str) and original else str(run["id"])


def part_mark(parent_run_id: str) -> str:
    """The ``experiment_id`` of a part whose parent is exported as ``parent_run_id``."""
    return PART_MARK + parent_run_id


def parent_of(experiment_id: str | None) -> str | None:
    """The exported ``run_id`` of the parent a part's ``experiment_id`` names, or None."""
    if (
        experiment_id
        and experiment_id.startswith(PART_MARK)
        and len(experiment_id) > len(PART_MARK)
    ):
        return experiment_id[len(PART_MARK) :]
    return None
