"""Overview page (AppTest on the real app and a seeded SQLite ledger): KPI values and their
change, root runs only, charts with units, largest consumers, sidebar filters."""

from __future__ import annotations

from tests.dashboard.conftest import (
    axis_titles,
    chart_data,
    chart_spec,
    charts,
    frame_with,
    open_app,
)
from tests.dashboard.conftest import metrics as metric_values
from tests.dashboard.seed import Seeded


def test_kpis_of_the_last_30_days_with_changes(seeded: Seeded) -> None:
    at = open_app()
    shown = metric_values(at)
    # 121,850 J of root runs (the 500 J child run is not added) against 4,000 J before.
    assert shown["IT energy"] == ("33.8 Wh", "+2946%")
    assert shown["Facility energy"] == ("40.6 Wh", "+2946%")  # x PUE 1.2
    # 0.0057 kg (world factor) + 0.0114467 kg against 0.000533 kg.
    assert shown["Emissions (location-based)"] == ("17.1 gCO2e", "+3115%")
    assert shown["Runs"] == ("20", "+900%")
    assert shown["Output tokens"] == ("18,000", "+800%")
    # 13,850 J over 18,000 tokens (the training runs produced none) against 2.0 J/token.
    assert shown["Energy per output token"] == ("769 mJ/token", "-62%")


def test_charts_have_units_and_stack_by_project(seeded: Seeded) -> None:
    at = open_app()
    found = charts(at)
    assert len(found) == 3
    titles = [t for c in found for t in axis_titles(chart_spec(c))]
    assert "IT energy (Wh)" in titles
    assert "Emissions, location-based (gCO2e)" in titles
    assert "Start of period (UTC)" in titles
    (energy,) = chart_data(found[0])
    by_project = energy.groupby("group")["energy_j"].sum()
    assert by_project.to_dict() == {"chat": 13850.0, "research": 108000.0}


def test_largest_consumers_table(seeded: Seeded) -> None:
    at = open_app()
    table = frame_with(at, "Share of IT energy (%)")
    assert list(table["Model"]) == ["resnet-50", "llama-8b", "llama-8b-fp8", "llama-8b-int8"]
    assert list(table["Runs"]) == [2, 8, 5, 5]
    assert list(table["IT energy (Wh)"]) == [30.0, 1.5972, 1.3889, 0.8611]
    assert list(table["Share of IT energy (%)"]) == [88.6, 4.7, 4.1, 2.5]


def test_project_filter_changes_every_figure(seeded: Seeded) -> None:
    at = open_app()
    at.multiselect(key="f_projects").select("chat").run()
    shown = metric_values(at)
    assert shown["IT energy"][0] == "3.85 Wh"  # 13,850 J
    assert shown["Runs"] == ("18", "+800%")  # the 2 previous runs were chat runs too
    assert shown["Energy per output token"][0] == "769 mJ/token"
    table = frame_with(at, "Share of IT energy (%)")
    assert set(table["Project"]) == {"chat"}


def test_phase_and_period_filters(seeded: Seeded) -> None:
    at = open_app()
    at.multiselect(key="f_phases").select("training").run()
    assert metric_values(at)["Runs"][0] == "2"
    assert metric_values(at)["Output tokens"][0] == "0"
    at.multiselect(key="f_phases").unselect("training").run()
    at.selectbox(key="period").select("Last 7 days").run()
    shown = metric_values(at)
    assert shown["Runs"] == ("18", "+800%")  # the 2 training runs fall in the 7 days before
    at.selectbox(key="period").select("All time").run()
    shown = metric_values(at)
    assert shown["Runs"] == ("22", None)  # all time has no previous period
    assert shown["IT energy"] == ("35.0 Wh", None)  # 125,850 J: + 2 x 2,000 J


def test_nothing_matches(seeded: Seeded) -> None:
    at = open_app()
    at.multiselect(key="f_hardware").select("NVIDIA A100-SXM4-40GB x1").run()
    assert not at.metric
    assert "No runs match the filters" in at.info[0].value
