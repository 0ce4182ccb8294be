"""The Reports page's work: period choices, building a report and its files in memory.

``greenai.reports`` is imported lazily (:func:`reports_module`), so the rest of the
dashboard works without it (and without its optional PDF dependencies).
"""

from __future__ import annotations

import base64
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from greenai.errors import GreenAIError

FORMATS = ("html", "pdf", "csv", "json")
MIME = {".html": "text/html", ".pdf": "application/pdf", ".csv": "text/csv",
        ".json": "application/json"}  # fmt: skip


def reports_module() -> ModuleType | None:
    """``greenai.reports``, or None when this installation has no report builder."""
    try:
        import greenai.reports as module
    except ImportError:
        return None
    return module


def current_quarter(today: date) -> str:
    """The quarter ``today`` is in, spelt as a period (``2026-Q4``)."""
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def period_choices(module: ModuleType, today: date | None = None) -> list[str]:
    """The current quarter (to date), then the last complete quarter, month and year."""
    out = [current_quarter(today or datetime.now(UTC).date())]
    for kind in ("quarter", "month", "year"):
        try:
            out.append(str(module.last_period(kind).label))
        except (GreenAIError, AttributeError):
            continue
    return list(dict.fromkeys(out))


@dataclass
class Built:
    """A built report and its files.

    Attributes:
        key: What it was built for (period text, projects).
        report: The report dict.
        html: The rendered HTML (preview), or None if rendering failed.
        files: File name -> content, for download.
        problems: Format -> why its files could not be produced.
    """

    key: tuple[str, tuple[str, ...]]
    report: dict[str, Any]
    html: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def build(module: ModuleType, ledger: Any, period: str, projects: tuple[str, ...]) -> Built:
    """Builds the report of ``period`` and renders each format into memory.

    Raises:
        GreenAIError: A bad period, or nothing to report (the module's EmptyPeriodError).
    """
    parsed = module.parse_period(period)
    report = module.build_report(ledger, parsed, projects=projects)
    built = Built(key=(period, projects), report=report)
    try:
        built.html = module.render_html(report)
    except GreenAIError as exc:
        built.problems["preview"] = str(exc)
    with tempfile.TemporaryDirectory(prefix="greenai-report-") as tmp:
        for fmt in FORMATS:
            try:
                written = module.write_report(report, Path(tmp) / fmt, formats=(fmt,))
            except (GreenAIError, OSError) as exc:
                built.problems[fmt] = str(exc)
                continue
            for name, path in written.items():
                if name != "manifest.json":
                    built.files[name] = Path(path).read_bytes()
    return built


def preview_url(html: str | None, limit_bytes: int = 1_500_000) -> str | None:
    """The report as a ``data:`` URL for an iframe, or None when missing or too large.

    A ``data:`` document has an opaque origin: whatever the report holds cannot reach
    the dashboard's page, unlike HTML embedded as-is.
    """
    if not html:
        return None
    encoded = base64.b64encode(html.encode("utf-8")).decode("ascii")
    if len(encoded) > limit_bytes:
        return None
    return f"data:text/html;charset=utf-8;base64,{encoded}"


def mime(name: str) -> str:
    """The MIME type of a report file."""
    return MIME.get(Path(name).suffix, "application/octet-stream")
