"""The reliability suite's results, and the README's Reliability section made from them.

``make reliability`` runs the suite at full size, then this module::

    python -m tests.reliability.summary JUNIT_XML FIGURES_JSONL

It gathers the cases pytest ran (its JUnit XML) and the figures the cases recorded
(:mod:`tests.reliability.figures`) into :data:`RESULTS` (committed), rewrites the README's
section between its two markers, and exits 1 when a case failed or a run was lost.
``tests/reliability/test_readme_section.py`` checks that the README shows the results.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
README = HERE.parent.parent / "README.md"
START = "<!-- reliability:start (made by `make reliability`; do not edit) -->"
END = "<!-- reliability:end -->"


def cases_of(junit_xml: Path) -> dict[str, int]:
    """How many cases pytest ran, passed, failed (errors included) and skipped."""
    root = ET.parse(junit_xml).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tried = failed = skipped = 0
    for suite in suites:
        tried += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return {"tried": tried, "passed": tried - failed - skipped, "failed": failed,
            "skipped": skipped}  # fmt: skip


def _by_case(lines: Iterable[Mapping[str, Any]], section: str) -> dict[str, dict[str, Any]]:
    """The figures of one section, one entry per case; repeated cases add their counts."""
    merged: dict[str, dict[str, Any]] = {}
    for line in lines:
        if line.get("section") != section:
            continue
        case = str(line["case"])
        values = {k: v for k, v in line.items() if k not in ("section", "case")}
        if case not in merged:
            merged[case] = values
            continue
        into = merged[case]
        for key, value in values.items():
            if isinstance(value, bool):
                into[key] = bool(into.get(key, True)) and value
            elif isinstance(value, int | float):
                into[key] = into.get(key, 0) + value
    return merged


def gather(junit_xml: Path, figures_jsonl: Path, today: str) -> dict[str, Any]:
    """The results of one ``make reliability``."""
    lines = []
    if figures_jsonl.exists():
        text = figures_jsonl.read_text(encoding="utf-8")
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    return {
        "date": today,
        "cases": cases_of(junit_xml),
        "faults": _by_case(lines, "fault"),
        "load": _by_case(lines, "load"),
        "day": _by_case(lines, "day"),
        "fuzz": _by_case(lines, "fuzz"),
    }


def runs_lost(results: Mapping[str, Any]) -> int:
    """Runs lost across the fault matrix and the load cases (a run the ledger holds as
    still ``running`` once every process ended lost its final record: counted too)."""
    rows = [*results["faults"].values(), *results["load"].values()]
    return sum(int(row.get("lost", 0)) + int(row.get("unfinished", 0)) for row in rows)


def _count(value: float) -> str:
    return f"{value:,.0f}"


def render(results: Mapping[str, Any]) -> str:
    """The README's Reliability section (between the markers) for ``results``."""
    cases, faults = results["cases"], results["faults"]
    survived = sum(1 for row in faults.values() if row.get("job_unchanged") and not row["lost"])
    out = [
        f"Last full run ({results['date']}): {cases['passed']} of {cases['tried']} cases "
        f"passed ({cases['failed']} failed, {cases['skipped']} skipped); "
        f"{survived} of {len(faults)} faults survived; "
        f"**{runs_lost(results)} runs lost**.",
        "",
        "| Fault | Runs | Lost | Job's result and exit code |",
        "|---|---:|---:|---|",
    ]
    for name, row in faults.items():
        unchanged = "unchanged" if row.get("job_unchanged") else "**changed**"
        out.append(f"| {name} | {_count(row['runs'])} | {_count(row['lost'])} | {unchanged} |")
    out += [
        "",
        "| Load | Processes × runs | Stored | Lost | Left running |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in results["load"].items():
        shape = f"{row['processes']} × {row['runs_each']}"
        figures = [row["stored"], row["lost"], row.get("unfinished", 0)]
        out.append(f"| {name} | {shape} | " + " | ".join(_count(v) for v in figures) + " |")
    for name, row in results["day"].items():
        out += [
            "",
            f"Simulated day ({name}): {row['hours']:g} h on a manual clock, "
            f"{_count(row['ticks'])} ticks; memory grew {row['growth_kib']:,.1f} KiB "
            "after warm-up, every buffer within its cap.",
        ]
    out += ["", "| Input fuzzed | Examples |", "|---|---:|"]
    for name, row in results["fuzz"].items():
        out.append(f"| {name} | {_count(row['examples'])} |")
    return "\n".join(out) + "\n"


def section_of(readme_text: str) -> str:
    """What the README holds between the markers."""
    head, _, rest = readme_text.partition(START + "\n")
    body, found, _ = rest.partition(END)
    if not head or not found:
        raise ValueError(f"README.md lacks the markers {START!r} … {END!r}")
    return body


def with_section(readme_text: str, body: str) -> str:
    """``readme_text`` with ``body`` between the markers."""
    head, _, rest = readme_text.partition(START + "\n")
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{body}{END}{tail}"


def main(argv: list[str]) -> int:
    junit_xml, figures_jsonl = Path(argv[0]), Path(argv[1])
    results = gather(junit_xml, figures_jsonl, datetime.now(UTC).date().isoformat())
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    results = json.loads(RESULTS.read_text(encoding="utf-8"))  # rendered as the test reads it
    README.write_text(with_section(README.read_text("utf-8"), render(results)), "utf-8")
    lost = runs_lost(results)
    print(
        f"reliability: {results['cases']['passed']}/{results['cases']['tried']} cases passed, "
        f"{lost} runs lost; wrote {RESULTS.name} and the README's Reliability section"
    )
    return 1 if lost or results["cases"]["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
