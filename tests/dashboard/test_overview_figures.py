"""The Overview's figures on the seeded ledger's frames: changes, largest consumers
(greenai.figures.frame), measurement methods and quality issues (greenai.queries)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from greenai.figures import frame
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


def test_changes_are_relative_and_none_without_a_base() -> None:
    assert frame.changes({"a": 3.0, "b": 1.0, "c": 1.0}, {"a": 2.0, "b": 0.0}) == {
        "a": 0.5, "b": None, "c": None}  # fmt: skip


def test_largest_consumers_of_a_period(frames) -> None:
    roots, _, _ = frames
    lines = roots.assign(share=1.0)  # whole runs: the period holds all of them
    top = frame.largest(lines, by=("project",), n=1)
    assert list(top["project"]) == ["research"]
    assert top["share"].iloc[0] == pytest.approx(108000 / 121850)
    assert frame.largest(lines.iloc[0:0]).empty


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
