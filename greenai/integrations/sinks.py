"""Experiment trackers as sinks: one interface for MLflow, Weights & Biases and trackio.

The public surface, for ``greenai.track(log_to=...)`` and for the training callbacks:

- :func:`sink_names` checks what a user wrote (``"mlflow"``, ``"mlflow,wandb"``, a list)
  and returns the trackers' names; anything else is a :class:`~greenai.ConfigError`,
  raised before the job starts.
- :class:`Sinks` opens those trackers for one run and sends them figures
  (:meth:`Sinks.log`, names and units of :mod:`greenai.figures.logged`) and tags
  (:meth:`Sinks.tag`); :meth:`Sinks.close` ends the tracker runs it started. It never
  raises: a tracker that is not installed, cannot be reached or refuses the figures is
  a *problem*, a message that :meth:`Sinks.take_problems` hands to the caller, who
  warns and flags the run ``tracker_log_failed``. A tracker that failed once receives
  nothing more, so a job does not warn at every step.
- :class:`Sink` is one tracker's side; each tracker's module (``mlflow_sink``,
  ``wandb_sink``, ``trackio_sink``, named in :data:`SINK_MODULES`) has an
  ``open_sink(run_name)`` that returns one, importing its tracker only then. A sink
  logs to the tracker's run that is current where it opens (the user's own), else to
  one it starts and ends.

This module imports nothing of the tracker (``greenai.tracking``), so the tracking API
can hand ``log_to=`` to it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from greenai.errors import ConfigError

SINK_MODULES: dict[str, str] = {
    "mlflow": "greenai.integrations.mlflow_sink",
    "wandb": "greenai.integrations.wandb_sink",
    "trackio": "greenai.integrations.trackio_sink",
}
"""Each tracker's name (as in ``log_to=``) and the module that opens its sink."""

INSTALL_HINTS: dict[str, str] = {
    "mlflow": "pip install mlflow-skinny",
    "wandb": "pip install wandb",
    "trackio": "pip install trackio",
}


class Sink(Protocol):
    """Where figures go: one experiment tracker's current run."""

    name: str

    def log(self, figures: Mapping[str, float], step: int | None) -> None:
        """Log figures at the caller's ``step`` (a training step); None where the caller
        has none (a run's final figures): each tracker's module says which step then."""

    def tag(self, tags: Mapping[str, str]) -> None:
        """Attach tags (where the figures come from) to the tracker's run."""

    def close(self) -> None:
        """End what the sink started (a tracker run it opened); leave the rest open."""


def sink_names(log_to: str | Sequence[str] | None) -> tuple[str, ...]:
    """The trackers ``log_to`` names, checked; ``"mlflow,wandb"`` and lists both work.

    Raises:
        ConfigError: A name that is not a tracker greenai logs to.
    """
    if log_to is None:
        return ()
    known = ", ".join(SINK_MODULES)
    if isinstance(log_to, bytes | bytearray) or not isinstance(log_to, str | Sequence):
        raise ConfigError("log_to", log_to, f"a tracker's name ({known}) or a list of them")
    items = log_to.split(",") if isinstance(log_to, str) else list(log_to)
    names: list[str] = []
    for item in items:
        name = str(item).strip().lower()
        if not name or name in names:
            continue
        if name not in SINK_MODULES:
            raise ConfigError("log_to", item, f"a tracker greenai logs to: {known}")
        names.append(name)
    return tuple(names)


class Sinks:
    """The trackers of one run: figures and tags go to each; failures become problems.

    Opening happens here, in the caller's thread (the one where a user's tracker run is
    current). Calls are not locked: use one thread at a time.

    Args:
        names: Checked tracker names (:func:`sink_names`).
        run_name: The name a tracker run gets where the sink has to start one.
    """

    def __init__(self, names: Sequence[str], run_name: str) -> None:
        self._sinks: list[Sink] = []
        self._dropped: list[Sink] = []  # failed once: no more figures, but closed
        self.problems: list[str] = []
        for name in names:
            try:
                module = importlib.import_module(SINK_MODULES[name])
                self._sinks.append(module.open_sink(run_name))
            except ImportError as exc:
                self.problems.append(
                    f"{name} could not be imported ({exc}): {INSTALL_HINTS[name]}, or drop it "
                    "from log_to"
                )
            except Exception as exc:  # a tracker that cannot start must not stop the job
                self.problems.append(f"{name} could not be opened: {exc!r}")

    @property
    def names(self) -> tuple[str, ...]:
        """The trackers still receiving figures."""
        return tuple(s.name for s in self._sinks)

    def take_problems(self) -> list[str]:
        """The problems since the last call, for the caller to warn about and flag."""
        found, self.problems = self.problems, []
        return found

    def log(self, figures: Mapping[str, float], step: int | None = None) -> None:
        """Log figures to every tracker; one that fails is dropped with a problem."""
        self._each("log figures to", lambda s: s.log(figures, step))

    def tag(self, tags: Mapping[str, str]) -> None:
        """Tag every tracker's run; one that fails is dropped with a problem."""
        self._each("tag", lambda s: s.tag(tags))

    def close(self) -> None:
        """Close every sink, those dropped after a failure too, so that a tracker run a
        sink started is ended (problems kept, nothing raised)."""
        self._sinks, self._dropped = [*self._sinks, *self._dropped], []
        self._each("close", lambda s: s.close())
        self._sinks, self._dropped = [], []

    def _each(self, what: str, call: Callable[[Sink], object]) -> None:
        kept: list[Sink] = []
        for sink in self._sinks:
            try:
                call(sink)
            except Exception as exc:  # never harm the job
                self.problems.append(f"could not {what} {sink.name}: {exc!r}")
                self._dropped.append(sink)
                continue
            kept.append(sink)
        self._sinks = kept
