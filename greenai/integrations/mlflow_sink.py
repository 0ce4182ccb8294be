"""MLflow as a sink: figures as run metrics, where they come from as run tags.

The figures go to the MLflow run active in the opening thread (``mlflow.active_run()``),
which stays open; where there is none, the sink starts one named after the greenai run
and ends it on :meth:`MlflowSink.close`. Every call names its run by id, so a sink
never starts a stray run (MLflow's module functions do where no run is active) and
works from another thread than the one that opened it.

Figures and tags go through one ``MlflowClient`` made when the sink opens (the tracking
URI of that moment), in one batch per call.

MLflow takes figure names with ``/`` as they are: ``greenai/energy_kwh`` is a metric of
its own, grouped under ``greenai`` in the run's charts.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import mlflow
from mlflow.entities import Metric, RunTag
from mlflow.tracking import MlflowClient


class MlflowSink:
    """One MLflow run receiving figures.

    Args:
        run_id: The MLflow run's id.
        owned: Whether the sink started the run (and ends it on close).
        client: The client to log with (default: one for the current tracking URI).
    """

    name = "mlflow"

    def __init__(self, run_id: str, *, owned: bool, client: MlflowClient | None = None) -> None:
        self.run_id = run_id
        self.owned = owned
        self.client = client or MlflowClient()
        self.last_step = 0

    def log(self, figures: Mapping[str, float], step: int | None) -> None:
        """Log figures as metrics at ``step``; None: the last step logged (MLflow's
        latest value of a metric is the one at its highest step, so a final log
        without a step still reads as the latest)."""
        if step is not None:
            self.last_step = max(self.last_step, step)
        at_step = self.last_step if step is None else step
        timestamp_ms = int(time.time() * 1000)
        metrics = [Metric(k, float(v), timestamp_ms, at_step) for k, v in figures.items()]
        self.client.log_batch(self.run_id, metrics=metrics)

    def tag(self, tags: Mapping[str, str]) -> None:
        """Set the tags on the run."""
        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def close(self) -> None:
        """End the run if the sink started it."""
        if not self.owned:
            return
        active = mlflow.active_run()
        if active is not None and active.info.run_id == self.run_id:
            mlflow.end_run()
        else:  # closed from another thread than the one that started it
            self.client.set_terminated(self.run_id)


def open_sink(run_name: str) -> MlflowSink:
    """The active MLflow run's sink, else a new run named ``run_name`` (made active in
    this thread, so the job's own ``mlflow.log_*`` calls land in it too)."""
    active = mlflow.active_run()
    if active is not None:
        return MlflowSink(active.info.run_id, owned=False)
    started = mlflow.start_run(run_name=run_name)
    return MlflowSink(started.info.run_id, owned=True)
