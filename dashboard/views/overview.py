"""Overview: KPIs with their change, energy and emissions over time, largest consumers."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, kpis, tables, widgets
from greenai.figures import units
from greenai.queries import overview

filters = widgets.current_filters()
url = data.ledger_url()
st.title("Overview")
note = " · changes against the previous period of the same length" if filters.has_previous else ""
st.caption(f"{filters.label} · root runs only, so that no joule is counted twice{note}")

runs = data.runs(url, filters.runs())
if runs.empty:
    widgets.no_match(filters)
    st.stop()

current = overview.kpis(runs)
changes: dict[str, float | None] = {}
if filters.has_previous:
    previous = overview.kpis(data.runs(url, filters.runs(previous=True)))
    changes = overview.kpi_changes(current, previous)
kpis.show(current, changes)

st.subheader("Over time")
stack = st.segmented_control("Stack by", ["project", "phase", "model"], default="project")
stack_by = stack or "project"
first, last = runs["started_at"].min(), runs["started_at"].max()
step = overview.time_step(filters.start or first, filters.end or last)
series = overview.energy_over_time(runs, by=stack_by, step=step)
shown = (filters.start, filters.end) if filters.start and filters.end else None
energy_tab, emissions_tab = st.tabs(["Energy", "Emissions"])
with energy_tab:
    unit, per = units.energy_scale(series.groupby("period")["facility_energy_j"].sum())
    kind = st.radio("Energy", ["IT", "Facility"], horizontal=True, label_visibility="collapsed")
    column = "energy_j" if kind == "IT" else "facility_energy_j"
    title = f"{kind} energy ({unit})"
    chart = charts.over_time(series, column, title, per, step, stack_by.title(), shown)
    st.altair_chart(chart, width="stretch")
with emissions_tab:
    unit, per = units.mass_scale(series.groupby("period")["emissions_kg"].sum())
    title = f"Emissions, location-based ({unit}CO2e)"
    chart = charts.over_time(series, "emissions_kg", title, per, step, stack_by.title(), shown)
    st.altair_chart(chart, width="stretch")

st.subheader("Largest consumers")
consumers = overview.largest_consumers(runs, by=("project", "model"), n=10)
consumers["consumer"] = consumers["project"] + " · " + consumers["model"]
unit, per = units.energy_scale(consumers["energy_j"])
st.altair_chart(charts.consumers(consumers, "consumer", per, unit), width="stretch")
st.dataframe(tables.consumers(consumers), hide_index=True)
