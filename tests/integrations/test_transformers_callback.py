"""The Hugging Face Trainer integration with the real transformers, on the CPU.

A tiny GPT-2 (one layer, width 32) trains for 4 steps on 8 sentences. Where an exact
energy is asserted, the run is measured by two fake NVML GPUs at 100 W on the fake's
manual clock, which a callback moves by 1 s per training step: at step n the run has
had exactly 200 W x n s. Nothing is mocked; a quantized model, which needs a GPU, is
stood in for by the attributes transformers sets (said in that test), and the real PEFT
is used where it is installed.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import DataCollatorForLanguageModeling, TrainerCallback

from greenai.figures import flags as fl
from greenai.figures import logged
from greenai.figures.units import kwh
from greenai.integrations import hf_meta
from greenai.integrations.hf_tokens import TokenCounter
from greenai.integrations.transformers import GreenAICallback, attach
from tests.fake_nvml.driver import FakeNvml
from tests.integrations import hf_fixtures as hf
from tests.integrations.mlflow_store import experiment_id, tracking_uri
from tests.tracking.helpers import stored
from tests.tracking.manual import manual_hub

__all__ = ["experiment_id", "manual_hub", "tracking_uri"]

REPO = Path(__file__).resolve().parents[2]
GPU_W = 200.0  # two fake GPUs at 100 W


class StepClock(TrainerCallback):  # type: ignore[misc]
    """Moves the fake NVML clock by 1 s at each training step."""

    def __init__(self, fake: FakeNvml) -> None:
        self.fake = fake

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.fake.set_time(self.fake.now() + 1.0)


class RecordingCollator(DataCollatorForLanguageModeling):
    """The tiny model's collator, keeping each training batch's attention-mask sum."""

    masks: list[int]

    def __call__(self, features: Any, return_tensors: Any = None) -> Any:
        batch = super().__call__(features, return_tensors)
        self.masks.append(int(batch["attention_mask"].sum()))
        return batch


def recording_trainer(out: Path, callbacks: list[Any], **overrides: Any) -> Any:
    trainer = hf.make_trainer(out, callbacks=callbacks, **overrides)
    collator = RecordingCollator(trainer.processing_class, mlm=False)
    collator.masks = []
    trainer.data_collator = collator
    return trainer


def greenai_figures(entry: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in entry.items() if k.startswith(logged.PREFIX)}


def ledger_figures(run_id: str) -> dict[str, float]:
    return logged.tracker_figures(stored(run_id)["run"])


def train_entries(trainer: Any) -> list[dict[str, Any]]:
    return [e for e in trainer.state.log_history if "loss" in e or "train_runtime" in e]


# -- metadata ------------------------------------------------------------------------


class PeftType(str, enum.Enum):  # noqa: UP042 - as peft defines it
    """PEFT's own enum shape (``peft.PeftType``): a str enum whose values are upper case."""

    LORA = "LORA"
    IA3 = "IA3"


@dataclasses.dataclass
class AdapterConfig:
    """The fields of a ``peft.PeftConfig`` that are read."""

    peft_type: PeftType
    base_model_name_or_path: str


def test_metadata_from_a_saved_model_and_its_arguments(tmp_path: Path) -> None:
    tok = hf.tokenizer()
    hf.tiny_model(tok).save_pretrained(tmp_path / "tiny-gpt2")
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel.from_pretrained(tmp_path / "tiny-gpt2")
    meta = hf_meta.detect(model, hf.training_args(tmp_path), "training")
    assert meta == {
        "model": str(tmp_path / "tiny-gpt2"),
        "base_model": str(tmp_path / "tiny-gpt2"),
        "precision": "fp32",
        "technique": "baseline",
        "phase": "training",
        "batch_size": 2,
    }
    model = model.to(torch.bfloat16)
    assert hf_meta.detect(model, None, "inference")["precision"] == "bf16"
    bf16_args = hf.training_args(tmp_path, bf16=True, run_name="sweep-1")
    meta = hf_meta.detect(hf.tiny_model(tok), bf16_args, "training")
    assert (meta["precision"], meta["technique"], meta["name"]) == ("bf16", "bf16", "sweep-1")
    assert meta["model"] == "GPT2LMHeadModel"  # not loaded from anywhere: its class


