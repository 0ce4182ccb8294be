"""A rank's run in a multi-rank job: its own devices only, and its part in the ledger.

Each rank charges only its own GPUs: its compute contexts, else its local rank into the
visible devices (``LOCAL_RANK`` from torchrun, or the local rank of Slurm and MPI, see
:func:`greenai.fleet.ranks.attribution_environ`). CPU and DRAM follow the usual rules:
in process mode each rank is charged its own share; in machine mode the node's CPU and
DRAM are charged once per node, to local rank 0, and the other ranks are flagged
``node_energy_on_local_rank_0`` (a rank whose launcher gives no local rank carries its
node's CPU and DRAM and is flagged ``local_rank_unknown``).

The rank's record is written as a part of the job (a child run with its ``rank``), and
the job's row is recomputed from every part in the same transaction
(:func:`greenai.ledger.ranks.save_part`). When the ledger cannot be reached the part
is kept in the ledger's journal (written there on the job's thread, as every run
record is), so nothing is lost; replaying it recomputes the job's row as well.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenai.figures.flags import LOCAL_RANK_UNKNOWN, NODE_ENERGY_ELSEWHERE
from greenai.fleet.ranks import RankInfo, attribution_environ
from greenai.tracking.run import Run

if TYPE_CHECKING:
    from greenai.tracking.writer import Writer

log = logging.getLogger(__name__)

NODE_KINDS = ("cpu", "psys", "dram")


class RankRun(Run):
    """The run of one rank: a part of the job's run.

    Args:
        rank: Where this process stands in the job.
        meta, settings, factor, command: As for :class:`~greenai.tracking.run.Run`.
    """

    def __init__(
        self, rank: RankInfo, meta: Any, settings: Any, factor: Any, command: str | None = None
    ) -> None:
        super().__init__(
            meta,
            settings,
            factor,
            parent_run_id=rank.job_id,
            run_id=rank.part_id,
            command=command,
        )
        self.rank = rank
        if self.node_energy_elsewhere:
            self.root_span.excluded_kinds = frozenset(NODE_KINDS)
            self.flag(NODE_ENERGY_ELSEWHERE)
        elif getattr(settings, "mode", "process") == "machine" and rank.local_rank is None:
            self.flag(LOCAL_RANK_UNKNOWN)  # every rank of the node may carry its CPU/DRAM

    @property
    def node_energy_elsewhere(self) -> bool:
        """Whether another rank of this node carries its CPU and DRAM (machine mode)."""
        return getattr(self.settings, "mode", "process") == "machine" and not self.rank.counts_node

    def gpu_environ(self, gpu_count: int) -> Mapping[str, str]:
        """The local rank from any launcher (torchrun, Slurm, MPI)."""
        return attribution_environ(self.rank, os.environ, gpu_count)


def part_record(rank: RankInfo, record: dict[str, Any]) -> dict[str, Any]:
    """A rank's record as a part: its rank, the job's size, its host on its devices."""
    row = record["run"]
    host = str(row.get("host_id") or "")
    row.update(rank=rank.rank, world_size=rank.world_size, hosts=[host] if host else [])
    for device in record.get("devices") or ():
        device["host_id"] = host
    return record


def _write_part(
    sink: Any, record: dict[str, Any], journaled: Path | None, stale_after_s: float
) -> str:
    """On the writer thread: part and job row in one transaction, else the usual sink
    (the part is already in the journal, written there on the job's thread).

    The sink's own ledger is used (one engine per process and ledger file: a second one
    opened on a SQLite file in the same process would cancel the first one's POSIX locks
    when it checks the file), with the sink's retry-after-failure pacing.
    """
    from greenai.ledger.ranks import save_part
    from greenai.ledger.spool import record_seq

    part_id = str(record["run"]["id"])
    try:
        written = sink.to_ledger(
            lambda ledger: save_part(ledger, record, stale_after_s=stale_after_s)
        )
    except Exception as exc:  # never harm the job: the sink journals the part instead
        log.warning("greenai: could not write part %s with its job: %s", part_id, exc)
        written = False
    if not written:
        return str(sink.save_run(record, journaled))
    try:
        if sink.spool.pending():  # this record's journal file and older ones are superseded
            sink.spool.discard_run(part_id, up_to=record_seq(record))
    except Exception as exc:  # the journal is tidied at the next replay anyway
        log.debug("cannot clean the journal: %s", exc)
    return "ledger"


def submit_part(
    writer: Writer, record: dict[str, Any], *, stale_after_s: float, wait_s: float | None
) -> str:
    """Journal a rank's part and queue it on the writer; wait up to ``wait_s`` for it to
    be written."""

    def ship(sink: Any, stamped: dict[str, Any], journaled: Path | None) -> str:
        return _write_part(sink, stamped, journaled, stale_after_s)

    return writer.wait_for(writer.queue_run(record, ship), wait_s)
