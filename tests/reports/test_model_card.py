"""Model card figures from the ledger: Hugging Face's ``co2_eq_emissions`` metadata and
the energy section, for a run tracked on GPUs (the real pynvml against the fake NVML
library on its manual clock, so each GPU's energy is exact) and for a multi-rank job
whose ranks wrote their parts; README files updated in place and read back with
``huggingface_hub`` as the Hub's own client reads them."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from huggingface_hub import ModelCard, RepoCard
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import greenai
from greenai.integrations.hf_resume import RESUMED_FROM_TAG
from greenai.ledger import Ledger
from greenai.ledger.ranks import save_part
from greenai.reports.model_card import ModelCardError, model_card, rounded
from greenai.reports.model_card_file import (
    SECTION_END,
    SECTION_START,
    card_for_run,
    updated_card,
    write_model_card,
)
from tests.dashboard.seed import run_record
from tests.fake_nvml.driver import FakeNvml
from tests.fleet.parts import part
from tests.tracking.helpers import stored
from tests.tracking.manual import manual_hub

__all__ = ["manual_hub"]

H100 = "NVIDIA H100 80GB HBM3"
HAND_WRITTEN = """---
# A card written by hand
language: en
license: apache-2.0  # the licence
tags:
- text-generation
co2_eq_emissions:
  emissions: 41.1
  source: CodeCarbon
base_model: gpt2
---

# gpt-small

A small model.

## Environmental Impact

<!-- Total emissions (in grams of CO2eq) go here. -->

## Citation

