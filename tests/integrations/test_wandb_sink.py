"""Weights & Biases receives a run's figures and tags: the real W&B in offline mode
(``WANDB_MODE=offline``, files in tmp_path), read back from the run's ``.wandb`` file;
the run on the fake GPUs' manual clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import wandb

from greenai.figures.logged import tracker_tags
from greenai.integrations import wandb_sink
from tests.fake_nvml.driver import FakeNvml
from tests.integrations.runs import EXACT, known_run, ledger_figures, ledger_run
from tests.integrations.wandb_records import offline_run
from tests.tracking.manual import manual_hub

__all__ = ["manual_hub"]

pytestmark = pytest.mark.usefixtures("wandb_dir")


@pytest.fixture(scope="module")
def wandb_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """W&B offline, its runs under one folder for the module (its service starts once)."""
    folder = tmp_path_factory.mktemp("wandb")
    wandb.teardown()  # settings are read when W&B sets up: set up here, with these
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {
            "WANDB_MODE": "offline",
            "WANDB_DIR": str(folder),
            "WANDB_SILENT": "true",
            "WANDB_CONSOLE": "off",
            "WANDB_DISABLE_GIT": "true",
        }.items():
            patch.setenv(key, value)
        yield folder
        if wandb.run is not None:
            wandb.run.finish()
        wandb.teardown()


def greenai_row(history: list[dict[str, object]]) -> dict[str, object]:
    (row,) = [r for r in history if any(k.startswith("greenai/") for k in r)]
    return row


@pytest.mark.usefixtures("manual_hub")
def test_a_run_of_its_own_gets_the_ledger_figures_and_is_finished(
    fake_nvml: FakeNvml, wandb_dir: Path
) -> None:
    run = known_run(fake_nvml, "wb-own", log_to="wandb")

    assert wandb.run is None
    found = offline_run(wandb_dir, "wb-own")
    assert found.exited
    figures = ledger_figures(run)
    assert figures.items() >= EXACT.items()
    row = greenai_row(found.history)
    assert {k: v for k, v in row.items() if k.startswith("greenai/")} == figures
    tags = tracker_tags(ledger_run(run))
    assert tags["greenai/run_id"] == run.id
    assert found.config.items() >= tags.items()


@pytest.mark.usefixtures("manual_hub")
def test_the_current_user_run_is_used_and_left_open(fake_nvml: FakeNvml, wandb_dir: Path) -> None:
    user = wandb.init(name="wb-user")
    user.log({"loss": 0.5}, step=10)
    run = known_run(fake_nvml, "inside", log_to="wandb")
    assert wandb.run is user
    user.log({"loss": 0.25}, step=11)  # still open
    user.finish()

    found = offline_run(wandb_dir, "wb-user")
    row = greenai_row(found.history)
    assert row["_step"] == 10  # the run's current step: the figures had none
    assert {k: v for k, v in row.items() if k.startswith("greenai/")} == ledger_figures(run)
    assert {r["_step"]: r.get("loss") for r in found.history} == {10: 0.5, 11: 0.25}
    assert found.config["greenai/run_id"] == run.id


def test_a_step_behind_the_run_is_logged_at_its_current_step(wandb_dir: Path) -> None:
    user = wandb.init(name="wb-steps")
    user.log({"loss": 1.0}, step=10)
    sink = wandb_sink.open_sink("unused")
    assert sink.run is user and not sink.owned
    sink.log({"greenai/energy_kwh": 1.0}, 5)  # W&B itself would drop it
    sink.log({"greenai/energy_kwh": 2.0}, 12)
    sink.close()
    user.finish()

    history = offline_run(wandb_dir, "wb-steps").history
    assert [(r["_step"], r.get("greenai/energy_kwh")) for r in history] == [(10, 1.0), (12, 2.0)]
