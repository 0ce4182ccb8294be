"""greenai's Lightning callback with the real Lightning on CPU: a tiny LightningModule on
random tensors, the fake NVML GPUs on their manual clock (each training step takes 1 s,
each validation, test or prediction batch 0.5 s: two GPUs at 100 W, so exactly 200 J and
100 J), real CSV and MLflow loggers read back, and the runs as the ledger holds them."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from hypothesis import given
from hypothesis import strategies as st
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.loggers import CSVLogger, MLFlowLogger
from torch.utils.data import DataLoader

from greenai.figures import flags as fl
from greenai.figures import logged
from greenai.figures.logged import tracker_figures, tracker_tags
from greenai.integrations.lightning import GreenAICallback
from greenai.integrations.lightning_figures import ROW_LENGTH, job_figures, job_record, rank_row
from greenai.integrations.lightning_meta import greenai_precision, run_options
from greenai.tracking.run import GreenAIWarning
from tests.fake_nvml.driver import FakeNvml, subprocess_env
from tests.integrations.mlflow_store import history, tracking_uri
from tests.tracking.helpers import stored
from tests.tracking.manual import manual_hub

__all__ = ["manual_hub", "tracking_uri"]

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*does not have many workers:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*isinstance.treespec, LeafSpec.*"),
    pytest.mark.filterwarnings("ignore:.*litlogger.*"),
    pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no:UserWarning"),
]

STEP_S, BATCH_S = 1.0, 0.5  # manual time a training step / an evaluation batch takes
GPU_W = 200.0  # two fake GPUs at 100 W
MASK_TOKENS = 7  # ones in every batch's attention mask
MAX_STEPS, EVERY = 6, 2
REPO = Path(__file__).resolve().parents[2]


class Tiny(LightningModule):
    """A linear layer on dict batches; every step moves the fake GPUs' clock."""

    def __init__(self, fake: FakeNvml | None, fail: BaseException | None = None) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)
        self.fake, self.fail = fake, fail

    def _spend(self, seconds: float) -> None:
        if self.fake is not None:
            self.fake.set_time(self.fake.now() + seconds)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        if self.fail is not None and batch_idx == 2:
            raise self.fail
        self._spend(STEP_S)
        loss: torch.Tensor = self.layer(batch["x"]).pow(2).mean()
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._spend(BATCH_S)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._spend(BATCH_S)

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        self._spend(BATCH_S)
        predicted: torch.Tensor = self.layer(batch["x"])
        return predicted

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)


def batches(n: int) -> DataLoader[Any]:
    """``n`` dict batches of 2 rows, each mask with :data:`MASK_TOKENS` ones."""
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]])
    items = [{"x": torch.randn(2, 4), "attention_mask": mask} for _ in range(n)]
    return DataLoader(items, batch_size=None)  # type: ignore[arg-type]


def trainer(callback: Callback | None, logger: Any = False, **kwargs: Any) -> Trainer:
    options: dict[str, Any] = {
        "max_steps": MAX_STEPS,
        "log_every_n_steps": EVERY,
        "limit_val_batches": 2,
        "val_check_interval": 3,  # validation after steps 3 and 6
        "num_sanity_val_steps": 0,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "accelerator": "cpu",
        "devices": 1,
        **kwargs,
    }
    return Trainer(callbacks=[callback] if callback else [], logger=logger, **options)


def ledger(callback: Any) -> dict[str, Any]:
    """The callback's latest run as the ledger holds it, with its windows."""
    assert callback.last_run is not None and callback.run is None
    record = stored(callback.last_run.id)
    return {**record["run"], "windows": record["windows"]}


def fit(fake: FakeNvml | None, callback: GreenAICallback, logger: Any = False, **kw: Any) -> Any:
    """Fit :class:`Tiny` for 6 steps (8 s of manual time: 6 steps, 2 validations of 2
    batches); the run as the ledger holds it."""
    trainer(callback, logger, **kw).fit(Tiny(fake), batches(8), batches(2))
    return ledger(callback)


