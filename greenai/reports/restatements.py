"""Restatements against an earlier report of the same period (``--compare-to``).

The earlier report is read from its folder: ``manifest.json`` and the ``report.json`` it
lists, whose SHA-256 must match the manifest (a file changed since is refused). Every
headline figure is compared, then every run of either appendix: a run the new report
adds, drops or counts with other figures is a restatement, with the reasons of the
revisions the ledger recorded between the two as-of times.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenai.errors import ConfigError
from greenai.reports.compute import exact

if TYPE_CHECKING:
    from greenai.ledger import Ledger

__all__ = ["EarlierReport", "read_earlier", "restatements"]

TOTALS = (
    "energy_it_kwh", "energy_facility_kwh", "scope2_location_tco2e", "scope2_market_tco2e",
    "scope3_cloud_energy_it_kwh", "scope3_cloud_tco2e", "runs_count", "tokens",
    "measured_share",
)  # fmt: skip
RUN_FIGURES = (
    "project", "status", "scope", "location", "share_in_period", "energy_it_kwh",
    "energy_facility_kwh", "location_kgco2e", "market_kgco2e", "tokens", "flags",
)  # fmt: skip
SAME_PERIOD = ("period_label", "timezone", "projects_filter")
STILL_RUNNING = "running at the earlier as-of time: counted from its latest figures"
NO_REVISION = "no revision recorded between the two as-of times"


@dataclass(frozen=True)
class EarlierReport:
    """An earlier report as its folder holds it.

    Attributes:
        path: Its manifest.json.
        report: Its report.json.
        generated_at: When it was generated (from the manifest).
    """

    path: Path
    report: Mapping[str, Any]
    generated_at: str | None


def _refuse(path: Path, why: str) -> ConfigError:
    return ConfigError("compare_to", str(path), why)


def read_earlier(path: Path) -> EarlierReport:
    """Reads the report that ``path`` (a manifest.json, or the folder holding it) describes.

    Raises:
        ConfigError: No manifest, no report.json beside it, a report.json whose hash is not
            the manifest's, or not a greenai report.
    """
    manifest_path = path / "manifest.json" if path.is_dir() else path
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        listed = manifest["files"]["report.json"]
        data = (manifest_path.parent / "report.json").read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        why = "the manifest.json of an earlier report written with report.json (--format json)"
        raise _refuse(manifest_path, f"{why} ({exc.__class__.__name__}: {exc})") from exc
    if hashlib.sha256(data).hexdigest() != listed.get("sha256"):
        raise _refuse(manifest_path, "a report.json unchanged since its manifest was written")
    report = json.loads(data)
    if not isinstance(report, dict) or "runs" not in report or "as_of" not in report:
        raise _refuse(manifest_path, "a greenai report's manifest.json")
    return EarlierReport(manifest_path, report, manifest.get("generated_at"))


def _totals(earlier: Mapping[str, Any], report: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key in TOTALS:
        before, after = earlier.get(key), report.get(key)
        difference = relative = None
        if isinstance(before, int | float) and isinstance(after, int | float):
            difference = exact(after - before)
            relative = exact((after - before) / before) if before else None
        rows.append(
            {
                "metric": key,
                "before": before,
                "after": after,
                "difference": difference,
                "relative_change": relative,
            }
        )
    return rows


def _reasons(
    ledger: Ledger, run_ids: Sequence[str], after: datetime, until: datetime
) -> dict[str, list[dict[str, Any]]]:
    from greenai.ledger.revisions import revisions_between

    with ledger.read() as conn:
        return revisions_between(conn, run_ids, after, until)


def _run_change(
    run_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    reasons: list[dict[str, Any]],
) -> dict[str, Any] | None:
    if before is not None and after is not None:
        keys = [k for k in RUN_FIGURES if before.get(k) != after.get(k)]
        if not keys:
            return None
        change = "revised"
    else:
        keys = list(RUN_FIGURES)
        change = "added" if before is None else "removed"
    running = (before or {}).get("status") == "running" or (after or {}).get("status") == "running"
    fallback = STILL_RUNNING if running else NO_REVISION
    return {
        "run_id": run_id,
        "change": change,
        "before": None if before is None else {k: before.get(k) for k in keys},
        "after": None if after is None else {k: after.get(k) for k in keys},
        "revisions": reasons,
        "reasons": [r["reason"] for r in reasons] or [fallback],
    }


def restatements(
    ledger: Ledger, earlier: EarlierReport, report: Mapping[str, Any]
) -> dict[str, Any]:
    """What changed from ``earlier`` to ``report`` (the same period), and why.

    Raises:
        ConfigError: The earlier report covers another period, time zone or projects.
    """
    from greenai.ledger.schema import to_utc

    old = earlier.report
    for key in SAME_PERIOD:
        if old.get(key) != report.get(key):
            why = f"a report with the same {key} ({report.get(key)!r}, not {old.get(key)!r})"
            raise _refuse(earlier.path, why)
    before = {str(r["run_id"]): r for r in old["runs"]}
    after = {str(r["run_id"]): r for r in report["runs"]}
    ids = sorted(before.keys() | after.keys())
    since, until = to_utc(str(old["as_of"])), to_utc(str(report["as_of"]))
    reasons = _reasons(ledger, ids, since, until)
    runs = [_run_change(i, before.get(i), after.get(i), reasons.get(i, [])) for i in ids]
    return {
        "compared_to": {
            "as_of": old["as_of"],
            "generated_at": earlier.generated_at,
            "inputs_sha256": old.get("inputs_sha256"),
            "manifest": earlier.path.name,
        },
        "totals": _totals(old, report),
        "runs": [r for r in runs if r is not None],
        "rule": "a run counted with other figures, added or dropped since the earlier report; "
        "reasons: the revisions the ledger recorded between the two as-of times",
    }