def test_adapters_and_quantization_name_the_technique(tmp_path: Path) -> None:
    """Quantized models need bitsandbytes and a GPU, which cannot exist here: the model
    carries ``quantization_config`` as transformers sets it, and ``peft_config`` as PEFT
    (and transformers' adapter integration) set it, a dict of adapter configs. The real
    PEFT is tested below."""
    args = hf.training_args(tmp_path)
    model = hf.tiny_model(hf.tokenizer())
    model.peft_config = {"default": AdapterConfig(PeftType.LORA, "org/base-7b")}
    meta = hf_meta.detect(model, args, "training")
    assert (meta["technique"], meta["base_model"], meta["precision"]) == (
        "lora",
        "org/base-7b",
        "fp32",
    )
    model.config.quantization_config = {"load_in_4bit": True, "quant_method": "bitsandbytes"}
    meta = hf_meta.detect(model, args, "training")
    assert (meta["technique"], meta["precision"]) == ("qlora", "int4")
    model.peft_config = {"default": AdapterConfig(PeftType.IA3, "org/base-7b")}
    assert hf_meta.detect(model, args, "training")["technique"] == "ia3"
    del model.peft_config
    model.config.quantization_config = {"load_in_8bit": True}
    assert hf_meta.detect(model, args, "inference")["technique"] == "int8"


def test_a_real_peft_lora_model_trains_as_lora_on_its_base_model(
    tmp_path: Path, fake_nvml: FakeNvml, manual_hub: object
) -> None:
    peft = pytest.importorskip(
        "peft", reason="peft is not installed: the LoRA case needs the real PEFT"
    )
    from transformers import GPT2LMHeadModel

    tok = hf.tokenizer()
    base_dir = tmp_path / "tiny-gpt2"
    hf.tiny_model(tok).save_pretrained(base_dir)
    lora = peft.LoraConfig(
        r=2, lora_alpha=4, target_modules=["c_attn"], fan_in_fan_out=True, task_type="CAUSAL_LM"
    )
    model = peft.get_peft_model(GPT2LMHeadModel.from_pretrained(base_dir), lora)
    trainer = recording_trainer(tmp_path / "out", [], model=model, max_steps=2)
    callback = attach(trainer)
    trainer.train()
    row = stored(callback.slot.run.id)["run"]
    assert (row["technique"], row["base_model"], row["precision"], row["status"]) == (
        "lora",
        str(base_dir),
        "fp32",
        "completed",
    )
    # the batches of the 2 steps (the data loader collates one more ahead)
    assert row["tokens_output"] == sum(trainer.data_collator.masks[:2]) > 0


def test_options_override_what_is_detected(
    tmp_path: Path, fake_nvml: FakeNvml, manual_hub: object
) -> None:
    trainer = hf.make_trainer(tmp_path / "out", max_steps=2)
    callback = attach(
        trainer, project="chat", model="my-gpt", technique="distillation", tags={"team": "a"}
    )
    trainer.train()
    row = stored(callback.slot.run.id)["run"]
    assert (row["project"], row["model"], row["technique"], row["phase"]) == (
        "chat",
        "my-gpt",
        "distillation",
        "training",
    )
    assert (row["precision"], row["batch_size"]) == ("fp32", 2)
    assert row["tags"] == {"team": "a"}


def test_a_bad_option_fails_before_training(tmp_path: Path) -> None:
    trainer = hf.make_trainer(tmp_path / "out")
    with pytest.raises(TypeError, match="unknown keyword"):
        attach(trainer, projet="typo")
    from greenai import ConfigError

    with pytest.raises(ConfigError):
        attach(trainer, pue=0.5)
    assert not any(isinstance(cb, GreenAICallback) for cb in trainer.callback_handler.callbacks)


# -- tokens --------------------------------------------------------------------------