def csv_rows(logger: CSVLogger) -> list[dict[str, str]]:
    with open(Path(logger.log_dir) / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def restore_sigint() -> Iterator[None]:
    """Lightning ignores SIGINT from a KeyboardInterrupt on (its graceful shutdown)."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


# -- runs and windows ------------------------------------------------------------------


@pytest.mark.usefixtures("manual_hub")
def test_fit_is_one_run_with_its_stages_as_nested_windows(fake_nvml: FakeNvml) -> None:
    run = fit(fake_nvml, GreenAICallback(project="p", technique="lora"))
    assert run["status"] == "completed"
    assert (run["project"], run["technique"], run["phase"]) == ("p", "lora", "training")
    assert (run["model"], run["precision"]) == ("Tiny", "fp32")
    assert run["tags"]["lightning_precision"] == "32-true"
    assert run["energy_j"] == pytest.approx(GPU_W * 8.0)
    windows = run["windows"]
    assert [w["name"] for w in windows] == ["fit", "validate", "validate"]
    fit_window, *validations = windows
    assert fit_window["energy_j"] == pytest.approx(run["energy_j"])
    for window in validations:
        assert window["parent_window_id"] == fit_window["id"]
        assert window["energy_j"] == pytest.approx(GPU_W * 2 * BATCH_S)
        assert window["tokens_input"] == 2 * MASK_TOKENS
    assert (run["tokens_output"], run["tokens_input"]) == (6 * MASK_TOKENS, 4 * MASK_TOKENS)
    assert fit_window["tokens_output"] == run["tokens_output"]


@pytest.mark.usefixtures("manual_hub")
def test_validate_alone_gets_a_run_with_its_precision(fake_nvml: FakeNvml) -> None:
    callback = GreenAICallback(phase="fine-tuning")  # the fit's phase, not validation's
    trainer(callback, precision="bf16-mixed").validate(Tiny(fake_nvml), batches(2))
    run = ledger(callback)
    assert (run["status"], run["phase"], run["precision"]) == ("completed", "evaluation", "bf16")
    assert run["tags"]["lightning_precision"] == "bf16-mixed"
    assert [(w["name"], w["energy_j"]) for w in run["windows"]] == [
        ("validate", pytest.approx(GPU_W * 2 * BATCH_S))
    ]
    assert run["tokens_input"] == 2 * MASK_TOKENS


@pytest.mark.usefixtures("manual_hub")
def test_test_and_predict_are_runs_of_their_own(fake_nvml: FakeNvml) -> None:
    callback = GreenAICallback(tokens=lambda batch: 3)
    lightning = trainer(callback)
    model = Tiny(fake_nvml)
    lightning.test(model, batches(2))
    tested = ledger(callback)
    predictions = lightning.predict(model, batches(3))
    predicted = ledger(callback)
    assert predictions is not None and len(predictions) == 3
    assert tested["id"] != predicted["id"]
    assert (tested["phase"], [w["name"] for w in tested["windows"]]) == ("evaluation", ["test"])
    assert (predicted["phase"], [w["name"] for w in predicted["windows"]]) == (
        "inference",
        ["predict"],
    )
    assert predicted["energy_j"] == pytest.approx(GPU_W * 3 * BATCH_S)
    assert (predicted["tokens_input"], predicted["tokens_output"]) == (9, 0)


@pytest.mark.usefixtures("manual_hub")
def test_trainer_calls_inside_a_greenai_run_are_its_children(fake_nvml: FakeNvml) -> None:
    import greenai

    callback = GreenAICallback()
    with greenai.track(name="experiment") as outer:
        fit(fake_nvml, callback)
        fitted = callback.last_run
        trainer(callback).test(Tiny(fake_nvml), batches(2))
    assert fitted is not None and callback.last_run is not None
    assert fitted.parent_run_id == outer.id == callback.last_run.parent_run_id
    assert outer.energy_j == pytest.approx(GPU_W * (8.0 + 2 * BATCH_S))


# -- tokens ----------------------------------------------------------------------------


@pytest.mark.usefixtures("manual_hub")
def test_a_tokens_hook_counts_input_and_output(fake_nvml: FakeNvml) -> None:
    seen: list[object] = []

    def tokens(batch: dict[str, torch.Tensor]) -> tuple[int, torch.Tensor]:
        seen.append(batch)
        return 3, batch["attention_mask"].sum() * 2

    run = fit(fake_nvml, GreenAICallback(tokens=tokens))
    assert len(seen) == MAX_STEPS + 4  # every training and validation batch
    assert run["tokens_input"] == 3 * (MAX_STEPS + 4)
    assert run["tokens_output"] == 2 * MASK_TOKENS * (MAX_STEPS + 4)


@pytest.mark.usefixtures("manual_hub")
def test_a_failing_tokens_hook_is_a_flag_and_training_completes(fake_nvml: FakeNvml) -> None:
    def tokens(batch: object) -> int:
        raise ValueError("no tokens here")

    with pytest.warns(GreenAIWarning, match="tokens= hook failed") as caught:
        run = fit(fake_nvml, GreenAICallback(tokens=tokens))
    assert len([w for w in caught if issubclass(w.category, GreenAIWarning)]) == 1
    assert run["status"] == "completed" and fl.TOKENS_CALLBACK in run["flags"]
    assert run["tokens_input"] == run["tokens_output"] == 0
    assert run["energy_j"] == pytest.approx(GPU_W * 8.0)  # all 6 steps ran


@pytest.mark.usefixtures("manual_hub")
def test_a_count_that_is_not_a_number_is_flagged_not_raised(fake_nvml: FakeNvml) -> None:
    with pytest.warns(GreenAIWarning, match="expected a whole number"):
        run = fit(fake_nvml, GreenAICallback(tokens=lambda batch: "many"))
    assert run["status"] == "completed" and fl.INVALID_COUNT in run["flags"]


def test_batches_without_an_attention_mask_count_nothing() -> None:
    callback = GreenAICallback()
    lightning = trainer(callback)
    items = [(torch.randn(2, 4),) for _ in range(3)]

    class Plain(Tiny):
        def validation_step(self, batch: Any, batch_idx: int) -> None:
            return None

    lightning.validate(Plain(None), DataLoader(items, batch_size=None))  # type: ignore[arg-type]
    run = callback.last_run
    assert run is not None and run.status == "completed"
    assert (run.tokens_input, run.tokens_output) == (0, 0)
    assert not [f for f in run.flags if f.startswith(("invalid", "tokens"))]


# -- failures of the training ----------------------------------------------------------


@pytest.mark.usefixtures("manual_hub")
def test_an_exception_fails_the_run_and_propagates_unchanged(fake_nvml: FakeNvml) -> None:
    boom = RuntimeError("boom")
    callback = GreenAICallback()
    with pytest.raises(RuntimeError) as raised:
        trainer(callback).fit(Tiny(fake_nvml, fail=boom), batches(8))
    assert raised.value is boom
    run = ledger(callback)
    assert (run["status"], run["error"]) == ("failed", "RuntimeError: boom")
    assert run["energy_j"] == pytest.approx(GPU_W * 2 * STEP_S)  # two steps before it
    assert [w["name"] for w in run["windows"]] == ["fit"]
    assert run["windows"][0]["ended_at"] is not None


@pytest.mark.usefixtures("manual_hub")
def test_a_logger_that_fails_at_the_end_leaves_the_exception_unchanged(
    fake_nvml: FakeNvml, tmp_path: Path
) -> None:
    boom = RuntimeError("boom")
    callback = GreenAICallback()
    logger = RefusingTags(tmp_path / "logs")
    with pytest.raises(RuntimeError) as raised, pytest.warns(GreenAIWarning, match="could not tag"):
        trainer(callback, logger).fit(Tiny(fake_nvml, fail=boom), batches(8))
    assert raised.value is boom
    assert ledger(callback)["status"] == "failed"
    rows = [r for r in csv_rows(logger) if r.get(logged.IT_ENERGY_J.key)]
    assert [int(r["step"]) for r in rows] == [1, 2]  # step 2, then the totals at the failure
    assert float(rows[-1][logged.IT_ENERGY_J.key]) == pytest.approx(GPU_W * 2 * STEP_S)


@pytest.mark.usefixtures("manual_hub", "restore_sigint")
def test_a_keyboard_interrupt_marks_the_run_interrupted(fake_nvml: FakeNvml) -> None:
    callback = GreenAICallback()
    with pytest.raises(SystemExit) as raised:  # Lightning's graceful shutdown exits 1
        trainer(callback).fit(Tiny(fake_nvml, fail=KeyboardInterrupt()), batches(8))
    assert raised.value.code == 1
    run = ledger(callback)
    assert run["status"] == "interrupted"
    assert run["error"].startswith("KeyboardInterrupt")
    assert fl.INTERRUPTED in run["flags"]


# -- monitoring failures leave the training as it would be without greenai -------------


class LosingGpus(Tiny):
    """Both fake GPUs fall off the bus before the fourth training step."""

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        if batch_idx == 3 and self.fake is not None:
            self.fake.set_lost(0, True)
            self.fake.set_lost(1, True)
        return super().training_step(batch, batch_idx)


def trained(module: type[Tiny], fake: FakeNvml | None, callback: Callback | None) -> Any:
    """The trained weights and the trainer's final state of a seeded fit of 6 steps."""
    torch.manual_seed(1234)
    model, data, validation = module(fake), batches(8), batches(2)
    lightning = trainer(callback)
    lightning.fit(model, data, validation)
    weights = [p.detach().clone() for p in model.parameters()]
    return weights, lightning.state.status.value, lightning.global_step


@pytest.mark.usefixtures("manual_hub")
def test_gpus_lost_mid_training_leave_the_training_as_it_would_be(fake_nvml: FakeNvml) -> None:
    callback = GreenAICallback()
    weights, status, steps = trained(LosingGpus, fake_nvml, callback)
    without = trained(LosingGpus, fake_nvml, None)
    assert (status, steps) == ("finished", MAX_STEPS) == without[1:]
    assert all(torch.equal(a, b) for a, b in zip(weights, without[0], strict=True))
    run = ledger(callback)
    assert run["status"] == "completed"
    assert {fl.lost_device("gpu:0"), fl.lost_device("gpu:1")} <= set(run["flags"])
    # the energy up to the loss is kept: 3 steps and the first validation
    assert run["energy_j"] == pytest.approx(GPU_W * (3 * STEP_S + 2 * BATCH_S))


def test_an_unreachable_ledger_leaves_the_training_as_it_would_be(tmp_path: Path) -> None:
    from greenai.ledger.journal import journal_for

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the ledger's folder should be")
    url = f"sqlite:///{blocker}/ledger.db"
    without = trained(Tiny, None, None)
    callback = GreenAICallback(db_url=url)
    weights, status, steps = trained(Tiny, None, callback)
    assert (status, steps) == ("finished", MAX_STEPS) == without[1:]
    assert all(torch.equal(a, b) for a, b in zip(weights, without[0], strict=True))
    run = callback.last_run
    assert run is not None and run.status == "completed"
    assert run.tokens_output == MAX_STEPS * MASK_TOKENS
    assert journal_for(url).pending() >= 1  # the record waits for the ledger


# -- what the loggers get --------------------------------------------------------------


@pytest.mark.usefixtures("manual_hub")
def test_csv_logger_gets_the_step_figures_and_the_ledger_totals(
    fake_nvml: FakeNvml, tmp_path: Path
) -> None:
    logger = CSVLogger(tmp_path / "logs")
    run = fit(fake_nvml, GreenAICallback(), logger)
    rows = [r for r in csv_rows(logger) if r.get(logged.IT_ENERGY_J.key)]
    # Logging steps 2, 4, 6 (Lightning's step column: 1, 3, 5), then the totals at 6.
    assert [int(r["step"]) for r in rows] == [1, 3, 5, MAX_STEPS]
    elapsed_s = [2.0, 5.0, 7.0]  # validation after step 3 took 1 s
    for row, t_s in zip(rows, elapsed_s, strict=False):
        assert float(row[logged.IT_ENERGY_J.key]) == pytest.approx(GPU_W * t_s, rel=1e-12)
        assert float(row[logged.GPU_ENERGY_J.key]) == pytest.approx(GPU_W * t_s, rel=1e-12)
        assert float(row[logged.DURATION_S.key]) == pytest.approx(t_s, rel=1e-12)
    tokens = [float(r[logged.TOKENS.key]) for r in rows]
    assert tokens[:3] == [2 * MASK_TOKENS, 6 * MASK_TOKENS, 8 * MASK_TOKENS]
    totals = {k: float(v) for k, v in rows[-1].items() if k.startswith(logged.PREFIX) and v}
    assert totals == tracker_figures(run)  # exactly the ledger's
    hparams = yaml.safe_load((Path(logger.log_dir) / "hparams.yaml").read_text())
    assert hparams == tracker_tags(run)


@pytest.mark.usefixtures("manual_hub")
def test_mlflow_logger_gets_the_figures_over_steps_and_the_tags(
    fake_nvml: FakeNvml, tracking_uri: str
) -> None:
    logger = MLFlowLogger(experiment_name="lightning", tracking_uri=tracking_uri)
    run = fit(fake_nvml, GreenAICallback(), logger)
    figures = tracker_figures(run)
    points = history(str(logger.run_id), logged.IT_ENERGY_J.key)
    assert points == [(GPU_W * 2.0, 1), (GPU_W * 5.0, 3), (GPU_W * 7.0, 5), (figures[
        logged.IT_ENERGY_J.key], MAX_STEPS)]  # fmt: skip
    for key, value in figures.items():
        assert history(str(logger.run_id), key)[-1] == (value, MAX_STEPS)
    tags = logger.experiment.get_run(logger.run_id).data.tags
    assert tags.items() >= tracker_tags(run).items()
    assert tags[logged.PREFIX + "run_id"] == run["id"]


@pytest.mark.usefixtures("manual_hub")
def test_no_step_figures_when_asked_but_the_totals_still(
    fake_nvml: FakeNvml, tmp_path: Path
) -> None:
    logger = CSVLogger(tmp_path / "logs")
    run = fit(fake_nvml, GreenAICallback(log_steps=False), logger)
    rows = [r for r in csv_rows(logger) if r.get(logged.IT_ENERGY_J.key)]
    assert [int(r["step"]) for r in rows] == [MAX_STEPS]
    assert float(rows[0][logged.IT_ENERGY_J.key]) == run["energy_j"]


class RefusingLog(Tiny):
    """A module whose ``log_dict`` refuses greenai's figures (a user's override)."""

    def log_dict(self, dictionary: Any, *args: Any, **kwargs: Any) -> None:
        if any(str(k).startswith(logged.PREFIX) for k in dictionary):
            raise RuntimeError("not these")
        super().log_dict(dictionary, *args, **kwargs)


class RefusingTags(CSVLogger):
    """A logger that takes metrics but refuses hyperparameters."""

    def log_hyperparams(self, params: Any = None, *args: Any, **kwargs: Any) -> None:
        raise OSError("read-only")


@pytest.mark.usefixtures("manual_hub")
def test_logging_failures_are_warnings_and_a_flag(fake_nvml: FakeNvml, tmp_path: Path) -> None:
    callback = GreenAICallback()
    logger = RefusingTags(tmp_path / "logs")
    with pytest.warns(GreenAIWarning) as caught:
        trainer(callback, logger).fit(RefusingLog(fake_nvml), batches(8), batches(2))
    ours = [str(w.message) for w in caught if issubclass(w.category, GreenAIWarning)]
    messages = sorted({m.split(":")[1].strip() for m in ours})
    assert messages == [
        "could not log greenai's figures",
        "could not tag RefusingTags with greenai's sources",
    ]
    run = ledger(callback)
    assert run["status"] == "completed" and fl.TRACKER_LOG_FAILED in run["flags"]
    rows = [r for r in csv_rows(logger) if r.get(logged.IT_ENERGY_J.key)]
    assert [int(r["step"]) for r in rows] == [MAX_STEPS]  # the totals still


# -- options ---------------------------------------------------------------------------


def test_configuration_mistakes_fail_when_the_callback_is_made() -> None:
    import greenai

    with pytest.raises(TypeError, match="unknown keyword"):
        GreenAICallback(projekt="p")
    with pytest.raises(greenai.ConfigError):
        GreenAICallback(pue=0.5)
    with pytest.raises(greenai.ConfigError):
        GreenAICallback(batch_size=0)
    with pytest.raises(TypeError, match="tokens="):
        GreenAICallback(tokens=3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lightning", "greenai"),
    [("32-true", "fp32"), ("bf16-mixed", "bf16"), ("16-mixed", "fp16"), ("bf16-true", "bf16"),
     ("64-true", "fp64"), ("transformer-engine", "fp8"), ("nf4", "nf4"), (None, None)],
)  # fmt: skip
def test_precisions_in_greenais_names(lightning: str | None, greenai: str | None) -> None:
    assert greenai_precision(lightning) == greenai


def test_the_given_metadata_wins_over_the_stages_defaults() -> None:
    given_options = {"precision": "int8", "model": "m", "phase": "fine-tuning", "tags": {"a": "1"}}
    fitted = run_options(given_options, stage="fit", lightning_precision="bf16-mixed",
                         module_name="Tiny")  # fmt: skip
    assert fitted == {"phase": "fine-tuning", "precision": "int8", "model": "m",
                      "tags": {"a": "1", "lightning_precision": "bf16-mixed"}}  # fmt: skip
    tested = run_options(given_options, stage="test", lightning_precision=None, module_name="T")
    assert tested["phase"] == "evaluation" and "lightning_precision" not in tested["tags"]


# -- a job of several ranks ------------------------------------------------------------

_ENERGY = st.floats(min_value=0.0, max_value=1e9, allow_nan=False)


@st.composite
def rank_records(draw: Callable[..., Any]) -> dict[str, Any]:
    """A rank's run record with the fields the logged figures read."""
    kinds = draw(st.lists(st.sampled_from(["gpu", "cpu", "dram"]), unique=True))
    by_kind = {k: {"energy_j": draw(_ENERGY), "method": "counter"} for k in kinds}
    energy_j = sum(v["energy_j"] for v in by_kind.values())
    return {
        "id": "job/rank0",
        "energy_j": energy_j,
        "facility_energy_j": energy_j * draw(st.floats(1.0, 2.0)),
        "energy_by_kind": by_kind,
        "measured_energy_j": energy_j * draw(st.floats(0.0, 1.0)),
        "emissions_kg": draw(_ENERGY) / 1e6,
        "tokens_input": draw(st.integers(0, 10**12)),
        "tokens_output": draw(st.integers(0, 10**12)),
        "duration_s": draw(st.floats(0.0, 1e6)),
    }


@given(rank_records())
def test_a_one_rank_job_logs_exactly_its_runs_figures(record: dict[str, Any]) -> None:
    assert job_figures([rank_row(record)]) == tracker_figures(record)


@given(st.lists(rank_records(), min_size=2, max_size=8))
def test_a_jobs_figures_are_its_ranks_summed(records: list[dict[str, Any]]) -> None:
    rows = [rank_row(r) for r in records] + [rank_row(None)]  # a rank without a run
    job = job_record(rows)
    assert job["energy_j"] == pytest.approx(sum(r["energy_j"] for r in records))
    assert job["tokens_output"] == sum(r["tokens_output"] for r in records)
    assert job["duration_s"] == max(r["duration_s"] for r in records)
    kinds = {k for r in records for k in r["energy_by_kind"]}
    assert set(job["energy_by_kind"]) == kinds
    figures = job_figures(rows)
    tokens = job["tokens_input"] + job["tokens_output"]
    if tokens and job["energy_j"] > 0:
        assert figures[logged.J_PER_TOKEN.key] == pytest.approx(job["energy_j"] / tokens)
    assert len(rows[0]) == ROW_LENGTH


RANK_SCRIPT = """
import json, os, sys
sys.path.insert(0, {repo!r})
from lightning.pytorch import Trainer
from lightning.pytorch.loggers import CSVLogger
from greenai.integrations.lightning import GreenAICallback
from tests.integrations.test_lightning_callback import Tiny, batches
callback = GreenAICallback(project="ddp")
trainer = Trainer(max_steps=4, log_every_n_steps=2, accelerator="cpu", devices=2,
                  strategy="ddp", callbacks=[callback], enable_checkpointing=False,
                  logger=CSVLogger({out!r}, name="logs", version=0),
                  enable_progress_bar=False, enable_model_summary=False)
trainer.fit(Tiny(None), batches(8))
with open(os.path.join({out!r}, "rank%d.json" % trainer.global_rank), "w") as f:
    json.dump({{"run_id": callback.last_run.id}}, f)
"""


def test_two_torchrun_ranks_log_the_jobs_figures_once(
    tmp_path: Path, fake_nvml_library: Path
) -> None:
    """A real torchrun of 2 processes on the CPU (gloo) with the fake GPUs (one per rank,
    real time): the step figures are both ranks' summed, the totals the job's, written
    once (rank zero)."""
    out = tmp_path / "ranks"
    out.mkdir()
    script = tmp_path / "fit_rank.py"
    script.write_text(RANK_SCRIPT.format(repo=str(REPO), out=str(out)))
    env = subprocess_env(fake_nvml_library)
    env.update(GREENAI_RUN_ID="lightning-job-1", OMP_NUM_THREADS="1")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]
    done = subprocess.run([*torchrun, "--standalone", str(script)], env=env,
                          capture_output=True, text=True, timeout=240, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    ids = [json.loads((out / f"rank{r}.json").read_text())["run_id"] for r in (0, 1)]
    assert ids == ["lightning-job-1/rank0", "lightning-job-1/rank1"]
    parts = [stored(i)["run"] for i in ids]
    assert [p["tokens_output"] for p in parts] == [4 * MASK_TOKENS, 4 * MASK_TOKENS]
    log_dir = out / "logs" / "version_0"
    with open(log_dir / "metrics.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get(logged.IT_ENERGY_J.key)]
    assert [int(r["step"]) for r in rows] == [1, 3, 4]  # steps 2 and 4, then the totals
    assert [float(r[logged.TOKENS.key]) for r in rows] == [28.0, 56.0, 56.0]  # both ranks'
    energies = [float(r[logged.IT_ENERGY_J.key]) for r in rows]
    assert 0 < energies[0] < energies[1] <= energies[2]
    assert energies[2] == pytest.approx(sum(p["energy_j"] for p in parts), rel=1e-12)
    assert float(rows[-1][logged.DURATION_S.key]) == max(p["duration_s"] for p in parts)
    hparams = yaml.safe_load((log_dir / "hparams.yaml").read_text())
    assert hparams[logged.PREFIX + "run_id"] == "lightning-job-1"
    assert stored("lightning-job-1")["run"]["tokens_output"] == 8 * MASK_TOKENS


# -- the pytorch_lightning package -----------------------------------------------------


@pytest.mark.usefixtures("manual_hub")
def test_the_pytorch_lightning_package_gets_the_same_callback(fake_nvml: FakeNvml) -> None:
    import pytorch_lightning as pl

    from greenai.integrations.lightning_pl import GreenAICallback as PlCallback

    class PlTiny(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
            fake_nvml.set_time(fake_nvml.now() + STEP_S)
            loss: torch.Tensor = self.layer(batch["x"]).sum()
            return loss

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    callback = PlCallback()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pl.Trainer(max_steps=3, callbacks=[callback], logger=False, enable_checkpointing=False,
                   enable_progress_bar=False, enable_model_summary=False,
                   accelerator="cpu").fit(PlTiny(), batches(4))  # fmt: skip
    run = ledger(callback)
    assert run["energy_j"] == pytest.approx(GPU_W * 3 * STEP_S)
    assert (run["tokens_output"], [w["name"] for w in run["windows"]]) == (3 * MASK_TOKENS, ["fit"])
