"""``greenai.track(log_to=...)`` and ``greenai.start(log_to=...)``: names checked before
the job, the final figures to the tracker (the real MLflow, on a SQLite store in
tmp_path), and a tracker that is missing or fails never changing the job's outcome:
a warning and the run's ``tracker_log_failed`` flag, in the ledger."""

from __future__ import annotations

import sys
from pathlib import Path

import mlflow
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mlflow.tracking import MlflowClient

import greenai
from greenai.figures import flags as fl
from greenai.integrations import sinks
from greenai.tracking.lifecycle import active_runs
from greenai.tracking.run import GreenAIWarning
from tests.fake_nvml.driver import FakeNvml
from tests.integrations.mlflow_store import experiment_id, tracking_uri
from tests.integrations.runs import EXACT, known_run, ledger_figures, ledger_run
from tests.tracking.manual import manual_hub

__all__ = ["experiment_id", "manual_hub", "tracking_uri"]


def uninstall(monkeypatch: pytest.MonkeyPatch, tracker: str) -> None:
    """Make ``tracker`` unimportable for the test, as where it is not installed (None in
    ``sys.modules`` is Python's own way of refusing an import), with its sink module."""
    monkeypatch.setitem(sys.modules, tracker, None)
    monkeypatch.delitem(sys.modules, sinks.SINK_MODULES[tracker], raising=False)


def only_run(experiment: str) -> mlflow.entities.Run:
    (found,) = MlflowClient().search_runs([experiment])
    return found


# -- names, before the job --------------------------------------------------------------


@given(st.text(max_size=20).filter(lambda s: s.strip() and "," not in s))
def test_a_name_that_is_not_a_tracker_is_a_config_error(name: str) -> None:
    if name.strip().lower() in sinks.SINK_MODULES:
        assert sinks.sink_names(name) == (name.strip().lower(),)
        return
    with pytest.raises(greenai.ConfigError) as caught:
        greenai.track(log_to=name)
    assert "\n" not in str(caught.value).replace(repr(name), "")


@given(st.lists(st.sampled_from(["mlflow", " WandB", "trackio ", "MLFLOW"]), min_size=1))
def test_names_are_kept_once_in_order_whatever_their_case(names: list[str]) -> None:
    expected = tuple(dict.fromkeys(n.strip().lower() for n in names))
    assert sinks.sink_names(names) == expected
    assert sinks.sink_names(",".join(names)) == expected


def test_an_unknown_tracker_fails_before_the_job_runs() -> None:
    ran: list[bool] = []
    with pytest.raises(greenai.ConfigError, match="neptune"):

        @greenai.track(log_to=["mlflow", "neptune"])
        def job() -> None:
            ran.append(True)

    with pytest.raises(greenai.ConfigError, match="neptune"):
        greenai.start(log_to="neptune")
    with pytest.raises(greenai.ConfigError, match="invalid log_to=5"):
        greenai.start(log_to=5)
    assert ran == [] and active_runs() == []


# -- a missing or failing tracker never harms the job -----------------------------------


@pytest.mark.usefixtures("manual_hub")
def test_a_missing_tracker_is_a_warning_and_a_flag(
    fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch
) -> None:
    uninstall(monkeypatch, "mlflow")
    runs: list[object] = []

    @greenai.track(name="job", log_to="mlflow")
    def job() -> str:
        runs.append(greenai.current_run())
        fake_nvml.set_time(2.0)
        return "result"

    with pytest.warns(GreenAIWarning, match="mlflow could not.*pip install mlflow-skinny"):
        assert job() == "result"
    (run,) = runs
    assert isinstance(run, greenai.Run)
    record = ledger_run(run)
    assert record["status"] == "completed"
    assert fl.TRACKER_LOG_FAILED in record["flags"]


@pytest.mark.usefixtures("manual_hub")
def test_a_missing_tracker_keeps_the_job_s_exception_and_flags_the_ledger_run(
    fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch
) -> None:
    uninstall(monkeypatch, "wandb")
    error = ValueError("the job's own failure")

    with (
        pytest.warns(GreenAIWarning, match="wandb could not be imported"),
        pytest.raises(ValueError) as caught,
        greenai.track(log_to="wandb") as run,
    ):
        fake_nvml.set_time(2.0)
        raise error

    assert caught.value is error
    record = ledger_run(run)
    assert record["status"] == "failed"
    assert fl.TRACKER_LOG_FAILED in record["flags"]
    assert record["energy_gpu_j"] == pytest.approx(400.0)  # measured all the same