Cite us.
"""


def co2_of(path: Path) -> dict[str, Any]:
    """``co2_eq_emissions`` of a card as huggingface_hub reads it."""
    data = ModelCard.load(path).data.to_dict()
    found: dict[str, Any] = data["co2_eq_emissions"]
    return found


def seeded(url: str, run_id: str = "r1", **columns: Any) -> dict[str, Any]:
    """A completed training run of 2 GPUs and a CPU (estimated) in the ledger."""
    devices = [
        {"device_id": f"gpu:{i}", "kind": "gpu", "name": H100, "method": "counter",
         "energy_j": 4e6, "share": 1.0}
        for i in range(2)
    ] + [{"device_id": "cpu:0", "kind": "cpu", "name": "Xeon", "method": "model",
          "energy_j": 2e6, "share": 1.0}]  # fmt: skip
    started = datetime.now(UTC) - timedelta(hours=3)
    record = run_record(run_id, started, 1e7, gpu_share=0.8, duration_s=7200.0, pue=1.2,
                        tokens_input=2_000_000, phase="training", country="DEU",
                        devices=devices, **columns)  # fmt: skip
    with Ledger.open(url) as ledger:
        ledger.save_run(record)
    return record


@pytest.mark.usefixtures("manual_hub")
def test_a_fine_tuning_run_on_two_gpus_gives_a_card_the_hub_reads(
    fake_nvml: FakeNvml, tmp_path: Path
) -> None:
    for i in range(2):
        fake_nvml.set_name(i, H100)
    with greenai.track(model="gpt-small", phase="training", technique="lora", country="FRA",
                       pue=1.2) as run:  # fmt: skip
        run.add_tokens(input=1000)
        fake_nvml.set_time(10.0)  # 2 GPUs x 100 W x 10 s
    record = stored(run.id)["run"]
    assert record["energy_j"] == pytest.approx(2000.0, abs=0.01)

    path = write_model_card(run.id, tmp_path / "README.md")

    co2 = co2_of(path)
    assert co2 == {
        "emissions": rounded(record["emissions_kg"] * 1000.0),
        "source": f"greenai {greenai.__version__}, measured",
        "training_type": "fine-tuning",
        "geographical_location": "France (FRA)",
        "hardware_used": f"2 x {H100}",
    }
    grams = 2400.0 / 3.6e6 * record["intensity_g_per_kwh"]  # facility kWh x the factor
    assert co2["emissions"] == pytest.approx(grams, rel=5e-3)
    text = path.read_text()
    assert (
        "2.40 kJ at the facility (2.00 kJ of IT energy x PUE 1.20); gpu 2.00 kJ (counter)" in text
    )
    assert "all of the IT energy read from hardware energy counters or power sensors" in text
    assert "1,000 input; 2.00 J/token of IT energy" in text
    assert f"`{run.id}` in the greenai ledger" in text
    evidence = record["factor_evidence"]  # the factor's source, data and vintage, as stored
    assert isinstance(evidence["vintage"], int)
    assert f"({record['intensity_source']}; {evidence['vintage']} data, life-cycle basis)" in text


def test_a_multi_rank_job_card_adds_up_its_ranks_and_counts_every_gpu(ledger_url: str) -> None:
    hosts = ("node-a", "node-b")
    with Ledger.open(ledger_url) as ledger:
        for rank in range(4):
            record = part("job7", rank, hosts[rank // 2],
                          [(f"gpu:{rank % 2}", "gpu", 1000.0 * (rank + 1), 1.0)],
                          phase="training", country="DEU", pue=1.1)  # fmt: skip
            for row in record["devices"]:
                row["name"] = H100
            save_part(ledger, record)
        parts = [ledger.get_run(f"job7/rank{r}") for r in range(4)]
    parts_kg = sum(p["run"]["emissions_kg"] for p in parts if p is not None)

    card = card_for_run("job7", url=ledger_url)

    co2 = card.metadata["co2_eq_emissions"]
    assert co2["hardware_used"] == f"4 x {H100}"
    assert co2["emissions"] == rounded(parts_kg * 1000.0)  # the job's row: its parts' sum
    assert co2["training_type"] == "pre-training"
    assert "- **Hardware:** 4 x NVIDIA H100 80GB HBM3 (4 ranks on 2 hosts)" in card.paragraph
    assert "3.06 Wh at the facility (2.78 Wh of IT energy x PUE 1.10)" in card.paragraph
    rank1 = card_for_run("job7/rank1", url=ledger_url)
    assert rank1.metadata["co2_eq_emissions"]["hardware_used"] == f"1 x {H100}"
    assert "rank 1 only, of job `job7`" in rank1.paragraph


def test_an_existing_card_keeps_its_front_matter_and_body_and_a_rerun_changes_nothing(
    ledger_url: str, tmp_path: Path
) -> None:
    record = seeded(ledger_url)
    path = tmp_path / "README.md"
    path.write_text(HAND_WRITTEN)
    path.chmod(0o640)

    write_model_card("r1", path, url=ledger_url)
    first = path.read_bytes()
    write_model_card("r1", path, url=ledger_url)

    assert path.read_bytes() == first  # idempotent
    assert path.stat().st_mode & 0o777 == 0o640
    text = first.decode()
    for kept in ("# A card written by hand\nlanguage: en\nlicense: apache-2.0  # the licence\n"
                 "tags:\n- text-generation\n", "base_model: gpt2\n---\n\n# gpt-small\n\n"
                 "A small model.\n\n## Environmental Impact\n\n" + SECTION_START,
                 SECTION_END + "\n\n<!-- Total emissions (in grams of CO2eq) go here. -->\n\n"
                 "## Citation\n\nCite us.\n"):  # fmt: skip
        assert kept in text
    assert "41.1" not in text and "CodeCarbon" not in text.split("---")[1]
    data = ModelCard.load(path).data.to_dict()
    assert (data["language"], data["license"], data["tags"], data["base_model"]) == (
        "en", "apache-2.0", ["text-generation"], "gpt2")  # fmt: skip
    assert data["co2_eq_emissions"] == {
        "emissions": rounded(record["run"]["emissions_kg"] * 1000.0),
        "source": f"greenai {greenai.__version__}, 80% measured, 20% estimated",
        "training_type": "pre-training",
        "geographical_location": "Germany (DEU)",
        "hardware_used": f"2 x {H100}",
    }


def test_a_card_with_crlf_line_endings_keeps_them(ledger_url: str, tmp_path: Path) -> None:
    seeded(ledger_url)
    path = tmp_path / "README.md"
    path.write_bytes(HAND_WRITTEN.replace("\n", "\r\n").encode())
    write_model_card("r1", path, url=ledger_url)
    raw = path.read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n") > 0
    assert co2_of(path)["hardware_used"] == f"2 x {H100}"


def test_a_new_card_has_the_front_matter_and_the_section(ledger_url: str, tmp_path: Path) -> None:
    seeded(ledger_url)
    path = write_model_card("r1", tmp_path / "README.md", url=ledger_url)
    text = path.read_text()
    assert text.startswith("---\nco2_eq_emissions:\n  emissions: ")
    assert "---\n\n## Environmental Impact\n\n" + SECTION_START in text
    assert text.endswith(SECTION_END + "\n")
    assert "- **Duration:** 2.00 h" in text
    assert "- **Tokens:** 2,000,000 input; 5.00 J/token of IT energy" in text


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("---\n- a list\n---\nbody\n", "not a YAML mapping"),
        ("---\nkey: [unclosed\n---\nbody\n", "not valid YAML"),
        (f"---\na: 1\n---\n{SECTION_START}\nno end marker\n", "has no"),
    ],
)
def test_a_card_it_cannot_update_safely_is_left_as_it_was(
    ledger_url: str, tmp_path: Path, content: str, why: str
) -> None:
    seeded(ledger_url)
    path = tmp_path / "README.md"
    path.write_text(content)
    with pytest.raises(ModelCardError, match=why):
        write_model_card("r1", path, url=ledger_url)
    assert path.read_text() == content


def test_a_running_or_unknown_run_has_no_card(ledger_url: str, tmp_path: Path) -> None:
    seeded(ledger_url, "live", status="running", ended_at=None)
    with pytest.raises(ModelCardError, match="'live' is still running"):
        write_model_card("live", tmp_path / "README.md", url=ledger_url)
    with pytest.raises(ModelCardError, match="no run 'nope' in the ledger"):
        card_for_run("nope", url=ledger_url)
    assert not (tmp_path / "README.md").exists()


def _record(emissions_kg: float, **columns: Any) -> dict[str, Any]:
    """A completed run of 1 J whose factor gives ``emissions_kg``."""
    run = {"id": "r", "status": "completed", "started_at": datetime(2026, 6, 1, tzinfo=UTC),
           "energy_j": 1.0, "facility_energy_j": 1.0, "measured_energy_j": 1.0,
           "emissions_kg": emissions_kg, "intensity_g_per_kwh": emissions_kg * 3.6e9,
           **columns}  # fmt: skip
    return {"run": run, "devices": []}


@settings(max_examples=80, deadline=None)
@given(st.floats(min_value=0.0, max_value=1e9, allow_nan=False))
def test_emissions_are_grams_written_without_exponents_and_read_back_alike(kg: float) -> None:
    card = model_card(_record(kg))
    text = updated_card("", card.metadata, card.paragraph, "README.md")
    line = next(x for x in text.splitlines() if x.startswith("  emissions: "))
    assert "e" not in line.removeprefix("  emissions: ").lower()  # the Hub reads the digits
    grams = ModelCard(text).data.to_dict()["co2_eq_emissions"]["emissions"]
    assert grams == card.metadata["co2_eq_emissions"]["emissions"]
    assert grams == pytest.approx(kg * 1000.0, rel=5e-3, abs=1e-300)


KEYS = st.text(string.ascii_lowercase + "_", min_size=1, max_size=12).filter(
    lambda k: k != "co2_eq_emissions"
)
VALUES = st.one_of(
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.text(string.printable.strip() + " ", max_size=20),
    st.lists(st.text(string.ascii_letters, max_size=8), max_size=3),
)
BODY_LINES = st.lists(st.text(string.ascii_letters + string.digits + " #-*`<>!:.", max_size=30),
                      max_size=8)  # fmt: skip


def dumped(items: list[tuple[str, Any]]) -> str:
    """YAML of ``items`` as a user's tool writes it (empty for none)."""
    return yaml.safe_dump(dict(items), sort_keys=False) if items else ""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(KEYS, VALUES, max_size=5),
    BODY_LINES,
    st.booleans(),
    st.none() | st.integers(0, 5),
)
@example(front={}, body_lines=["a line ending in a Markdown line break  "], heading=False,
         old_at=None)  # fmt: skip
