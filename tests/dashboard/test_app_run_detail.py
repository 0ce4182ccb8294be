"""Run detail page (AppTest): figures, power over time with windows, energy by kind and
method, attribution, emission factor and source, flags, child runs, untrusted text."""

from __future__ import annotations

import json

from tests.dashboard.conftest import (
    axis_titles,
    chart_data,
    chart_spec,
    charts,
    frame_with,
    markdown_texts,
    metrics,
    open_app,
)
from tests.dashboard.seed import EVIL_NAME, EVIL_TAG, Seeded


def test_figures_power_series_and_windows(seeded: Seeded) -> None:
    at = open_app("run_detail", run=seeded.first("baseline"))
    shown = metrics(at)
    assert shown["IT energy"][0] == "1.00 kJ"
    assert shown["Emissions (location-based)"][0] == "133 mgCO2e"  # 1,200 J at 400 g/kWh
    assert shown["Energy per output token"][0] == "1.00 J/token"
    (power,) = charts(at)
    assert {"Power (W)", "Time (UTC)"} <= set(axis_titles(chart_spec(power)))
    frames = chart_data(power)
    series = next(f for f in frames if "power_w" in f.columns)
    assert series.groupby("device_id").size().to_dict() == {"cpu:0": 60, "gpu:0": 60}
    shaded = next(f for f in frames if "name" in f.columns)
    assert list(shaded["name"]) == ["prefill", "decode"]
    windows = frame_with(at, "mJ/token")  # 0.4 and 0.8 J: the column's unit fits them
    assert list(windows["mJ/token"]) == [400.0, 800.0]


def test_energy_by_kind_method_attribution_factor_and_flags(seeded: Seeded) -> None:
    at = open_app("run_detail", run=seeded.first("baseline"))
    kinds = frame_with(at, "Method")
    assert dict(zip(kinds["Kind"], kinds["Method"], strict=True)) == {
        "gpu": "counter",
        "cpu": "model",
    }
    provenance = frame_with(at, "Item")
    items = dict(zip(provenance["Item"], provenance["Value"], strict=True))
    assert items["Attribution rule (GPUs)"] == "compute-processes"
    assert items["Emission factor (gCO2e/kWh)"] == "400.0"
    assert items["Factor source"] == "codecarbon:FRA"
    assert items["CodeCarbon version"] == "3.3.2"
    assert items["Factor dataset"] == "CodeCarbon 3.3.2 global_energy_mix (FRA)"
    assert items["Factor vintage"] == "2023"
    assert items["Factor basis"] == "life-cycle"
    assert items["GWP set"] == "unknown"
    assert items["Grid mix"] == "fossil 8.1%, nuclear 64.8%, renewable 27.1% (the country's)"
    flags = frame_with(at, "Flag")
    assert list(flags["Flag"]) == ["collector_errors:nvml=3"]
    assert "compute context" in " ".join(c.value for c in at.caption)


def test_a_run_recorded_without_factor_evidence_says_so(seeded: Seeded) -> None:
    at = open_app("run_detail", run="train-0")
    provenance = frame_with(at, "Item")
    items = dict(zip(provenance["Item"], provenance["Value"], strict=True))
    assert items["Factor dataset"] == "not recorded with the run"
    assert items["Factor vintage"] == "not stated" and items["Grid mix"] == "not recorded"


def test_child_runs_and_the_run_picker(seeded: Seeded) -> None:
    at = open_app("run_detail", run="train-0")
    children = frame_with(at, "Output tokens")
    assert list(children["Run"]) == ["train-0-eval"]
    assert at.query_params["run"] == "train-0"  # the URL names the run shown
    picker = next(s for s in at.selectbox if s.label == "Run (newest first)")
    index = next(i for i, o in enumerate(picker.options) if o.endswith(seeded.first("int8")))
    picker.select_index(index).run()  # options show "start · project · model · id"
    assert metrics(at)["IT energy"][0] == "620 J"


def test_untrusted_name_and_tags_are_text(seeded: Seeded) -> None:
    at = open_app("run_detail", run=seeded.first("int8"))
    assert f"Name: {EVIL_NAME}" in [t.value for t in at.text]
    assert not any("<script>" in text or EVIL_TAG in text for text in markdown_texts(at))
    meta = frame_with(at, "Field")
    values = dict(zip(meta["Field"], meta["Value"], strict=True))
    assert values["Name"] == EVIL_NAME
    assert json.loads(values["Tags"]) == {"team": EVIL_TAG}


def test_unknown_run_id(seeded: Seeded) -> None:
    at = open_app("run_detail", run="no-such-run")
    assert "No run with this id" in at.warning[0].value
