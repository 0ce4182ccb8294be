"""The runs a Trainer makes: their ids in a multi-rank job, the id a checkpoint links
to, and the model card written from a finished run.

Under a launcher (torchrun, Slurm, MPI) every rank's run is a part of one job whose id
the launcher's environment gives (:mod:`greenai.fleet.ranks`), and so is a run started
with a ``run_id``. That id names one run: the first run a Trainer starts in a process
takes it; each later one (a second ``train()``, an ``evaluate()`` outside ``train()``)
gets a job id of its own, ``<job>-<call>-<n>``, the same on every rank because the
ranks make their calls in step.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LEDGER_WAIT_S = 10.0
"""How long the end of training waits for the run's record before a model card."""

_STARTED = itertools.count()


def settings_overrides(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options that are configuration keys (``country``, ``pue``, ``run_id``...)."""
    from greenai.config import Settings

    keys = set(Settings.keys())
    return {k: v for k, v in options.items() if k in keys}


def run_id_option(options: Mapping[str, Any], call: str) -> dict[str, Any]:
    """``{"run_id": ...}`` for a later run of this process in a job with a shared id,
    else ``{}`` (see the module's docstring)."""
    from greenai.config import load_settings
    from greenai.fleet.ranks import bounded_id, detect_rank

    nth = next(_STARTED)
    settings = load_settings(settings_overrides(options))
    rank = detect_rank(run_id=settings.run_id)
    base = rank.job_id if rank is not None else settings.run_id
    if not base or nth == 0:
        return {}
    return {"run_id": bounded_id(f"{base}-{call}-{nth}")}


def link_id(run: Any) -> str:
    """The id a later session links to: a rank's job, else the run itself."""
    if getattr(run, "rank", None) is not None and run.parent_run_id:
        return str(run.parent_run_id)
    return str(run.id)


def in_ledger(run: Any, timeout_s: float = LEDGER_WAIT_S) -> bool:
    """Wait until the stopped run's record has been written to its ledger."""
    from greenai.tracking.writer import get_writer

    settings = run.settings
    writer = get_writer(
        settings.db_url,
        stale_after_s=settings.stale_after_s,
        series_tiers=tuple(settings.series_tiers),
    )
    return writer.flush(timeout_s)


def card_path(option: object, output_dir: object) -> Path:
    """Where the model card goes: ``<output_dir>/README.md`` for True, else the path
    given (a folder gets ``README.md`` inside)."""
    if option is True:
        return Path(str(output_dir)) / "README.md"
    path = Path(str(option))
    return path / "README.md" if path.is_dir() else path


def write_card(run: Any, path: Path) -> Path | None:
    """The model card of a stopped run (its ledger's figures), once its record is in
    the ledger; None (with a warning) when it could not be written. Never raises."""
    try:
        from greenai.reports.model_card_file import write_model_card
    except ImportError as exc:
        log.warning("greenai: no model card: %s", exc)
        return None
    if not in_ledger(run):
        log.warning(
            "greenai: no model card: run %s has not reached the ledger yet (it is in the "
            "journal; `greenai sync` ships it, then `write_model_card` can be called)",
            run.id,
        )
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_model_card(link_id(run), path, url=run.settings.db_url)
    except Exception as exc:  # never harm the job
        log.warning("greenai: model card not written to %s: %s", path, exc)
        return None
