"""MLflow receives a run's figures and tags: the real MLflow on a SQLite store in
tmp_path, read back with MlflowClient; the run on the fake GPUs' manual clock."""

from __future__ import annotations

import threading

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from greenai.figures.logged import tracker_tags
from greenai.integrations import mlflow_sink, sinks
from tests.fake_nvml.driver import FakeNvml
from tests.integrations.mlflow_store import experiment_id, history, tracking_uri
from tests.integrations.runs import EXACT, known_run, ledger_figures, ledger_run
from tests.tracking.manual import manual_hub

__all__ = ["experiment_id", "manual_hub", "tracking_uri"]


@pytest.mark.usefixtures("manual_hub")
def test_a_run_of_its_own_gets_the_ledger_figures_once_and_is_ended(
    fake_nvml: FakeNvml, experiment_id: str
) -> None:
    run = known_run(fake_nvml, "fine-tune", log_to="mlflow")

    (found,) = MlflowClient().search_runs([experiment_id])
    assert found.info.run_name == "fine-tune"
    assert found.info.status == "FINISHED"
    assert mlflow.active_run() is None
    figures = ledger_figures(run)
    assert figures.items() >= EXACT.items()
    assert set(found.data.metrics) == set(figures)
    for key, value in figures.items():
        assert history(found.info.run_id, key) == [(value, 0)]
    tags = tracker_tags(ledger_run(run))
    assert tags["greenai/run_id"] == run.id
    assert found.data.tags.items() >= tags.items()


@pytest.mark.usefixtures("manual_hub")
def test_an_active_user_run_is_used_and_left_open(fake_nvml: FakeNvml, experiment_id: str) -> None:
    with mlflow.start_run(run_name="user") as user:
        mlflow.log_metric("loss", 0.5, step=10)
        run = known_run(fake_nvml, "inside", log_to="mlflow")
        assert mlflow.active_run() is not None
        assert mlflow.active_run().info.run_id == user.info.run_id
        assert MlflowClient().get_run(user.info.run_id).info.status == "RUNNING"

    (found,) = MlflowClient().search_runs([experiment_id])  # no run of its own
    assert found.info.run_id == user.info.run_id
    assert found.data.metrics == {**ledger_figures(run), "loss": 0.5}
    assert found.data.tags["greenai/run_id"] == run.id


def test_figures_without_a_step_come_last(experiment_id: str) -> None:
    sink = mlflow_sink.open_sink("steps")
    sink.log({"greenai/energy_kwh": 1.0}, 7)
    sink.log({"greenai/energy_kwh": 2.0}, None)  # the final figures
    sink.close()

    (found,) = MlflowClient().search_runs([experiment_id])
    assert history(found.info.run_id, "greenai/energy_kwh") == [(1.0, 7), (2.0, 7)]
    assert found.data.metrics == {"greenai/energy_kwh": 2.0}  # MLflow's latest value
    assert found.info.status == "FINISHED"


def test_a_sink_opened_in_another_thread_ends_its_run(experiment_id: str) -> None:
    opened: list[mlflow_sink.MlflowSink] = []
    opener = threading.Thread(target=lambda: opened.append(mlflow_sink.open_sink("threads")))
    opener.start()
    opener.join()
    (sink,) = opened
    assert MlflowClient().get_run(sink.run_id).info.status == "RUNNING"

    sink.close()  # here, where the run is not MLflow's active one

    (found,) = MlflowClient().search_runs([experiment_id])
    assert found.info.status == "FINISHED"


def test_sinks_log_steps_and_drop_a_tracker_after_its_first_failure(experiment_id: str) -> None:
    trackers = sinks.Sinks(sinks.sink_names("mlflow"), "steps-of-a-callback")
    assert trackers.names == ("mlflow",) and trackers.take_problems() == []
    trackers.log({"greenai/energy_kwh": 1.0}, step=1)
    trackers.log({"greenai/energy_kwh": 2.0}, step=2)
    (found,) = MlflowClient().search_runs([experiment_id])
    assert history(found.info.run_id, "greenai/energy_kwh") == [(1.0, 1), (2.0, 2)]

    MlflowClient().delete_run(found.info.run_id)  # the tracker refuses from now on
    trackers.log({"greenai/energy_kwh": 3.0}, step=3)
    trackers.log({"greenai/energy_kwh": 4.0}, step=4)

    (problem,) = trackers.take_problems()  # once, not at every step
    assert problem.startswith("could not log figures to mlflow")
    assert trackers.names == ()
    trackers.close()  # the run it started is ended all the same (deleted: refused)
    assert mlflow.active_run() is None
    assert [p.split(":")[0] for p in trackers.take_problems()] == ["could not close mlflow"]
