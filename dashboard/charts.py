"""Altair charts of the dashboard: colour-blind-safe (Okabe-Ito) colours, axis titles
with units, UTC time axes. Each function takes prepared DataFrames and returns a chart."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import altair as alt
import pandas as pd

from greenai.figures.definitions import (
    DEFINITIONS,
    ENERGY_BOUNDARY,
    ENERGY_RUNS_ONLY,
    J_PER_TOKEN,
    Definition,
)
from greenai.queries.workloads import BASES

# Okabe & Ito (2008), ordered for contrast between neighbours; grey for "other".
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000")  # fmt: skip
OTHER = "#999999"
# Window shading: the Okabe-Ito colours the device lines use last.
WINDOW_SHADES = ("#CC79A7", "#009E73", "#F0E442", "#56B4E9")
METHOD_COLORS = {
    "counter": "#0072B2",
    "power": "#56B4E9",
    "model": "#E69F00",
    "mixed": "#CC79A7",
    "unknown": OTHER,
}
VERDICT_COLORS = {
    "better": "#0072B2",
    "worse": "#D55E00",
    "no significant difference": OTHER,
    "too few runs": "#000000",
}
# Weeks are ISO weeks (from Monday): labelled by their first day.
_TIME_UNITS: dict[str, Any] = {"D": "utcyearmonthdate", "W": "utcyearmonthdate",
                               "MS": "utcyearmonth"}  # fmt: skip
_HEIGHT = 320
# Altair's chart classes are typed loosely (builders return Any): charts are typed as such.
ChartSpec = Any
DEFINITION = "definition"
"""The column of a chart's data holding its figure's definition, shown in the tooltip."""


def category_axis(**options: Any) -> alt.Axis:
    """An axis of categories on which every label shows: none dropped for overlapping,
    none cut; a long ``model · technique`` label wraps at its `` · ``."""
    return alt.Axis(labelOverlap=False, labelLimit=0, labelExpr="split(datum.label, ' · ')",
                    **options)  # fmt: skip


def defined(frame: pd.DataFrame, definition: Definition | pd.Series) -> pd.DataFrame:
    """``frame`` with the :data:`DEFINITION` column its tooltip shows."""
    text = definition if isinstance(definition, pd.Series) else definition.text
    return frame.assign(**{DEFINITION: text})


def definition_tip() -> alt.Tooltip:
    """The tooltip line that says what the chart's figure is."""
    return alt.Tooltip(f"{DEFINITION}:N", title="Definition")


def _colors(values: Iterable[Any]) -> alt.Scale:
    domain = list(dict.fromkeys(str(v) for v in values))
    named = [v for v in domain if v != "other"]
    colors = {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(named)}
    colors["other"] = OTHER
    return alt.Scale(domain=domain, range=[colors[v] for v in domain])


def over_time(
    frame: pd.DataFrame,
    value: str,
    title: str,
    per: float,
    step: str,
    group_title: str,
    domain: tuple[datetime, datetime] | None = None,
    timezone: str = "UTC",
    definition: Definition = ENERGY_BOUNDARY,
) -> ChartSpec:
    """Stacked bars of ``value / per`` per time bucket, coloured by ``group``.

    Args:
        frame: Output of :func:`greenai.queries.overview.energy_over_time`.
        value: Column to plot (``energy_j``, ``emissions_kg``...).
        title: Axis title with its unit (``IT energy (kWh)``).
        per: Divisor that turns the column into the title's unit.
        step: ``D``, ``W`` or ``MS``.
        group_title: Legend title (``Project``).
        domain: The period shown on the time axis (default: the data's span).
        timezone: The zone the buckets were cut in: ``period`` holds their local
            wall-clock starts (as UTC-labelled times, so the axis shows local days).
        definition: What the figure is (in the tooltip).
    """
    data = defined(frame.assign(shown=frame[value].astype(float) / per), definition)
    time_unit: Any = _TIME_UNITS.get(step, "utcyearmonthdate")
    return (
        alt.Chart(data, height=_HEIGHT)
        .mark_bar()
        .encode(
            x=alt.X(
                "period:T",
                timeUnit=time_unit,
                title=f"Start of period ({timezone})",
                scale=alt.Scale(domain=[d.isoformat() for d in domain])
                if domain
                else alt.Undefined,
            ),
            y=alt.Y("sum(shown):Q", title=title, stack="zero"),
            color=alt.Color("group:N", title=group_title, scale=_colors(data["group"])),
            tooltip=[
                alt.Tooltip("period:T", timeUnit=time_unit, title="Period"),
                alt.Tooltip("group:N", title=group_title),
                alt.Tooltip("sum(shown):Q", title=title, format=",.3~f"),
                alt.Tooltip("sum(runs):Q", title="Runs"),
                definition_tip(),
            ],
        )
    )


