"""Compare page (AppTest): per-group means with t-intervals, savings against the baseline
with their intervals, quality against energy, prefill vs decode, filters."""

from __future__ import annotations

import math

import pytest

from tests.dashboard.conftest import (
    axis_titles,
    chart_data,
    chart_spec,
    charts,
    frame_with,
    open_app,
)
from tests.dashboard.seed import EVIL_NAME, Seeded


def _row(table, **where):
    mask = True
    for column, value in where.items():
        mask = mask & (table[column] == value)
    found = table[mask]
    assert len(found) == 1, found
    return found.iloc[0]


def test_groups_with_mean_interval_and_n(seeded: Seeded) -> None:
    at = open_app("compare")
    table = frame_with(at, "J/token 95% CI")
    assert len(table) == 4
    base8 = _row(table, Model="llama-8b", **{"Batch size": "8"})
    # J/token 1.00, 1.02, 0.98, 1.01, 0.99: s = 0.0158114, t(0.975, 4) = 2.776445.
    half = 2.776445 * math.sqrt(0.00025) / math.sqrt(5)
    assert base8["Runs (n)"] == 5
    assert base8["J/token mean"] == pytest.approx(1.0)
    assert base8["J/token 95% CI"] == f"{1 - half:.4f} – {1 + half:.3f}"  # 0.9804 – 1.020
    base64 = _row(table, Model="llama-8b", **{"Batch size": "64"})
    assert base64["J/token mean"] == pytest.approx(0.25)  # batch size moves J/token 4x here
    assert base64["Runs (n)"] == 3
    int8 = _row(table, Technique="int8")
    assert int8["tokens/kWh mean"] == pytest.approx(5809475.0, abs=1.0)  # mean of 3.6e6/0.62..
    expected = 0.62 * 1.2 / 3.6e6 * 400 * 1000  # J/token x PUE -> kWh x g/kWh x 1,000 tokens
    # 0.0827 g: its column is in mg, the unit that fits its values
    assert int8["mgCO2e/1k tokens mean"] == pytest.approx(expected * 1000, rel=1e-5)


def test_savings_against_the_baseline_with_intervals(seeded: Seeded) -> None:
    at = open_app("compare")
    table = frame_with(at, "Result")
    results = list(table["Result"])
    # int8 / baseline = 0.62 exactly; Welch on the log ratio: df 6.68, bounds 0.6004, 0.6402.
    assert "int8: -38% J/token (-40% to -36%), n=5" in results
    # fp8: same mean, wider spread: the interval holds zero.
    assert "fp8: no significant difference in J/token (-9% to +10%), n=5" in results
    int8 = _row(table, Technique="int8")
    assert int8["Change (%)"] == -38.0
    assert int8["95% CI low (%)"] == pytest.approx(-40.0, abs=0.05)
    assert int8["95% CI high (%)"] == pytest.approx(-36.0, abs=0.05)
    assert int8["Baseline runs"] == 5  # batch 64 baseline runs are not its baseline


def test_bootstrap_interval_is_reproducible(seeded: Seeded) -> None:
    at = open_app("compare")
    at.radio[0].set_value("bootstrap").run()
    first = list(frame_with(at, "Result")["Result"])
    at.run()
    assert list(frame_with(at, "Result")["Result"]) == first
    assert first[1].startswith("int8: -38% J/token (")
    assert first[0].startswith("fp8: no significant difference")


def test_other_figure_changes_chart_and_savings(seeded: Seeded) -> None:
    at = open_app("compare")
    at.selectbox[0].set_value("tokens_per_kwh").run()  # Figure (then Sort by)
    titles = axis_titles(chart_spec(charts(at)[0]))
    assert "tokens/kWh, mean and 95% CI" in titles
    results = list(frame_with(at, "Result")["Result"])
    assert any(r.startswith("int8: +61% tokens/kWh") for r in results)  # 1/0.62 - 1


def test_quality_against_energy_marks_the_pareto_frontier(seeded: Seeded) -> None:
    at = open_app("compare")
    pareto = next(c for c in charts(at) if "On the frontier" in c.proto.spec)
    points = chart_data(pareto)
    scatter = max(points, key=len)
    front = dict(
        zip(scatter["group"] + " " + scatter["series"], scatter["on_frontier"], strict=True)
    )
    assert front == {
        "llama-8b · baseline batch 8": True,
        "llama-8b · baseline batch 64": True,
        "llama-8b-fp8 · fp8 batch 8": False,  # same energy as the baseline, lower accuracy
        "llama-8b-int8 · int8 batch 8": True,
    }


def test_prefill_and_decode_from_windows(seeded: Seeded) -> None:
    at = open_app("compare")
    assert not any("Energy per token in the window" in c.proto.spec for c in charts(at))
    at.session_state["compare_more"] = "Prefill and decode"  # open the lazy tab
    at.run()
    windows = next(c for c in charts(at) if "Energy per token in the window" in c.proto.spec)
    (split,) = chart_data(windows)
    by_window = dict(zip(split["window"], split["j_per_token"], strict=True))
    assert by_window == pytest.approx({"prefill": 0.4, "decode": 0.8})  # 20% / 500, 80% / 1000


def test_model_choice_and_csv_download(seeded: Seeded) -> None:
    at = open_app("compare")
    assert at.get("download_button")[0].proto.label == "Download CSV"
    at.multiselect[0].select("llama-8b").run()
    table = frame_with(at, "J/token 95% CI")
    assert set(table["Model"]) == {"llama-8b"}
    assert "No technique run has baseline runs" in at.info[0].value


def test_run_names_are_never_markdown(seeded: Seeded) -> None:
    at = open_app("compare")
    rendered = " ".join(str(e.value) for e in at.markdown)
    assert EVIL_NAME not in rendered and "<script>" not in rendered