def test_updating_any_card_keeps_the_rest_and_is_idempotent(
    front: dict[str, Any], body_lines: list[str], heading: bool, old_at: int | None
) -> None:
    body = "\n".join(body_lines) + "\n"
    if heading:
        body = "# Model\n\n## Environmental Impact\n\n" + body
    items = list(front.items())
    at = len(items) if old_at is None else min(old_at, len(items))
    old = [("co2_eq_emissions", {"emissions": 41.1, "source": "CodeCarbon"})]
    yaml_text = dumped(items[:at] + (old if old_at is not None else []) + items[at:])
    card_text = f"---\n# kept comment\n{yaml_text}---\n{body}"
    card = model_card(_record(0.012))

    once = updated_card(card_text, card.metadata, card.paragraph, "README.md")
    twice = updated_card(once, card.metadata, card.paragraph, "README.md")

    assert twice == once
    data = RepoCard(once).data.to_dict()  # the front matter as huggingface_hub reads it
    assert {k: v for k, v in data.items() if k != "co2_eq_emissions"} == front
    assert [k for k in data if k != "co2_eq_emissions"] == list(front)  # in their order
    assert data["co2_eq_emissions"] == card.metadata["co2_eq_emissions"]
    front_text = once.split("\n---\n", 1)[0] + "\n"
    assert front_text.startswith(f"---\n# kept comment\n{dumped(items[:at])}co2_eq_emissions:\n")
    assert front_text.endswith(dumped(items[at:]))  # the user's text as it was, around ours
    rest = once.split("---\n", 2)[2]
    kept = [line for line in body.splitlines() if line.strip()]
    found = iter(rest.splitlines())
    assert all(any(line == seen for seen in found) for line in kept)  # in order