def consumers(frame: pd.DataFrame, label: str, per: float, unit: str) -> ChartSpec:
    """Horizontal bars of the largest consumers' IT energy (``label`` names each bar)."""
    data = defined(frame.assign(shown=frame["energy_j"].astype(float) / per), ENERGY_RUNS_ONLY)
    return (
        alt.Chart(data, height=40 + 34 * len(data))
        .mark_bar()
        .encode(
            y=alt.Y(f"{label}:N", sort="-x", title=None, axis=category_axis()),
            x=alt.X("shown:Q", title=f"IT energy ({unit})"),
            color=alt.Color("project:N", title="Project", scale=_colors(data["project"])),
            tooltip=[
                alt.Tooltip(f"{label}:N", title="Consumer"),
                alt.Tooltip("shown:Q", title=f"IT energy ({unit})", format=",.3~f"),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
                alt.Tooltip("runs:Q", title="Runs"),
                definition_tip(),
            ],
        )
    )


def metric_bars(stats: pd.DataFrame, metric: str, title: str) -> ChartSpec:
    """Mean of ``metric`` per group with its 95% t-interval as an error bar.

    ``stats`` needs ``group`` (x axis), ``series`` (batch size and sequence length:
    colour and offset), ``n`` and the ``<metric>_mean/_low/_high`` columns.
    """
    stats = defined(stats, DEFINITIONS[metric])
    base = alt.Chart(stats, height=_HEIGHT).encode(
        x=alt.X("group:N", title=None, axis=category_axis(labelAngle=0)),
        xOffset=alt.XOffset("series:N"),
    )
    tooltip = [
        alt.Tooltip("group:N", title="Model · technique"),
        alt.Tooltip("series:N", title="Batch · sequence"),
        alt.Tooltip(f"{metric}_mean:Q", title=f"Mean {title}", format=",.4~g"),
        alt.Tooltip(f"{metric}_low:Q", title="95% CI low", format=",.4~g"),
        alt.Tooltip(f"{metric}_high:Q", title="95% CI high", format=",.4~g"),
        alt.Tooltip("n:Q", title="Runs"),
        definition_tip(),
    ]
    bars = base.mark_bar().encode(
        y=alt.Y(f"{metric}_mean:Q", title=f"{title}, mean and 95% CI"),
        color=alt.Color("series:N", title="Batch · sequence", scale=_colors(stats["series"])),
        tooltip=tooltip,
    )
    errors = base.mark_rule(color="#000000", strokeWidth=1.5).encode(
        y=f"{metric}_low:Q", y2=f"{metric}_high:Q"
    )
    return alt.layer(bars, errors)


def savings_bars(frame: pd.DataFrame, unit: str, lower_is_better: bool) -> ChartSpec:
    """Change of each technique against its baseline, with the interval of the ratio
    (``frame``: savings of workload lines, their ``basis`` saying which figure)."""

    def verdict(row: pd.Series) -> str:
        if row["significant"] is None or pd.isna(row["significant"]):
            return "too few runs"
        if not row["significant"]:
            return "no significant difference"
        return "better" if (row["change"] < 0) == lower_is_better else "worse"

    data = frame.assign(verdict=frame.apply(verdict, axis=1) if not frame.empty else [])
    data = defined(data, data["basis"].map(lambda b: BASES[b].text))
    base = alt.Chart(data, height=max(140, 48 * len(data))).encode(
        y=alt.Y("pair:N", title=None, sort=None, axis=category_axis())
    )
    scale = alt.Scale(domain=list(VERDICT_COLORS), range=list(VERDICT_COLORS.values()))
    points = base.mark_point(filled=True, size=90).encode(
        x=alt.X(
            "change:Q", title=f"Change in {unit} vs baseline (95% CI)", axis=alt.Axis(format="+%")
        ),
        color=alt.Color("verdict:N", title="Verdict", scale=scale),
        tooltip=[
            alt.Tooltip("label:N", title="Result"),
            alt.Tooltip("n_baseline:Q", title="Baseline runs"),
            definition_tip(),
        ],
    )
    errors = base.mark_rule(strokeWidth=2).encode(
        x="change_low:Q", x2="change_high:Q", color=alt.Color("verdict:N", scale=scale)
    )
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    return alt.layer(errors, points, zero)


