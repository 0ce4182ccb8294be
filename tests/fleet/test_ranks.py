"""One run id across ranks, and each process's rank, from launchers' environments."""

from __future__ import annotations

import pytest

from greenai.fleet.ranks import (
    MAX_ID_CHARS,
    attribution_environ,
    bounded_id,
    detect_rank,
    job_id_from_env,
    part_run_id,
    slurm_tasks_on_node,
)

TORCHRUN = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}
SLURM_STEP = {
    "SLURM_JOB_ID": "81723",
    "SLURM_STEP_ID": "0",
    "SLURM_PROCID": "5",
    "SLURM_STEP_NUM_TASKS": "8",
    "SLURM_LOCALID": "1",
    "SLURM_NODEID": "2",
    "SLURM_STEP_TASKS_PER_NODE": "2(x4)",
}


def test_torchrun_ranks_share_the_rendezvous_id() -> None:
    rank = detect_rank({**TORCHRUN, "TORCHELASTIC_RUN_ID": "a1b2"})
    assert rank is not None
    assert (rank.job_id, rank.job_source, rank.launcher) == (
        "torchelastic-a1b2",
        "torchelastic",
        "torchrun",
    )
    assert (rank.rank, rank.world_size, rank.local_rank, rank.local_world_size) == (3, 4, 1, 2)
    assert rank.part_id == "torchelastic-a1b2/rank3"
    assert not rank.counts_node


def test_torchelastic_placeholder_none_is_ignored_for_slurm_ids() -> None:
    env = {**TORCHRUN, "TORCHELASTIC_RUN_ID": "none", **SLURM_STEP, "SLURM_CLUSTER_NAME": "jz"}
    rank = detect_rank(env)
    assert rank is not None
    assert rank.job_id == "slurm-jz-81723.0" and rank.job_source == "slurm"
    assert rank.launcher == "torchrun" and rank.rank == 3  # the innermost launcher's rank


def test_greenai_run_id_wins_over_every_launcher() -> None:
    env = {**TORCHRUN, "TORCHELASTIC_RUN_ID": "a1b2", **SLURM_STEP}
    rank = detect_rank(env, run_id="nightly-42")
    assert rank is not None and rank.job_id == "nightly-42" and rank.job_source == "greenai"


def test_slurm_job_step_ranks() -> None:
    rank = detect_rank(SLURM_STEP)
    assert rank is not None
    assert rank.job_id == "slurm-81723.0" and rank.launcher == "slurm"
    assert (rank.rank, rank.world_size, rank.local_rank, rank.local_world_size) == (5, 8, 1, 2)


@pytest.mark.parametrize("step", [None, "batch", "4294967294", "extern"])
def test_a_slurm_batch_script_is_one_process_not_a_rank(step: str | None) -> None:
    env = {k: v for k, v in SLURM_STEP.items() if k != "SLURM_STEP_ID"}
    env["SLURM_NTASKS"] = "8"
    if step is not None:
        env["SLURM_STEP_ID"] = step
    assert detect_rank(env) is None


def test_open_mpi_and_pmix_job_ids() -> None:
    ompi = {
        "OMPI_COMM_WORLD_RANK": "2",
        "OMPI_COMM_WORLD_SIZE": "16",
        "OMPI_COMM_WORLD_LOCAL_RANK": "0",
        "OMPI_COMM_WORLD_LOCAL_SIZE": "8",
        "OMPI_MCA_ess_base_jobid": "3141",
    }
    rank = detect_rank(ompi)
    assert rank is not None
    assert (rank.job_id, rank.launcher, rank.rank, rank.world_size) == (
        "mpi-3141",
        "openmpi",
        2,
        16,
    )
    assert rank.counts_node
    pmix = {k: v for k, v in ompi.items() if k != "OMPI_MCA_ess_base_jobid"}
    pmix["PMIX_NAMESPACE"] = "prterun-node1-4242@1"
    assert job_id_from_env(pmix) == ("mpi-prterun-node1-4242@1", "mpi")


def test_mpich_hydra_ranks() -> None:
    env = {"PMI_RANK": "1", "PMI_SIZE": "2", "MPI_LOCALRANKID": "1", "MPI_LOCALNRANKS": "2"}
    assert detect_rank(env) is None  # no job id shared by the ranks: a run per rank
    rank = detect_rank(env, run_id="job-7")
    assert rank is not None and (rank.launcher, rank.rank, rank.local_rank) == ("mpich", 1, 1)


def test_one_rank_or_no_launcher_is_an_ordinary_run() -> None:
    assert detect_rank({}) is None
    assert detect_rank({"RANK": "0", "WORLD_SIZE": "1", "TORCHELASTIC_RUN_ID": "x"}) is None
    assert detect_rank({"RANK": "4", "WORLD_SIZE": "4", "TORCHELASTIC_RUN_ID": "x"}) is None


def test_long_ids_stay_within_the_ledger_column_and_distinct() -> None:
    cluster = "c" * 80
    first = job_id_from_env({"SLURM_JOB_ID": "1", "SLURM_CLUSTER_NAME": cluster + "a"})
    second = job_id_from_env({"SLURM_JOB_ID": "1", "SLURM_CLUSTER_NAME": cluster + "b"})
    assert first is not None and second is not None
    assert len(first[0]) == MAX_ID_CHARS and len(second[0]) == MAX_ID_CHARS
    assert first[0] != second[0]
    long_job = "j" * 63
    assert len(part_run_id(long_job, 1023)) <= MAX_ID_CHARS
    assert part_run_id(long_job, 1) != part_run_id(long_job, 2)
    assert bounded_id(" a b ") == "a_b"


def test_slurm_tasks_per_node_list() -> None:
    assert slurm_tasks_on_node("2(x3),1", 0) == 2
    assert slurm_tasks_on_node("2(x3),1", 2) == 2
    assert slurm_tasks_on_node("2(x3),1", 3) == 1
    assert slurm_tasks_on_node("2(x3),1", 4) is None
    assert slurm_tasks_on_node("garbage", 0) is None


def test_local_rank_for_gpu_attribution_from_slurm_and_mpi() -> None:
    rank = detect_rank(SLURM_STEP)
    assert rank is not None
    assert attribution_environ(rank, {}, visible_gpus=2)["LOCAL_RANK"] == "1"
    # A task that sees fewer GPUs than the node's tasks (--gpus-per-task): its own ones.
    assert "LOCAL_RANK" not in attribution_environ(rank, {}, visible_gpus=1)
    # torchrun's own LOCAL_RANK is kept as it is.
    assert attribution_environ(rank, {"LOCAL_RANK": "0"}, visible_gpus=2)["LOCAL_RANK"] == "0"
