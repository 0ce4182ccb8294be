"""greenai's figures in Lightning: one job's figures from every rank's, at the trainer's
logging steps and at the end, and where they go (the module's log, the loggers).

Under a multi-rank launcher each rank's run is a part of one job and is charged its
own devices only, so the job's energy, emissions and tokens are the sums over the ranks
and its duration the longest rank's. The ranks' rows are gathered in one collective
(every rank calls it at the same steps), and ratios (J/token, measured share) are taken
of the sums, so every rank logs the same figures, and they are the job's. The names and
units are :mod:`greenai.figures.logged`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from greenai.figures.logged import tracker_figures
from greenai.tracking.record import totals
from greenai.tracking.run import Run

SUMMED = (
    "energy_j",
    "facility_energy_j",
    "emissions_kg",
    "measured_energy_j",
    "tokens_input",
    "tokens_output",
)
"""Figures of a run that add up over the ranks of a job."""
KINDS = ("gpu", "cpu", "dram")
"""Device kinds with a logged energy of their own."""
ROW_LENGTH = len(SUMMED) + 2 * len(KINDS) + 1
"""A rank's row: the summed figures, each kind's energy and whether it has one, and the
duration."""


def running_record(run: Run) -> dict[str, Any]:
    """The figures of a running run as its ledger record has them (charged up to the
    last settle); unlike ``to_dict`` it leaves its open windows alone."""
    return totals(run, run.charges())


def rank_row(record: Mapping[str, Any] | None) -> list[float]:
    """One rank's row (see :data:`ROW_LENGTH`) from its run's record; zeros for a rank
    without a run."""
    if record is None:
        return [0.0] * ROW_LENGTH
    by_kind = record.get("energy_by_kind") or {}
    row = [float(record.get(name) or 0.0) for name in SUMMED]
    row += [float(by_kind[kind]["energy_j"]) if by_kind.get(kind) else 0.0 for kind in KINDS]
    row += [1.0 if by_kind.get(kind) else 0.0 for kind in KINDS]
    row.append(float(record.get("duration_s") or 0.0))
    return row


def job_record(rows: Sequence[Sequence[float]]) -> dict[str, Any]:
    """The job's figures from its ranks' rows, in the fields of a run record: energies,
    emissions and tokens summed, the longest duration; a kind is there when a rank has it."""
    columns = [list(c) for c in zip(*rows, strict=True)] or [[0.0]] * ROW_LENGTH
    sums = [sum(c) for c in columns]
    record: dict[str, Any] = dict(zip(SUMMED, sums, strict=False))
    energies = sums[len(SUMMED) : len(SUMMED) + len(KINDS)]
    present = sums[len(SUMMED) + len(KINDS) : len(SUMMED) + 2 * len(KINDS)]
    record["energy_by_kind"] = {
        kind: {"energy_j": energy_j}
        for kind, energy_j, seen in zip(KINDS, energies, present, strict=True)
        if seen > 0
    }
    record["duration_s"] = max(columns[-1])
    return record


def gather_rows(trainer: Any, row: list[float]) -> list[list[float]]:
    """Every rank's row (one collective when the trainer has several ranks: call it on
    every rank at the same point)."""
    if int(getattr(trainer, "world_size", 1) or 1) <= 1:
        return [row]
    strategy = trainer.strategy
    tensor = torch.tensor(row, dtype=torch.float64, device=strategy.root_device)
    gathered = strategy.all_gather(tensor)
    rows: list[list[float]] = gathered.reshape(-1, len(row)).cpu().tolist()
    return rows


def job_figures(rows: Sequence[Sequence[float]]) -> dict[str, float]:
    """The logged figures of the job whose ranks' rows these are."""
    return tracker_figures(job_record(rows))


def log_step_figures(pl_module: Any, figures: Mapping[str, float]) -> None:
    """Log figures at the current training step through the module (as float64
    tensors: energies keep their digits; the same on every rank, so no sync)."""
    values = {k: torch.tensor(v, dtype=torch.float64) for k, v in figures.items()}
    pl_module.log_dict(values, on_step=True, on_epoch=False, sync_dist=False, batch_size=1)


def log_totals(
    trainer: Any,
    figures: Mapping[str, float],
    tags: Mapping[str, str],
    tag_loggers: tuple[type, ...],
) -> list[str]:
    """Log the totals at the trainer's global step and the tags to every logger; the
    problems met, one sentence each (a logger that fails does not stop the others).

    Args:
        trainer: The trainer whose loggers receive them.
        figures: The logged figures (:func:`job_figures`).
        tags: Where they come from (:func:`greenai.figures.logged.tracker_tags`).
        tag_loggers: Logger classes with tags of their own (MLflow's): the tags go
            there; other loggers get them as hyperparameters.
    """
    problems: list[str] = []
    for logger in getattr(trainer, "loggers", ()) or ():
        name = type(logger).__name__
        try:
            logger.log_metrics(dict(figures), step=int(trainer.global_step))
        except Exception as exc:  # one logger's failure must not stop training
            problems.append(f"could not log greenai's totals to {name}: {exc!r}")
        try:
            if isinstance(logger, tag_loggers):
                mlflow_tags(logger, tags)
            else:
                logger.log_hyperparams(dict(tags))
        except Exception as exc:  # never harm the job
            problems.append(f"could not tag {name} with greenai's sources: {exc!r}")
    return problems


def mlflow_tags(logger: Any, tags: Mapping[str, str]) -> None:
    """Set tags on an MLflow logger's run, in one request."""
    from mlflow.entities import RunTag

    logger.experiment.log_batch(logger.run_id, tags=[RunTag(k, v) for k, v in tags.items()])
