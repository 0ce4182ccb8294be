"""The dashboard's words for flags come from the registry, and every GPU attribution
rule the tracker records has words."""

from __future__ import annotations

from dashboard import explain
from greenai.figures import flags
from greenai.tracking import attribution


def test_every_registered_flag_has_a_meaning_on_the_dashboard() -> None:
    made = [code + "x" if info.prefixed else code for code, info in flags.FLAGS.items()]
    assert [f for f in made if not explain.flag_meaning(f)] == []
    assert explain.flag_meaning("a_flag_of_a_newer_version") == ""


def test_flags_table_says_meaning_severity_and_group() -> None:
    table = explain.flags_table(["device_lost:gpu:1", "attribution:local-rank", "new_one"])
    assert list(table.columns) == ["Flag", "Meaning", "Severity", "Group"]
    assert table["Severity"].tolist() == ["error", "info", "warning"]
    assert table["Group"].tolist() == ["Device problems", "Attribution", "–"]
    assert table["Meaning"].iloc[0] == flags.describe("device_lost:").meaning


def test_every_attribution_rule_has_words() -> None:
    rules = {v for k, v in vars(attribution).items() if k.startswith("RULE_")}
    assert rules == set(explain.ATTRIBUTION)
    assert "equally" in explain.attribution_text(attribution.RULE_PROCESSES)
    assert "SM utilization" in explain.attribution_text(attribution.RULE_UTILIZATION)
    assert "does not know" in explain.attribution_text("a-newer-rule")


def test_caveats_text_names_the_groups_a_run_counts_in() -> None:
    run = {"flags": ["sampling_gaps", "estimated:cpu"], "status": "interrupted",
           "country": None, "cloud_provider": None}  # fmt: skip
    text = explain.caveats_text(run)
    assert text == "Counted in data quality as: Unknown location, Interrupted, Sampling gaps."
    assert explain.caveats_text({"flags": ["estimated:cpu"], "country": "FRA"}) == ""