class Echo(torch.nn.Module):
    """A model that takes a batch as the Trainer passes it (keywords)."""

    def forward(self, input_ids: Any = None, attention_mask: Any = None) -> Any:
        return input_ids


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.integers(1, 12), min_size=1, max_size=4), min_size=1, max_size=5))
def test_tokens_are_the_attention_masks_sum(batches: list[list[int]]) -> None:
    """Whatever the padding: each forward's batch counts its mask's ones; evaluation
    forwards are counted apart."""
    model = Echo()
    counter = TokenCounter()
    counter.install(model)
    counter.install(model)  # once per model
    for lengths in batches:
        mask = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
        for row, n in enumerate(lengths):
            mask[row, :n] = 1
        model(input_ids=torch.ones_like(mask), attention_mask=mask)
    model.eval()
    model(input_ids=torch.ones(2, 3, dtype=torch.long))  # no mask: every element
    assert counter.take("train") == sum(sum(lengths) for lengths in batches)
    assert (counter.take("train"), counter.take("eval")) == (0, 6)


def test_training_tokens_are_the_batches_masks_and_each_log_entry_the_run_then(
    tmp_path: Path, fake_nvml: FakeNvml, manual_hub: object
) -> None:
    trainer = recording_trainer(tmp_path / "out", [StepClock(fake_nvml)])
    callback = attach(trainer, country="FRA")
    trainer.train()
    masks = trainer.data_collator.masks
    assert len(masks) == 4
    run_id = callback.slot.run.id
    final = ledger_figures(run_id)
    intensity = stored(run_id)["run"]["intensity_g_per_kwh"]
    entries = train_entries(trainer)
    assert [e["step"] for e in entries] == [2, 4, 4]  # two logging steps, then the final log
    for entry, step in zip(entries, (2, 4, 4), strict=True):
        tokens = sum(masks[:step])
        energy_j = GPU_W * step
        figures = greenai_figures(entry)
        assert figures == pytest.approx(
            {
                logged.ENERGY_KWH.key: kwh(energy_j),
                logged.IT_ENERGY_J.key: energy_j,
                logged.GPU_ENERGY_J.key: energy_j,
                logged.EMISSIONS_G.key: kwh(energy_j) * intensity,
                logged.TOKENS.key: tokens,
                logged.J_PER_TOKEN.key: energy_j / tokens,
                logged.MEASURED_SHARE.key: 1.0,
                logged.DURATION_S.key: float(step),
            },
            rel=1e-12,
        )
    assert greenai_figures(entries[-1]) == final  # the last entry is the ledger's run
    row = stored(run_id)["run"]
    assert (row["status"], row["tokens_output"], row["tokens_input"]) == ("completed", 46, 0)
    assert row["tokens_output"] == hf.mask_tokens(trainer.processing_class) == sum(masks)


@pytest.mark.parametrize("mode", ["all", "non_padding"])
def test_the_trainers_own_token_count_is_used_once_when_it_keeps_one(
    tmp_path: Path, fake_nvml: FakeNvml, manual_hub: object, mode: str
) -> None:
    """With ``include_num_input_tokens_seen`` the run's tokens are the Trainer's count,
    not that count plus the callback's own (``all`` counts padding, ``non_padding``
    the attention masks)."""
    trainer = hf.make_trainer(tmp_path / "out", include_num_input_tokens_seen=mode)
    callback = attach(trainer)
    trainer.train()
    entries = train_entries(trainer)
    assert [e["step"] for e in entries] == [2, 4, 4]
    for entry in entries:
        assert entry[logged.TOKENS.key] == entry["num_input_tokens_seen"]
    row = stored(callback.slot.run.id)["run"]
    assert row["tokens_output"] == trainer.state.num_input_tokens_seen
    if mode == "all":
        assert row["tokens_output"] > hf.mask_tokens(trainer.processing_class)  # padding
    else:
        assert row["tokens_output"] == hf.mask_tokens(trainer.processing_class)


# -- trackers ------------------------------------------------------------------------


