"""One run id across the ranks of a job, and this process's rank, from the launcher's
environment.

The job's id, first found wins:

1. ``GREENAI_RUN_ID`` (the ``run_id`` setting), as given;
2. ``TORCHELASTIC_RUN_ID`` (torchrun's rendezvous id; its placeholder ``none`` is ignored)
   -> ``torchelastic-<id>``;
3. ``SLURM_JOB_ID`` and ``SLURM_STEP_ID``, namespaced by ``SLURM_CLUSTER_NAME``
   -> ``slurm-<cluster>-<job>.<step>``;
4. the MPI job id (Open MPI's ``OMPI_MCA_ess_base_jobid``, else PMIx's ``PMIX_NAMESPACE``)
   -> ``mpi-<id>``.

The rank comes from the innermost launcher: torchrun (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``), then Open MPI (``OMPI_COMM_WORLD_*``), then
MPICH/Hydra (``PMI_RANK``, ``PMI_SIZE``, ``MPI_LOCALRANKID``, ``MPI_LOCALNRANKS``), then a
Slurm job step (``SLURM_PROCID``, ``SLURM_STEP_NUM_TASKS``, ``SLURM_LOCALID``). A Slurm
batch script (no job step) is one process, not a rank. A job of one rank is an ordinary
run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_ID_CHARS = 64
"""Run ids are at most this long in the ledger (longer derived ids end in a hash)."""
PART_SEPARATOR = "/rank"
# Slurm's pseudo steps: the batch script and the external step, not job steps.
_SLURM_PSEUDO_STEPS = {"4294967294", "4294967295", "batch", "extern", "interactive"}
_UNSAFE = re.compile(r"\s+")
_TASKS = re.compile(r"^(\d+)(?:\(x(\d+)\))?$")

_RANK_SOURCES: tuple[tuple[str, str, str, str, str], ...] = (
    # launcher, rank, world size, local rank, local world size
    ("torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"),
    (
        "openmpi",
        "OMPI_COMM_WORLD_RANK",
        "OMPI_COMM_WORLD_SIZE",
        "OMPI_COMM_WORLD_LOCAL_RANK",
        "OMPI_COMM_WORLD_LOCAL_SIZE",
    ),
    ("mpich", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"),
)


@dataclass(frozen=True, slots=True)
class RankInfo:
    """Where this process stands in a multi-rank job.

    Attributes:
        job_id: The run id shared by every rank: the job's row in the ledger.
        job_source: Where ``job_id`` came from (``greenai``, ``torchelastic``, ``slurm``,
            ``mpi``).
        launcher: Where the rank came from (``torchrun``, ``openmpi``, ``mpich``, ``slurm``).
        rank: This process's rank, 0 .. world_size - 1.
        world_size: Number of ranks in the job (> 1).
        local_rank: Rank among the job's processes on this node (None when unknown).
        local_world_size: Number of the job's processes on this node (None when unknown).
    """

    job_id: str
    job_source: str
    launcher: str
    rank: int
    world_size: int
    local_rank: int | None = None
    local_world_size: int | None = None

    @property
    def part_id(self) -> str:
        """The run id of this rank's part (a child run of the job's row)."""
        return part_run_id(self.job_id, self.rank)

    @property
    def counts_node(self) -> bool:
        """Whether this rank carries node-level energy in machine mode (local rank 0).

        A rank whose local rank is unknown carries it: better once per rank than never,
        and the run says which rule applied.
        """
        return self.local_rank is None or self.local_rank == 0


def bounded_id(raw: str) -> str:
    """A run id of at most :data:`MAX_ID_CHARS` characters without whitespace.

    Longer ids keep a readable head and end in a hash of the whole, so two long ids
    that differ only at the end stay distinct.
    """
    clean = _UNSAFE.sub("_", raw.strip())
    if len(clean) <= MAX_ID_CHARS:
        return clean
    digest = hashlib.sha256(clean.encode("utf-8")).hexdigest()[:16]
    return f"{clean[: MAX_ID_CHARS - 17]}-{digest}"


def part_run_id(job_id: str, rank: int) -> str:
    """The run id of rank ``rank``'s part of job ``job_id`` (``<job>/rank<n>``)."""
    suffix = f"{PART_SEPARATOR}{rank}"
    if len(job_id) + len(suffix) <= MAX_ID_CHARS:
        return job_id + suffix
    digest = hashlib.sha256(job_id.encode("utf-8")).hexdigest()[:12]
    head = MAX_ID_CHARS - len(suffix) - 13
    return f"{job_id[:head]}-{digest}{suffix}"


