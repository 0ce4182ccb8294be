"""greenai.queries.overview on the seeded ledger's frames: KPIs, changes, time buckets,
largest consumers, measurement methods, quality issues."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from greenai.figures.flags import COUNTED
from greenai.ledger import Ledger
from greenai.queries import RunFilter, devices_frame, runs_frame
from greenai.queries import overview as ov
from tests.dashboard.seed import Seeded


@pytest.fixture
def frames(seeded: Seeded, ledger_url: str):
    end = seeded.today + timedelta(days=1)
    with Ledger.open(ledger_url) as ledger:
        roots = runs_frame(ledger, RunFilter(start=end - timedelta(days=30), end=end))
        every = runs_frame(ledger, RunFilter(start=end - timedelta(days=30), end=end,
                                             root_only=False))  # fmt: skip
        devices = devices_frame(ledger, ov.mixed_runs(roots))
    return roots, every, devices


def test_kpis_and_changes(frames) -> None:
    roots, every, _ = frames
    figures = ov.kpis(roots)
    assert figures["energy_j"] == 121850.0 and figures["runs"] == 20.0
    assert figures["j_per_output_token"] == pytest.approx(13850 / 18000)
    assert ov.kpis(every)["energy_j"] == 122350.0  # the child run would count twice
    assert ov.kpi_changes({"a": 3.0, "b": 1.0}, {"a": 2.0, "b": 0.0}) == {"a": 0.5, "b": None}
    empty = ov.kpis(roots.iloc[0:0])
    assert empty["energy_j"] == 0.0 and pd.isna(empty["j_per_output_token"])


def test_time_buckets() -> None:
    day = datetime(2026, 1, 1, tzinfo=UTC)
    assert ov.time_step(day, day + timedelta(days=30)) == "D"
    assert ov.time_step(day, day + timedelta(days=365)) == "W"
    assert ov.time_step(None, None) == "MS"
    assert ov.previous_period(day, day + timedelta(days=7)) == (day - timedelta(days=7), day)


def test_energy_over_time_and_consumers(frames) -> None:
    roots, _, _ = frames
    series = ov.energy_over_time(roots, by="phase", step="W")
    assert series.groupby("group")["energy_j"].sum().to_dict() == {
        "inference": 13850.0, "training": 108000.0}  # fmt: skip
    assert all(p.weekday() == 0 for p in series["period"])  # weeks start on Monday
    top = ov.largest_consumers(roots, by=("project",), n=1)
    assert list(top["project"]) == ["research"]
    assert top["share"].iloc[0] == pytest.approx(108000 / 121850)


def test_method_shares_split_mixed_kinds_by_device(frames) -> None:
    roots, _, devices = frames
    shares = ov.method_shares(roots, devices).set_index("method")["energy_j"].to_dict()
    assert shares == pytest.approx({"counter": 9840.0, "power": 87640.0, "model": 24370.0})
    rough = ov.method_shares(roots).set_index("method")["energy_j"].to_dict()
    assert rough["mixed"] == pytest.approx(2480.0)  # without run_devices: said as such


def test_quality_issues(frames) -> None:
    roots, _, _ = frames
    issues = ov.quality_issues(roots)
    found = {k: list(v["id"]) for k, v in issues.items() if not v.empty}
    assert found == {"unknown_location": ["train-0"], "interrupted": ["train-1"],
                     "device_problems": ["baseline-0"],
                     "overlapping_root_runs": ["fp8-0"]}  # fmt: skip
    assert list(issues) == list(COUNTED)  # every counted group, in the registry's order
    assert issues["device_problems"]["detail"].tolist() == ["collector_errors:nvml=3"]
