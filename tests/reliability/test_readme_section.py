"""The README's Reliability section is the rendering of the last ``make reliability``,
and that run lost nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.summary import (
    README,
    RESULTS,
    gather,
    render,
    runs_lost,
    section_of,
    with_section,
)


def _results() -> dict:
    return json.loads(RESULTS.read_text(encoding="utf-8"))


def test_the_readme_shows_the_last_results() -> None:
    assert section_of(README.read_text(encoding="utf-8")) == render(_results()), (
        "the README's Reliability section is stale: run `make reliability`"
    )


def test_the_last_full_run_lost_nothing_across_the_fault_matrix() -> None:
    """The matrix: every fault survived, no run lost. (A load case that loses runs fails
    ``make reliability`` itself and shows in the README.)"""
    faults = _results()["faults"]
    assert len(faults) >= 18
    assert all(row["lost"] == 0 and row["job_unchanged"] for row in faults.values())


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest"
errors="1" failures="1" skipped="2" tests="10"></testsuite></testsuites>"""


def test_results_add_up_repeated_cases_and_count_losses(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_text(JUNIT)
    lines = [
        {"section": "fault", "case": "ledger refused", "runs": 2, "lost": 0,
         "job_unchanged": True},
        {"section": "fault", "case": "ledger refused", "runs": 3, "lost": 1,
         "job_unchanged": False},
        {"section": "load", "case": "SQLite", "processes": 4, "runs_each": 50, "stored": 199,
         "lost": 0, "unfinished": 1},
        {"section": "fuzz", "case": "config files", "examples": 40},
        {"section": "fuzz", "case": "config files", "examples": 2},
    ]  # fmt: skip
    (tmp_path / "f.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    results = gather(tmp_path / "r.xml", tmp_path / "f.jsonl", "2026-12-02")
    assert results["cases"] == {"tried": 10, "passed": 6, "failed": 2, "skipped": 2}
    assert results["faults"]["ledger refused"] == {"runs": 5, "lost": 1, "job_unchanged": False}
    assert results["fuzz"]["config files"]["examples"] == 42
    assert runs_lost(results) == 2  # one lost in the matrix, one left running by the load
    text = render(results)
    assert "| SQLite | 4 × 50 | 199 | 0 | 1 |" in text
    assert "**2 runs lost**" in text and "0 of 1 faults survived" in text
    assert "| ledger refused | 5 | 1 | **changed** |" in text


def test_the_section_is_replaced_between_its_markers_only() -> None:
    readme = README.read_text(encoding="utf-8")
    replaced = with_section(readme, "new body\n")
    assert section_of(replaced) == "new body\n"
    assert with_section(replaced, section_of(readme)) == readme