def pareto(points: pd.DataFrame, energy: str, energy_title: str, quality: str) -> ChartSpec:
    """Quality against energy per group, the Pareto frontier drawn as a line through the
    frontier points only."""
    points = defined(points, DEFINITIONS[energy])
    scatter = alt.Chart(points, height=_HEIGHT).mark_point(filled=True, size=100).encode(
        x=alt.X(f"{energy}:Q", title=energy_title, scale=alt.Scale(zero=False)),
        y=alt.Y(f"{quality}:Q", title=f"{quality} (mean; as logged)", scale=alt.Scale(zero=False)),
        color=alt.Color("technique:N", title="Technique", scale=_colors(points["technique"])),
        shape=alt.Shape("on_frontier:N", title="On the frontier"),
        tooltip=["group:N", "technique:N", alt.Tooltip(f"{energy}:Q", format=",.4~g"),
                 alt.Tooltip(f"{quality}:Q", format=",.4~g"), "n:Q", definition_tip()],
    )  # fmt: skip
    front = points[points["on_frontier"].astype(bool)].sort_values(energy)
    line = (
        alt.Chart(front)
        .mark_line(color="#000000", strokeDash=[6, 3])
        .encode(x=f"{energy}:Q", y=f"{quality}:Q")
    )
    return alt.layer(line, scatter)


def window_bars(split: pd.DataFrame) -> ChartSpec:
    """J per token of each window (prefill, decode...) per group."""
    return (
        alt.Chart(defined(split, J_PER_TOKEN), height=_HEIGHT)
        .mark_bar()
        .encode(
            x=alt.X("group:N", title=None, axis=category_axis(labelAngle=0)),
            xOffset="window:N",
            y=alt.Y("j_per_token:Q", title="Energy per token in the window (J/token)"),
            color=alt.Color("window:N", title="Window", scale=_colors(split["window"])),
            tooltip=[
                "group:N",
                "window:N",
                alt.Tooltip("j_per_token:Q", format=",.4~g"),
                alt.Tooltip("share:Q", title="Share of run energy", format=".0%"),
                "n:Q",
                definition_tip(),
            ],
        )
    )


def downsample(series: pd.DataFrame, max_points: int = 1500) -> pd.DataFrame:
    """At most ``max_points`` rows per device: means over equal time buckets."""
    if series.empty or series.groupby("device_id").size().max() <= max_points:
        return series
    ts = pd.to_datetime(series["ts"], utc=True)
    span = (ts.max() - ts.min()) / max_points
    bucket = ts.dt.floor(span if span > pd.Timedelta(0) else pd.Timedelta(seconds=1))
    grouped = series.assign(ts=bucket).groupby(["device_id", "ts"], as_index=False)
    return grouped.agg(power_w=("power_w", "mean"))


def power(series: pd.DataFrame, windows: pd.DataFrame) -> ChartSpec:
    """Power over time per device, with the run's windows shaded and named."""
    lines = alt.Chart(series, height=_HEIGHT).mark_line().encode(
        x=alt.X("ts:T", title="Time (UTC)", axis=alt.Axis(format="%H:%M:%S")),
        y=alt.Y("power_w:Q", title="Power (W)"),
        color=alt.Color("device_id:N", title="Device", scale=_colors(series["device_id"])),
        tooltip=[alt.Tooltip("ts:T", format="%Y-%m-%d %H:%M:%S"), "device_id:N",
                 alt.Tooltip("power_w:Q", title="Power (W)", format=",.1f")],
    )  # fmt: skip
    if windows.empty:
        return alt.layer(lines)
    shaded = windows.dropna(subset=["ended_at"])
    names_seen = list(dict.fromkeys(shaded["name"].astype(str)))
    shades = alt.Scale(
        domain=names_seen,
        range=[WINDOW_SHADES[i % len(WINDOW_SHADES)] for i in range(len(names_seen))],
    )
    bands = (
        alt.Chart(shaded)
        .mark_rect(opacity=0.18)
        .encode(
            x="started_at:T",
            x2="ended_at:T",
            color=alt.Color("name:N", title="Window", scale=shades),
            tooltip=["name:N", alt.Tooltip("duration_s:Q", title="Duration (s)")],
        )
    )
    names = (
        alt.Chart(shaded)
        .mark_text(align="left", dx=3, dy=8, baseline="top")
        .encode(x="started_at:T", y=alt.value(0), text="name:N")
    )
    return alt.layer(bands, lines, names).resolve_scale(color="independent")


def methods(shares: pd.DataFrame) -> ChartSpec:
    """Share of IT energy by measurement method (counter, power sensor, model)."""
    scale = alt.Scale(domain=list(METHOD_COLORS), range=list(METHOD_COLORS.values()))
    return (
        alt.Chart(shares, height=60 + 28 * len(shares))
        .mark_bar()
        .encode(
            y=alt.Y("method:N", title=None, sort=list(METHOD_COLORS)),
            x=alt.X(
                "share:Q",
                title="Share of IT energy (%)",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("method:N", scale=scale, legend=None),
            tooltip=[
                "method:N",
                alt.Tooltip("share:Q", format=".1%"),
                alt.Tooltip("energy_j:Q", title="IT energy (J)", format=",.0f"),
            ],
        )
    )