def test_a_flow_style_front_matter_is_written_out_again_with_the_same_data() -> None:
    card = model_card(_record(0.5))
    text = updated_card("---\n{license: mit, tags: [a, b]}\n---\nBody.\n", card.metadata,
                        card.paragraph, "README.md")  # fmt: skip
    data = RepoCard(text).data.to_dict()
    assert data == {"license": "mit", "tags": ["a", "b"], **card.metadata}
    assert text.endswith(f"Body.\n\n## Environmental Impact\n\n{SECTION_START}" +
                         text.split(SECTION_START)[1])  # fmt: skip


def test_hostile_names_cannot_break_the_section_or_the_front_matter() -> None:
    name = "GPU <!-- greenai:energy:end --> `x`\n- **Run:** forged\x1b[31m"
    record = _record(0.5)
    record["devices"] = [{"kind": "gpu", "name": name, "share": 1.0}]
    card = model_card(record)

    once = updated_card("", card.metadata, card.paragraph, "README.md")
    twice = updated_card(once, card.metadata, card.paragraph, "README.md")

    assert twice == once
    body = once.split("\n---\n", 1)[1]
    assert body.count(SECTION_START) == body.count(SECTION_END) == 1 and "\x1b" not in body
    assert "forged" not in "".join(line for line in body.splitlines() if line.startswith("- **R"))
    meta = RepoCard(once).data.to_dict()["co2_eq_emissions"]
    assert meta["hardware_used"] == f"1 x {name}"  # the name as it is, in YAML


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        ({"phase": "training", "technique": "baseline"}, "pre-training"),
        ({"phase": "training", "technique": "distillation"}, "pre-training"),
        ({"phase": "training", "technique": "qlora"}, "fine-tuning"),
        ({"phase": "training", "technique": "ia3"}, "fine-tuning"),  # a PEFT adapter
        ({"phase": "fine-tuning", "technique": "bf16"}, "fine-tuning"),
        ({"phase": "training", "model": "tiny-chat", "base_model": "gpt2"}, "fine-tuning"),
        ({"phase": "training", "model": "gpt2", "base_model": "gpt2"}, "pre-training"),
        ({"phase": "inference"}, None),
        ({}, None),
    ],
)
def test_the_training_type_is_one_the_hub_knows_or_left_out(
    columns: dict[str, Any], expected: str | None
) -> None:
    card = model_card(_record(0.5, **columns))
    assert card.metadata["co2_eq_emissions"].get("training_type") == expected
    what = expected or columns.get("phase") or "run"
    assert card.paragraph.startswith(f"Energy and emissions of this model's {what}, ")


