"""``greenai runs card ID`` as a user runs it (a fresh interpreter): the model card's
``co2_eq_emissions`` front matter and energy section on stdout, ``--format json``, and
``--output README.md`` updating a card in place; one-line errors otherwise."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard

from greenai.integrations.hf_resume import RESUMED_FROM_TAG
from greenai.ledger import Ledger
from greenai.reports.model_card import rounded
from greenai.reports.model_card_file import SECTION_END, SECTION_START
from tests.cli.helpers import greenai_cli, greenai_run
from tests.dashboard.seed import run_record
from tests.fake_nvml.driver import subprocess_env

EXISTING = "---\nlicense: mit\n---\n\n# tiny-gpt\n\nTrained on a laptop.\n"


def seed(url: str, run_id: str = "r1", started: datetime | None = None, **columns: Any) -> None:
    started = started or datetime.now(UTC) - timedelta(hours=1)
    record = run_record(run_id, started, 3.6e6, tokens_output=1000, phase="training",
                        technique="distillation", **columns)  # fmt: skip
    with Ledger.open(url) as ledger:
        ledger.save_run(record)


def co2(done: Any) -> dict[str, Any]:
    """``co2_eq_emissions`` of a card printed by ``runs card``, as huggingface_hub reads it."""
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = ModelCard(done.stdout).data.to_dict()["co2_eq_emissions"]
    return found


def test_a_run_tracked_on_gpus_prints_a_card_the_hub_reads(
    fake_nvml_library: Path, ledger_url: str
) -> None:
    env = subprocess_env(fake_nvml_library)
    done = greenai_run("--run-id", "train-1", "--country", "FRA", "--phase", "training",
                       sys.executable, "-c", "import time; time.sleep(0.5)", **env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    with Ledger.open(ledger_url) as ledger:
        record = ledger.get_run("train-1")
    assert record is not None

    card = greenai_cli("runs", "card", "train-1", **env)

    assert card.returncode == 0, card.stderr
    co2 = ModelCard(card.stdout).data.to_dict()["co2_eq_emissions"]
    assert co2["emissions"] == rounded(record["run"]["emissions_kg"] * 1000.0)
    assert co2["hardware_used"] == "2 x NVIDIA H100 80GB HBM3"  # the fake's two GPUs
    assert co2["training_type"] == "pre-training"
    assert co2["geographical_location"] == "France (FRA)"
    assert co2["source"].startswith("greenai 0.1.0, ")
    assert f"{SECTION_START}\n" in card.stdout and card.stdout.endswith(f"{SECTION_END}\n")
    assert "gpu " in card.stdout and "(counter)" in card.stdout  # each kind and its method
    assert "`train-1` in the greenai ledger" in card.stdout


def test_output_updates_a_card_in_place_and_a_rerun_changes_nothing(
    ledger_url: str, tmp_path: Path
) -> None:
    seed(ledger_url)
    readme = tmp_path / "README.md"
    readme.write_text(EXISTING)

    first = greenai_cli("runs", "card", "r1", "--output", str(readme))
    once = readme.read_bytes()
    second = greenai_cli("runs", "card", "r1", "-o", str(readme))

    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stdout == "" and str(readme) in first.stderr
    assert readme.read_bytes() == once
    card = ModelCard.load(readme)
    assert card.data.license == "mit"
    assert card.data.to_dict()["co2_eq_emissions"]["training_type"] == "pre-training"
    assert "# tiny-gpt\n\nTrained on a laptop.\n\n## Environmental Impact\n\n" in card.text


def test_json_holds_the_same_metadata_as_the_front_matter(ledger_url: str) -> None:
    seed(ledger_url)
    markdown = greenai_cli("runs", "card", "r1")
    data = greenai_cli("runs", "card", "r1", "--format", "json")
    assert markdown.returncode == data.returncode == 0, markdown.stderr + data.stderr
    found = json.loads(data.stdout)
    assert (found["run_id"], found["sessions"]) == ("r1", ["r1"])
    assert (
        found["metadata"]["co2_eq_emissions"]
        == ModelCard(markdown.stdout).data.to_dict()["co2_eq_emissions"]
    )
    assert found["paragraph"] in markdown.stdout
    assert "- **Tokens:** 1,000 output; 3.60 kJ/token of IT energy" in found["paragraph"]


def test_unknown_and_running_runs_are_one_line_errors(ledger_url: str, tmp_path: Path) -> None:
    seed(ledger_url, "live", status="running", ended_at=None)
    readme = tmp_path / "README.md"
    unknown = greenai_cli("runs", "card", "nope")
    running = greenai_cli("runs", "card", "live", "--output", str(readme))
    assert (unknown.returncode, running.returncode) == (1, 1)
    assert unknown.stderr == "greenai: no run 'nope' in the ledger\n"
    assert running.stderr.count("\n") == 1 and "'live' is still running" in running.stderr
    assert unknown.stdout == running.stdout == "" and not readme.exists()


def test_json_with_output_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    done = greenai_cli("runs", "card", "r1", "--format", "json", "--output", "README.md")
    assert done.returncode == 2
    assert done.stderr.startswith("greenai: error: invalid format='json'")
    assert done.stderr.count("\n") == 1
    assert not (tmp_path / "README.md").exists()


def test_card_is_listed_under_runs() -> None:
    done = greenai_cli("runs", "--help")
    assert done.returncode == 0 and "card" in done.stdout


def test_the_card_shows_the_emissions_the_period_totals_show(ledger_url: str) -> None:
    june = datetime(2026, 6, 15, 12, tzinfo=UTC)
    seed(ledger_url, "r1", june, country="DEU", intensity_g_per_kwh=381.0,
         intensity_source="codecarbon 3.3.2: global_energy_mix (DEU)")  # fmt: skip

    card = co2(greenai_cli("runs", "card", "r1"))
    totals = greenai_cli("runs", "totals", "--period", "2026-Q2", "--format", "json")

    assert totals.returncode == 0, totals.stderr
    assert card["emissions"] == rounded(json.loads(totals.stdout)["emissions_kg"] * 1000.0)


def test_a_resumed_training_counts_its_sessions_unless_this_run_only(ledger_url: str) -> None:
    seed(ledger_url, "first")
    seed(ledger_url, "second", tags={RESUMED_FROM_TAG: "first"})

    both = greenai_cli("runs", "card", "second")
    alone = greenai_cli("runs", "card", "second", "--this-run-only")
    data = greenai_cli("runs", "card", "second", "--format", "json")

    with Ledger.open(ledger_url) as ledger:
        kg = [ledger.get_run(i)["run"]["emissions_kg"] for i in ("first", "second")]  # type: ignore[index]
    assert co2(both)["emissions"] == rounded((kg[0] + kg[1]) * 1000.0)
    assert co2(alone)["emissions"] == rounded(kg[1] * 1000.0)
    assert "(all 2 sessions counted)" in both.stdout and "sessions" not in alone.stdout
    assert json.loads(data.stdout)["sessions"] == ["first", "second"]
