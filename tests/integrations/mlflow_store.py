"""An MLflow store in tmp_path for a test module, and a fresh experiment per test."""

from __future__ import annotations

from collections.abc import Iterator

import mlflow
import pytest
from mlflow.tracking import MlflowClient


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One SQLite MLflow store for the module (its tables take a while to make)."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    yield uri
    mlflow.set_tracking_uri(None)


@pytest.fixture
def experiment_id(tracking_uri: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh experiment per test, active; no MLflow run left active after it."""
    del tracking_uri
    experiment = mlflow.set_experiment(request.node.name)
    yield experiment.experiment_id
    while mlflow.active_run() is not None:
        mlflow.end_run()


def history(run_id: str, key: str) -> list[tuple[float, int]]:
    """A metric's (value, step) points, in order."""
    return [(m.value, m.step) for m in MlflowClient().get_metric_history(run_id, key)]
