"""Overview: KPIs with their change, energy and emissions over time, largest consumers.

Every figure comes from the figures layer's lines of the period (as the reports'): runs
split at the period's edges in the configured time zone, node idle energy kept apart.
"""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, kpis, shaping, tables, widgets
from greenai.figures import frame, units
from greenai.figures.definitions import EMISSIONS_LOCATION

filters = widgets.current_filters()
url = data.ledger_url()
st.title("Overview")
note = " · changes against the period before" if filters.has_previous else ""
st.caption(
    f"{filters.label} · root runs only, so that no joule is counted twice; a run crossing "
    f"the period's edge counts its share inside it{note}"
)

figures = data.period_figures(url, filters.period, filters.selection, widgets.today())
if figures is None or (figures.current["runs"] == 0 and figures.current["boundary_energy_j"] == 0):
    widgets.no_match(filters)
    st.stop()

changes: dict[str, float | None] = {}
if figures.previous is not None:
    changes = frame.changes(figures.current, figures.previous)
kpis.show(figures.current, changes)

st.subheader("Over time")
stack = st.segmented_control("Stack by", list(data.STACKS), default="project")
stack_by = stack or "project"
series = shaping.local_times(figures.series[stack_by], figures.period.timezone)
step = shaping.bucket_step(figures.period)
domain = (shaping.wall_clock(figures.period.start), shaping.wall_clock(figures.period.end))
energy_tab, emissions_tab = st.tabs(["Energy", "Emissions"])
with energy_tab:
    unit, per = units.energy_scale(series.groupby("period")["facility_energy_j"].sum())
    kind = st.radio("Energy", ["IT", "Facility"], horizontal=True, label_visibility="collapsed")
    column = "energy_j" if kind == "IT" else "facility_energy_j"
    title = f"{kind} energy ({unit})"
    chart = charts.over_time(
        series, column, title, per, step, stack_by.title(), domain, figures.period.timezone
    )
    st.altair_chart(chart, width="stretch")
with emissions_tab:
    unit, per = units.mass_scale(series.groupby("period")["emissions_kg"].sum())
    title = f"Emissions, location-based ({unit}CO2e)"
    chart = charts.over_time(
        series, "emissions_kg", title, per, step, stack_by.title(), domain,
        figures.period.timezone, EMISSIONS_LOCATION,
    )  # fmt: skip
    st.altair_chart(chart, width="stretch")

st.subheader("Largest consumers")
consumers = frame.largest(figures.lines, by=("project", "model"), n=10)
if consumers.empty:
    st.info("No run in the period: its energy is node idle energy only.")
else:
    consumers["consumer"] = consumers["project"] + " · " + consumers["model"]
    unit, per = units.energy_scale(consumers["energy_j"])
    st.altair_chart(charts.consumers(consumers, "consumer", per, unit), width="stretch")
    st.dataframe(tables.consumers(consumers), hide_index=True)
