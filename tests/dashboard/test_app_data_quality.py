"""Data quality page (AppTest): shares of energy by measurement method and the runs that
need care."""

from __future__ import annotations

from tests.dashboard.conftest import charts, frame_with, metrics, open_app
from tests.dashboard.seed import Seeded


def test_method_shares(seeded: Seeded) -> None:
    at = open_app("data_quality")
    shown = metrics(at)
    # Counter: 80% of the baseline and fp8 runs (8,600 J) + int8's gpu:0 (1,240 J);
    # power: 80% of the training runs (86,400 J) + int8's gpu:1 (1,240 J); model: the CPUs.
    assert shown["Hardware energy counter"][0] == "8.1%"  # 9,840 / 121,850 J
    assert shown["Hardware power sensor"][0] == "71.9%"  # 87,640 J
    assert shown["Model estimate"][0] == "20.0%"  # 24,370 J
    assert len(charts(at)) == 1


def test_runs_that_need_care(seeded: Seeded) -> None:
    at = open_app("data_quality")
    shown = metrics(at)
    for label in ("Unknown location", "Interrupted", "Device problems", "Overlapping runs"):
        assert shown[label][0] == "1", label
    for label in ("Sampling gaps", "Nothing measured", "No factor recorded"):
        assert shown[label][0] == "0", label
    tables = [t.value for t in at.dataframe]
    runs = {tuple(t["Run"]) for t in tables}
    assert runs == {("train-0",), ("train-1",), ("baseline-0",), ("fp8-0",)}
    errors = next(t for t in tables if t["Run"].iloc[0] == "baseline-0")
    assert errors["Detail"].iloc[0] == "collector_errors:nvml=3"


def test_project_filter_changes_shares(seeded: Seeded) -> None:
    at = open_app("data_quality")
    at.multiselect(key="f_projects").select("chat").run()
    shown = metrics(at)
    assert shown["Hardware energy counter"][0] == "71.0%"  # 9,840 / 13,850 J
    assert shown["Hardware power sensor"][0] == "9.0%"  # 1,240 J
    assert shown["Unknown location"][0] == "0"
    table = frame_with(at, "Detail")
    assert set(table["Project"]) == {"chat"}
