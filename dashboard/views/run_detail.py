"""Run detail: metadata, power over time with windows, energy by kind and method, the
attribution rule, the emission factor and its source, data-quality flags, child runs."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, explain, shaping, tables, widgets

filters = widgets.current_filters()
url = data.ledger_url()
st.title("Run detail")

labels = shaping.run_labels(data.runs(url, filters.runs(root_only=False)))
wanted = str(st.query_params.get("run") or "")
if wanted and wanted not in labels:
    labels = {wanted: wanted, **labels}
if not labels:
    widgets.no_match(filters)
    st.stop()
ids = list(labels)
run_id: str = st.selectbox("Run (newest first)", ids, index=ids.index(wanted) if wanted else 0,
                      format_func=labels.__getitem__)  # fmt: skip
st.query_params["run"] = run_id
record = data.run_record(url, run_id)
if record is None:
    st.warning("No run with this id in the ledger.")
    st.stop()
run = record["run"]

widgets.plain(f"Name: {run.get('name') or '–'}")
for col, (label, value) in zip(st.columns(3) + st.columns(3), tables.run_figures(run), strict=True):
    col.metric(label, value, border=True)

st.subheader("Power over time")
windows = tables.window_rows(record["windows"])
series = charts.downsample(data.series(url, run_id, float(run.get("duration_s") or 0.0)))
if series.empty:
    st.info("No power series stored for this run (older than the kept tiers, or not sampled).")
else:
    st.altair_chart(charts.power(series, windows), width="stretch")
if not windows.empty:
    st.dataframe(tables.windows(windows), hide_index=True)

left, right = st.columns(2)
with left:
    st.subheader("Metadata")
    meta = tables.run_metadata(run)
    st.dataframe(meta, hide_index=True, height=35 * (len(meta) + 1) + 3)
with right:
    st.subheader("Energy by kind and method")
    st.dataframe(tables.energy_by_kind(run), hide_index=True)
    st.subheader("How the figures were obtained")
    st.dataframe(tables.provenance(run), hide_index=True)
    st.caption(explain.attribution_text(run.get("attribution")))
    st.subheader("Data-quality flags")
    flags = list(run.get("flags") or [])
    if flags:
        st.dataframe(explain.flags_table(flags), hide_index=True)
    if counted := explain.caveats_text(run):
        st.caption(counted)
    elif not flags:
        st.success("No flag: nothing unusual was recorded.")

st.subheader("Devices")
st.dataframe(tables.devices(record["devices"]), hide_index=True)
children = data.children(url, run_id)
st.subheader(f"Child runs ({len(children)})")
if not children.empty:
    st.dataframe(tables.child_runs(children), hide_index=True)
