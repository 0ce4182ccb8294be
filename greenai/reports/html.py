"""The report as one self-contained HTML document (inline CSS and SVG charts, no script)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from greenai.errors import GreenAIError
from greenai.reports import charts
from greenai.reports.caveats import LABELS

__all__ = ["render_html"]

TEMPLATE = "report.html.j2"


def _fixed(decimals: int) -> Any:
    def render(value: Any) -> str:
        if value is None:
            return "—"
        return f"{float(value):,.{decimals}f}"

    return render


def _pct(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f} %"


def _change(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:+.1f} %"


def _dash(value: Any) -> str:
    return "—" if value is None or value == "" else str(value)


def _when(value: Any) -> str:
    """``2026-07-01T06:00:00Z`` -> ``2026-07-01 06:00``."""
    return "—" if not value else str(value).replace("T", " ")[:16]


FILTERS = {
    "kwh": _fixed(3),
    "mwh": _fixed(6),
    "t": _fixed(6),
    "kg": _fixed(3),
    "g": _fixed(3),
    "n0": _fixed(0),
    "n2": _fixed(2),
    "pct": _pct,
    "change": _change,
    "dash": _dash,
    "when": _when,
}


def _charts(report: Mapping[str, Any]) -> dict[str, str]:
    """The charts: energy by project, emissions by period, energy intensity trend, mix."""
    projects = [
        (row["project"] or "(no project)", [row["energy_it_kwh"] or 0.0,
                                             row["cloud_energy_it_kwh"] or 0.0])
        for row in report["by_project"]
    ]  # fmt: skip
    periods = [report["previous_year"], report["previous_period"], report]
    keys = (
        ("Scope 2 location-based", "scope2_location_tco2e"),
        ("Scope 2 market-based", "scope2_market_tco2e"),
        ("Scope 3 cat. 1 (cloud)", "scope3_cloud_tco2e"),
    )
    trend = report["intensity_trend"]
    mix = report["energy_mix"]
    families = ("fossil", "nuclear", "renewable", "unknown")
    return {
        "projects": charts.stacked_bars(
            projects, ["Scope 2 (on premises)", "Scope 3 cat. 1 (cloud)"], "kWh (IT)",
            "IT energy by project",
        ),
        "emissions": charts.grouped_columns(
            [p["period_label"] for p in periods],
            [(name, [p.get(key) for p in periods]) for name, key in keys],
            "tCO2e",
            "Emissions by period",
        ),
        "trend": charts.column_chart(
            [row["label"] for row in trend],
            [row["kwh_per_million_tokens"] for row in trend],
            "kWh per million tokens",
            "Energy intensity trend",
        ),
        "mix": charts.stacked_bars(
            [("Facility energy", [mix.get(f"{f}_kwh") or 0.0 for f in families])],
            [f.capitalize() for f in families],
            "kWh",
            "Energy mix",
            charts.MIX_COLORS,
        ),
    }  # fmt: skip


def _environment() -> Any:
    try:
        import jinja2
    except ImportError as exc:
        raise GreenAIError("the HTML report needs jinja2: pip install 'greenai[report]'") from exc
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("greenai.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


def render_html(report: Mapping[str, Any], *, generated_at: datetime | None = None) -> str:
    """The report as an HTML document.

    Args:
        report: A report from :func:`greenai.reports.build_report`.
        generated_at: Generation time shown in the document (default now, UTC).

    Returns:
        The HTML text (UTF-8, self-contained).

    Raises:
        GreenAIError: jinja2 is not installed.
    """
    import greenai

    moment = (generated_at or datetime.now(UTC)).astimezone(UTC)
    template = _environment().get_template(TEMPLATE)
    return str(
        template.render(
            r=report,
            charts=_charts(report),
            quality_labels=LABELS,
            generated_at=moment.strftime("%Y-%m-%d %H:%M:%S UTC"),
            greenai_version=greenai.__version__,
        )
    )