def job_id_from_env(
    environ: Mapping[str, str], run_id: str | None = None
) -> tuple[str, str] | None:
    """The job's run id and its source, or None when no launcher gives one.

    Args:
        environ: The process environment.
        run_id: The ``run_id`` setting (``GREENAI_RUN_ID``), which wins.
    """
    if run_id:
        return bounded_id(run_id), "greenai"
    elastic = environ.get("TORCHELASTIC_RUN_ID", "").strip()
    if elastic and elastic.casefold() != "none":
        return bounded_id(f"torchelastic-{elastic}"), "torchelastic"
    job = environ.get("SLURM_JOB_ID", "").strip() or environ.get("SLURM_JOBID", "").strip()
    step = environ.get("SLURM_STEP_ID", "").strip() or environ.get("SLURM_STEPID", "").strip()
    if job:
        cluster = environ.get("SLURM_CLUSTER_NAME", "").strip()
        name = f"slurm-{cluster}-{job}" if cluster else f"slurm-{job}"
        return bounded_id(f"{name}.{step}" if step else name), "slurm"
    for key in ("OMPI_MCA_ess_base_jobid", "PMIX_NAMESPACE"):
        value = environ.get(key, "").strip()
        if value:
            return bounded_id(f"mpi-{value}"), "mpi"
    return None


def _int(environ: Mapping[str, str], key: str) -> int | None:
    raw = environ.get(key, "").strip()
    return int(raw) if raw.isdigit() else None


def slurm_tasks_on_node(tasks_per_node: str, node_index: int) -> int | None:
    """Tasks on node ``node_index`` from Slurm's compressed list (``2(x3),1``)."""
    position = 0
    for item in tasks_per_node.split(","):
        match = _TASKS.match(item.strip())
        if match is None:
            return None
        count, repeat = int(match.group(1)), int(match.group(2) or 1)
        if node_index < position + repeat:
            return count
        position += repeat
    return None


def _slurm_rank(environ: Mapping[str, str]) -> tuple[int, int, int | None, int | None] | None:
    step = environ.get("SLURM_STEP_ID", environ.get("SLURM_STEPID", "")).strip()
    if not step or step.casefold() in _SLURM_PSEUDO_STEPS:
        return None  # a batch script or an allocation's shell: one process, not a rank
    rank = _int(environ, "SLURM_PROCID")
    size = _int(environ, "SLURM_STEP_NUM_TASKS") or _int(environ, "SLURM_NTASKS")
    if rank is None or size is None:
        return None
    node = _int(environ, "SLURM_NODEID")
    per_node = environ.get("SLURM_STEP_TASKS_PER_NODE") or environ.get("SLURM_TASKS_PER_NODE")
    local_size = slurm_tasks_on_node(per_node, node) if per_node and node is not None else None
    return rank, size, _int(environ, "SLURM_LOCALID"), local_size


def rank_from_env(
    environ: Mapping[str, str],
) -> tuple[str, int, int, int | None, int | None] | None:
    """(launcher, rank, world size, local rank, local world size), innermost launcher first."""
    for launcher, rank_key, size_key, local_key, local_size_key in _RANK_SOURCES:
        rank, size = _int(environ, rank_key), _int(environ, size_key)
        if rank is not None and size is not None:
            return launcher, rank, size, _int(environ, local_key), _int(environ, local_size_key)
    slurm = _slurm_rank(environ)
    return ("slurm", *slurm) if slurm is not None else None


_WARNED: set[str] = set()


def detect_rank(
    environ: Mapping[str, str] | None = None, *, run_id: str | None = None
) -> RankInfo | None:
    """This process's place in a multi-rank job, or None for a job of one process.

    Args:
        environ: The environment (default ``os.environ``).
        run_id: The ``run_id`` setting (``GREENAI_RUN_ID``): the job's id when given.

    Returns:
        The rank, or None when no launcher says there is more than one rank, or when
        none gives a job id that every rank shares (then each rank is a run of its own,
        and a warning says so once).
    """
    env = os.environ if environ is None else environ
    found = rank_from_env(env)
    if found is None:
        return None
    launcher, rank, size, local_rank, local_size = found
    if size <= 1 or rank >= size:
        return None
    job = job_id_from_env(env, run_id)
    if job is None:
        if launcher not in _WARNED:
            _WARNED.add(launcher)
            log.warning(
                "greenai: rank %d of %d (%s) but no job id shared by the ranks: set "
                "GREENAI_RUN_ID to one value for every rank to record one run",
                rank,
                size,
                launcher,
            )
        return None
    return RankInfo(job[0], job[1], launcher, rank, size, local_rank, local_size)


def attribution_environ(
    rank: RankInfo, environ: Mapping[str, str], visible_gpus: int
) -> Mapping[str, str]:
    """The environment GPU attribution sees: ``LOCAL_RANK`` from any launcher.

    torchrun sets ``LOCAL_RANK`` itself. Slurm and MPI ranks get theirs when every rank
    of the node sees all the node's GPUs (as many visible as local ranks, or more); a
    rank that sees fewer (``--gpus-per-task``) keeps its visible devices.
    """
    if "LOCAL_RANK" in environ or rank.local_rank is None:
        return environ
    local_size = rank.local_world_size
    if local_size is None or local_size <= 1 or visible_gpus < local_size:
        return environ
    return {**environ, "LOCAL_RANK": str(rank.local_rank)}
