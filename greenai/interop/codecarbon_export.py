"""``greenai runs export --format codecarbon``: the ledger's runs as CodeCarbon's CSV.

Root runs only by default, as totals count them: a child run's or rank part's energy is
already in its parent's, so exporting both would count it twice. With parts, each is
marked as its parent's (:mod:`greenai.interop.codecarbon_ids`).
"""

from __future__ import annotations

from greenai.interop.codecarbon_csv import write_codecarbon_csv
from greenai.interop.codecarbon_ids import exported_run_id
from greenai.ledger import Ledger


def export_codecarbon(
    ledger: Ledger, *, limit: int, project: str | None = None, include_parts: bool = False
) -> str:
    """The newest ``limit`` runs (of ``project``) as CodeCarbon's CSV text.

    Args:
        ledger: The ledger.
        limit: Most runs exported, newest first.
        project: Only this project.
        include_parts: Child runs and rank parts too, marked as parts of their parent.
    """
    runs = ledger.list_runs(limit=limit, project=project, root_only=not include_parts)
    present = {str(r["id"]) for r in runs}
    missing = {str(r["parent_run_id"]) for r in runs if r.get("parent_run_id")} - present
    parents: dict[str, str] = {}
    for parent_id in sorted(missing):
        record = ledger.get_run(parent_id)
        if record is not None:
            parents[parent_id] = exported_run_id(record["run"])
    return write_codecarbon_csv(runs, parents)