def test_the_factor_states_its_vintage_or_that_none_is_known() -> None:
    evidence = {"dataset": "Utility X 2025 disclosure", "vintage": None, "basis": "unknown"}
    stated = model_card(_record(0.5, intensity_source="user table", factor_evidence=evidence))
    assert "(user table; Utility X 2025 disclosure, vintage not stated by the dataset)" in (
        stated.paragraph
    )
    older = model_card(_record(0.5, intensity_source="codecarbon:FRA"))  # recorded before
    assert "(codecarbon:FRA; dataset and vintage not recorded with the run)" in older.paragraph
    none = model_card(_record(0.5, intensity_g_per_kwh=None))  # what the emissions imply
    assert "x 1,800,000,000 gCO2e/kWh implied (no emission factor recorded with the run)" in (
        none.paragraph
    )
    assert none.metadata["co2_eq_emissions"]["emissions"] == 500


def test_a_resumed_training_counts_every_session_it_continued(ledger_url: str) -> None:
    first = seeded(ledger_url, "s1")
    second = seeded(ledger_url, "s2", tags={RESUMED_FROM_TAG: "s1"}, status="interrupted")
    third = seeded(ledger_url, "s3", tags={RESUMED_FROM_TAG: "s2"})
    kg = [r["run"]["emissions_kg"] for r in (first, second, third)]

    card = card_for_run("s3", url=ledger_url)

    assert card.sessions == ("s1", "s2", "s3")
    assert card.metadata["co2_eq_emissions"]["emissions"] == rounded(sum(kg) * 1000.0)
    assert "resumed from checkpoints of `s1`, `s2` (all 3 sessions counted)" in card.paragraph
    assert "- **Duration:** 6.00 h" in card.paragraph  # 3 sessions of 2 h
    assert "- **Tokens:** 6,000,000 input; 5.00 J/token of IT energy" in card.paragraph
    alone = card_for_run("s3", url=ledger_url, sessions=False)
    assert alone.sessions == ("s3",)
    assert alone.metadata["co2_eq_emissions"]["emissions"] == rounded(kg[2] * 1000.0)


def test_a_session_whose_earlier_run_is_missing_says_so(ledger_url: str) -> None:
    seeded(ledger_url, "s4", tags={RESUMED_FROM_TAG: "gone"})
    seeded(ledger_url, "loop-a", tags={RESUMED_FROM_TAG: "loop-b"})
    seeded(ledger_url, "loop-b", tags={RESUMED_FROM_TAG: "loop-a"})

    card = card_for_run("s4", url=ledger_url)
    looped = card_for_run("loop-a", url=ledger_url)

    assert card.sessions == ("s4",)
    assert "`s4` resumed from `gone`, which is not in this ledger" in card.paragraph
    assert looped.sessions == ("loop-b", "loop-a")  # each run counted once