@pytest.mark.usefixtures("manual_hub")
def test_a_tracker_refusing_the_final_figures_is_flagged_in_the_ledger(
    fake_nvml: FakeNvml, experiment_id: str
) -> None:
    with pytest.warns(GreenAIWarning) as warned, greenai.track(log_to="mlflow") as run:
        fake_nvml.set_time(1.0)
        # the job deletes the tracker's run: MLflow refuses the final figures
        MlflowClient().delete_run(mlflow.active_run().info.run_id)

    problems = [str(w.message) for w in warned if issubclass(w.category, GreenAIWarning)]
    assert len(problems) == 2, problems
    assert "could not tag mlflow" in problems[0] and "is deleted" in problems[0]
    assert "could not close mlflow" in problems[1]  # ending it was tried all the same
    assert fl.TRACKER_LOG_FAILED in ledger_run(run)["flags"]
    assert run.status == "completed"
    assert mlflow.active_run() is None  # the run the sink started was ended all the same
    assert MlflowClient().search_runs([experiment_id]) == []  # deleted: no figures


@pytest.mark.usefixtures("manual_hub")
def test_a_tracker_that_cannot_be_reached_is_a_warning_and_a_flag(
    fake_nvml: FakeNvml, tracking_uri: str, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("")
    unreachable = tmp_path / "a-file" / "mlflow.db"  # no store can be made under a file
    mlflow.set_tracking_uri(f"sqlite:///{unreachable}")
    try:
        with pytest.warns(GreenAIWarning, match="mlflow could not be opened"):
            run = known_run(fake_nvml, "unreachable", log_to="mlflow")
    finally:
        mlflow.set_tracking_uri(tracking_uri)

    record = ledger_run(run)
    assert record["status"] == "completed"
    assert fl.TRACKER_LOG_FAILED in record["flags"]
    assert ledger_figures(run).items() >= EXACT.items()  # measured all the same


# -- what the tracker receives ----------------------------------------------------------


@pytest.mark.usefixtures("manual_hub")
def test_the_tracker_receives_the_ledger_s_figures_and_the_other_tracker_s_failure(
    fake_nvml: FakeNvml, experiment_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    uninstall(monkeypatch, "trackio")
    with pytest.warns(GreenAIWarning, match="trackio could not be imported"):
        run = known_run(fake_nvml, "two-trackers", log_to="mlflow,trackio")

    found = only_run(experiment_id)
    figures = ledger_figures(run)
    assert figures.items() >= EXACT.items()
    assert found.data.metrics == figures
    assert found.data.tags["greenai/run_id"] == run.id
    assert fl.TRACKER_LOG_FAILED in found.data.tags["greenai/flags"].split(",")
    assert fl.TRACKER_LOG_FAILED in ledger_run(run)["flags"]


@pytest.mark.usefixtures("manual_hub")
def test_a_started_run_logs_when_it_is_stopped(fake_nvml: FakeNvml, experiment_id: str) -> None:
    run = greenai.start(name="started", log_to="mlflow")
    fake_nvml.set_time(1.5)
    assert MlflowClient().search_runs([experiment_id])[0].data.metrics == {}
    run.stop()

    found = only_run(experiment_id)
    assert found.info.run_name == "started"
    assert found.data.metrics == ledger_figures(run)
    assert found.data.metrics["greenai/gpu_energy_j"] == pytest.approx(300.0)


@pytest.mark.usefixtures("manual_hub")
def test_each_call_of_a_decorated_job_is_a_tracker_run_of_its_own(
    fake_nvml: FakeNvml, experiment_id: str
) -> None:
    @greenai.track(log_to="mlflow")
    def job(until_s: float) -> None:
        fake_nvml.set_time(until_s)

    job(1.0)
    job(3.0)

    found = MlflowClient().search_runs([experiment_id], order_by=["attributes.start_time"])
    energies = [r.data.metrics["greenai/gpu_energy_j"] for r in found]
    assert energies == pytest.approx([200.0, 400.0])
    assert all(r.info.status == "FINISHED" for r in found)


@pytest.mark.usefixtures("manual_hub")
@pytest.mark.parametrize("rank", [0, 1])
def test_in_a_multi_rank_job_only_rank_0_logs_its_part(
    fake_nvml: FakeNvml, experiment_id: str, monkeypatch: pytest.MonkeyPatch, rank: int
) -> None:
    torchrun = {"RANK": rank, "WORLD_SIZE": 2, "LOCAL_RANK": rank, "LOCAL_WORLD_SIZE": 2}
    for key, value in torchrun.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", f"job-{rank}")

    run = known_run(fake_nvml, "ranked", log_to="mlflow")

    found = MlflowClient().search_runs([experiment_id])
    assert ledger_run(run)["rank"] == rank
    if rank != 0:
        assert found == []  # no tracker run of its own
        return
    (logged,) = found
    assert logged.data.metrics == ledger_figures(run)
    assert logged.data.metrics["greenai/gpu_energy_j"] == pytest.approx(300.0)  # its GPU
    assert logged.data.tags["greenai/run_id"] == run.id
    assert logged.data.tags["greenai/rank"] == "0"
    assert logged.data.tags["greenai/world_size"] == "2"
