"""trackio as a sink: figures as run metrics, where they come from in the run's config.

The figures go to trackio's current run (the one ``trackio.log`` logs to), which stays
open; where there is none, the sink starts one named after the greenai run in the
project :data:`PROJECT` (storage as trackio's settings and environment say, locally
``TRACKIO_DIR``) and finishes it on close. A run the sink starts does not log trackio's
own CPU and GPU readings: greenai measures those.

trackio stores a run's config with the run's first log only; tags added later are put in
the config and trackio is asked to store it again with the next log, so tags are set
before the figures they describe are logged. trackio sends its logs in batches (every
half second) and stores the first config of a batch: where the run's first log was
still unsent when the tags came (logged less than half a second before), that first
config is kept and the tags are not stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import trackio
from trackio import context_vars

PROJECT = "greenai"
"""The trackio project of the runs the sink starts."""


class TrackioSink:
    """One trackio run receiving figures.

    Args:
        run: The trackio run (``trackio.Run``).
        owned: Whether the sink started the run (and finishes it on close).
    """

    name = "trackio"

    def __init__(self, run: Any, *, owned: bool) -> None:
        self.run = run
        self.owned = owned

    def log(self, figures: Mapping[str, float], step: int | None) -> None:
        """Log figures at ``step`` (None: trackio's next step)."""
        self.run.log(dict(figures), step=step)

    def tag(self, tags: Mapping[str, str]) -> None:
        """Put the tags in the run's config, stored with the run's next log."""
        self.run.config.update(tags)
        if getattr(self.run, "_config_logged", False):  # stored already: store it again
            self.run._config_logged = False

    def close(self) -> None:
        """Finish the run if the sink started it (trackio writes what it queued)."""
        if not self.owned:
            return
        if context_vars.current_run.get() is self.run:
            trackio.finish()  # type: ignore[no-untyped-call]
        else:  # closed from another context than the one that started it
            self.run.finish()


def open_sink(run_name: str) -> TrackioSink:
    """The current trackio run's sink, else a new run named ``run_name``."""
    current = context_vars.current_run.get()
    if current is not None:
        return TrackioSink(current, owned=False)
    run = trackio.init(
        project=PROJECT, name=run_name, embed=False, auto_log_gpu=False, auto_log_cpu=False
    )
    return TrackioSink(run, owned=True)