def test_mlflow_receives_the_figures_of_the_log_history_at_every_logging_step(
    tmp_path: Path, experiment_id: str, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    trainer = hf.make_trainer(tmp_path / "out", report_to=["mlflow"])
    callback = attach(trainer)
    assert trainer.callback_handler.callbacks[0] is callback
    trainer.train()
    (mlflow_run,) = MlflowClient().search_runs([experiment_id])
    entries = train_entries(trainer)
    keys = (logged.ENERGY_KWH, logged.IT_ENERGY_J, logged.EMISSIONS_G, logged.J_PER_TOKEN)
    for key in (*(k.key for k in keys), logged.TOKENS.key):
        points = MlflowClient().get_metric_history(mlflow_run.info.run_id, key)
        assert [(p.step, p.value) for p in points] == [(e["step"], e[key]) for e in entries]
    assert greenai_figures(entries[-1]) == ledger_figures(callback.slot.run.id)


# -- evaluation and prediction --------------------------------------------------------


def test_evaluation_inside_training_is_a_window_and_outside_a_run_of_its_own(
    tmp_path: Path,
) -> None:
    trainer = hf.make_trainer(tmp_path / "out", eval_strategy="steps", eval_steps=2)
    callback = attach(trainer)
    trainer.train()
    train_run = callback.slot.run
    record = stored(train_run.id)
    assert [w["name"] for w in record["windows"]] == ["eval", "eval"]
    assert record["run"]["tokens_output"] == 46  # evaluation batches are not training tokens
    eval_entries = [e for e in trainer.state.log_history if "eval_loss" in e]
    assert len(eval_entries) == 2 and all(logged.IT_ENERGY_J.key in e for e in eval_entries)

    metrics = trainer.evaluate()
    eval_run = callback.slot.run
    assert eval_run.id != train_run.id
    row = stored(eval_run.id)["run"]
    assert (row["phase"], row["status"], row["batch_size"]) == ("evaluation", "completed", 4)
    assert (row["tokens_input"], row["tokens_output"]) == (46, 0)
    assert greenai_figures(metrics) == ledger_figures(eval_run.id)

    output = trainer.predict(hf.examples(trainer.processing_class)[:4])
    predict_run = callback.slot.run
    row = stored(predict_run.id)["run"]
    assert (row["phase"], row["status"]) == ("inference", "completed")
    assert greenai_figures(output.metrics) == ledger_figures(predict_run.id)


def test_a_bare_callback_records_training_and_evaluation(tmp_path: Path) -> None:
    """Given to the Trainer directly (no attach): it learns of an evaluation at its
    first batch, and an evaluation is phase evaluation."""
    callback = GreenAICallback(project="bare")
    trainer = hf.make_trainer(tmp_path / "out", callbacks=[callback])
    trainer.train()
    train_id = callback.slot.run.id
    trainer.evaluate()
    rows = [stored(i)["run"] for i in (train_id, callback.slot.run.id)]
    assert [(r["phase"], r["status"], r["project"]) for r in rows] == [
        ("training", "completed", "bare"),
        ("evaluation", "completed", "bare"),
    ]
    assert (rows[0]["tokens_output"], rows[1]["tokens_input"]) == (46, 46)


# -- failures ------------------------------------------------------------------------


class Boom(TrainerCallback):
    """Raises ``error`` (a RuntimeError by default) at the end of step 3."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error or RuntimeError("out of memory (simulated by the job)")

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step == 3:
            raise self.error


@pytest.mark.parametrize(
    ("error", "status"),
    [(RuntimeError("out of memory (simulated by the job)"), "failed"),
     (KeyboardInterrupt(), "interrupted")],
    ids=["error", "ctrl-c"],
)  # fmt: skip
def test_a_train_that_raises_ends_its_run_with_the_error_which_goes_on(
    tmp_path: Path, error: BaseException, status: str
) -> None:
    trainer = hf.make_trainer(tmp_path / "out", callbacks=[Boom(error)])
    callback = attach(trainer)
    with pytest.raises(type(error)) as raised:
        trainer.train()
    assert raised.value is error
    row = stored(callback.slot.run.id)["run"]
    assert row["status"] == status
    assert type(error).__name__ in (row["error"] or "")
    assert trainer.state.global_step == 3


def test_a_bare_callbacks_run_left_open_by_a_failed_train_is_ended_at_the_next(
    tmp_path: Path,
) -> None:
    callback = GreenAICallback()
    trainer = hf.make_trainer(tmp_path / "out", callbacks=[callback, Boom()])
    with pytest.raises(RuntimeError):
        trainer.train()
    left_open = callback.slot.run
    assert left_open is not None and not left_open.stopped
    trainer.callback_handler.pop_callback(Boom)
    trainer.train()
    row = stored(left_open.id)["run"]
    assert row["status"] == "failed" and fl.CALL_LEFT_OPEN in row["flags"]
    assert stored(callback.slot.run.id)["run"]["status"] == "completed"


def train_losses(trainer: Any) -> list[float]:
    return [e["loss"] for e in trainer.state.log_history if "loss" in e]


def test_an_unwritable_ledger_never_changes_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    baseline = hf.make_trainer(tmp_path / "plain")
    baseline.train()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the ledger's folder should be")
    monkeypatch.setenv("GREENAI_DB_URL", f"sqlite:///{blocker}/ledger.db")
    trainer = hf.make_trainer(tmp_path / "out")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        attach(trainer)
        trainer.train()
    assert train_losses(trainer) == train_losses(baseline)
    assert trainer.state.global_step == 4


def test_a_failure_inside_the_callback_is_a_flag_not_an_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault injected into greenai's own figures (not a stand-in for anything)."""
    from greenai.integrations import transformers as integration
    from greenai.tracking.run import GreenAIWarning

    baseline = hf.make_trainer(tmp_path / "plain")
    baseline.train()

    def broken(record: Any) -> dict[str, float]:
        raise ValueError("figures broke")

    monkeypatch.setattr(integration, "tracker_figures", broken)
    trainer = hf.make_trainer(tmp_path / "out")
    callback = attach(trainer)
    with pytest.warns(GreenAIWarning, match="figures broke"):
        trainer.train()
    assert train_losses(trainer) == train_losses(baseline)
    row = stored(callback.slot.run.id)["run"]
    assert row["status"] == "completed" and fl.INTEGRATION_FAILED in row["flags"]
    assert row["tokens_output"] == 46


# -- resume --------------------------------------------------------------------------


@pytest.mark.parametrize("restore", [False, True], ids=["default", "restore_callback_states"])
def test_a_resumed_session_is_its_own_run_linked_and_its_figures_continue(
    tmp_path: Path, fake_nvml: FakeNvml, manual_hub: object, restore: bool
) -> None:
    out = tmp_path / "out"
    first = hf.make_trainer(
        out, callbacks=[StepClock(fake_nvml)], save_strategy="steps", save_steps=2
    )
    first_cb = attach(first)
    first.train()
    first_id = first_cb.slot.run.id
    saved = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
    at_checkpoint = saved["stateful_callbacks"]["GreenAICallback"]["attributes"]["resume_state"]
    assert at_checkpoint["run_id"] == first_id
    assert at_checkpoint["energy_j"] == GPU_W * 2  # 2 steps of 1 s

    second = hf.make_trainer(
        out,
        callbacks=[StepClock(fake_nvml)],
        save_strategy="steps",
        save_steps=2,
        restore_callback_states_from_checkpoint=restore,
    )
    second_cb = attach(second)
    second.train(resume_from_checkpoint=str(out / "checkpoint-2"))
    assert second.callback_handler.callbacks[0] is second_cb
    run = second_cb.slot.run
    row = stored(run.id)["run"]
    assert row["tags"] == {"resumed_from": first_id}
    assert row["energy_j"] == pytest.approx(GPU_W * 2)  # its own 2 steps only
    last = train_entries(second)[-1]
    assert last[logged.IT_ENERGY_J.key] == pytest.approx(
        at_checkpoint["energy_j"] + row["energy_j"]
    )
    assert last[logged.DURATION_S.key] == pytest.approx(4.0)
    tokens = at_checkpoint["tokens_output"] + row["tokens_output"]
    assert last[logged.TOKENS.key] == tokens
    assert stored(first_id)["run"]["energy_j"] == pytest.approx(GPU_W * 4)


# -- model card ----------------------------------------------------------------------


def front_matter(card: Path) -> dict[str, Any]:
    """The YAML front matter of a model card file."""
    import yaml

    text = card.read_text()
    assert text.startswith("---\n")
    loaded: dict[str, Any] = yaml.safe_load(text.split("---\n")[1])
    return loaded


def test_the_model_card_gets_the_runs_emissions_and_after_a_resume_every_sessions(
    tmp_path: Path, fake_nvml: FakeNvml, manual_hub: object
) -> None:
    from greenai.reports.model_card import rounded
    from greenai.reports.model_card_file import card_for_run

    out = tmp_path / "out"
    first = hf.make_trainer(
        out, callbacks=[StepClock(fake_nvml)], save_strategy="steps", save_steps=2
    )
    first_cb = attach(first, country="FRA", model_card=True)
    first.train()
    card = out / "README.md"
    first_row = stored(first_cb.slot.run.id)["run"]
    emitted = front_matter(card)["co2_eq_emissions"]
    assert emitted == card_for_run(first_row["id"]).metadata["co2_eq_emissions"]
    assert emitted["emissions"] == rounded(first_row["emissions_kg"] * 1000)
    assert emitted["emissions"] > 0
    assert card_for_run(first_row["id"]).paragraph in card.read_text()

    second = hf.make_trainer(out, callbacks=[StepClock(fake_nvml)])
    second_cb = attach(second, country="FRA", model_card=str(tmp_path / "card.md"))
    second.train(resume_from_checkpoint=str(out / "checkpoint-2"))
    second_row = stored(second_cb.slot.run.id)["run"]
    both_g = (first_row["emissions_kg"] + second_row["emissions_kg"]) * 1000
    resumed = front_matter(tmp_path / "card.md")["co2_eq_emissions"]
    assert resumed["emissions"] == rounded(both_g)  # the card counts both sessions


# -- several ranks -------------------------------------------------------------------

RANK_SCRIPT = """
import json, os, sys
sys.path.insert(0, {repo!r})
from greenai.integrations.transformers import attach
from tests.integrations import hf_fixtures as hf
trainer = hf.make_trainer({out!r})
callback = attach(trainer)
trainer.train()
rank = os.environ["RANK"]
with open(os.path.join({out!r}, "rank" + rank + ".json"), "w") as f:
    json.dump({{"run_id": callback.slot.run.id, "log_history": trainer.state.log_history,
               "world_process_zero": trainer.state.is_world_process_zero}}, f)
"""


def test_two_torchrun_ranks_are_one_job_whose_tokens_count_once(
    tmp_path: Path, greenai_env: Path
) -> None:
    """A real torchrun of 2 processes on the CPU (gloo): each rank counts its own
    batches; the job's row sums its parts."""
    out = tmp_path / "ranks"
    out.mkdir()
    script = tmp_path / "train_rank.py"
    script.write_text(RANK_SCRIPT.format(repo=str(REPO), out=str(out)))
    env = {**os.environ, "GREENAI_RUN_ID": "hf-job-1", "OMP_NUM_THREADS": "1"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]
    done = subprocess.run(
        [*torchrun, "--standalone", str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["run_id"] for r in ranks] == ["hf-job-1/rank0", "hf-job-1/rank1"]
    assert [r["world_process_zero"] for r in ranks] == [True, False]
    job = stored("hf-job-1")
    parts = [stored(r["run_id"])["run"] for r in ranks]
    assert sum(p["tokens_output"] for p in parts) == 2 * hf.mask_tokens(hf.tokenizer())
    assert job["run"]["tokens_output"] == sum(p["tokens_output"] for p in parts)
    for rank, part in zip(ranks, parts, strict=True):
        last = [e for e in rank["log_history"] if "train_runtime" in e][-1]
        assert last[logged.TOKENS.key] == part["tokens_output"]
