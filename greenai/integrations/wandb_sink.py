"""Weights & Biases as a sink: figures in the run's history, where they come from in its
config.

The figures go to the current W&B run (``wandb.run``), which stays open; where there is
none, the sink starts one named after the greenai run (``wandb.init``: project, mode and
login as W&B's settings and environment say) and finishes it on close.

W&B refuses a step lower than the run's current one (it warns and drops the data), and
the job's own ``wandb.log`` calls move that step: a figure whose step is behind, or that
has none, is logged at the run's current step instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import wandb


class WandbSink:
    """One W&B run receiving figures.

    Args:
        run: The W&B run (``wandb.Run``).
        owned: Whether the sink started the run (and finishes it on close).
    """

    name = "wandb"

    def __init__(self, run: Any, *, owned: bool) -> None:
        self.run = run
        self.owned = owned

    def log(self, figures: Mapping[str, float], step: int | None) -> None:
        """Log figures at ``step``, or at the run's current step where ``step`` is None
        or behind it."""
        if step is None or step < self.run.step:
            self.run.log(dict(figures))
        else:
            self.run.log(dict(figures), step=step)

    def tag(self, tags: Mapping[str, str]) -> None:
        """Put the tags in the run's config (replacing earlier values)."""
        self.run.config.update(dict(tags), allow_val_change=True)

    def close(self) -> None:
        """Finish the run if the sink started it."""
        if self.owned:
            self.run.finish()


def open_sink(run_name: str) -> WandbSink:
    """The current W&B run's sink, else a new run named ``run_name``."""
    if wandb.run is not None:
        return WandbSink(wandb.run, owned=False)
    return WandbSink(wandb.init(name=run_name), owned=True)
