"""Data quality: how the energy was obtained (counter, power sensor, model) and the runs
whose figures need care (unknown location, interrupted, collector errors, overlaps)."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, explain, tables, widgets
from greenai.queries import overview

filters = widgets.current_filters()
url = data.ledger_url()
st.title("Data quality")
st.caption(f"{filters.label} · how far the figures can be trusted")

roots = data.runs(url, filters.runs())
every = data.runs(url, filters.runs(root_only=False))
if every.empty:
    widgets.no_match(filters)
    st.stop()

st.subheader("How the energy was obtained")
shares = overview.method_shares(roots, data.devices(url, tuple(overview.mixed_runs(roots))))
by_method = dict(zip(shares["method"], shares["share"], strict=True))
cols = st.columns(3)
for col, (method, label) in zip(
    cols,
    (("counter", "Hardware energy counter"), ("power", "Hardware power sensor"),
     ("model", "Model estimate")),
    strict=True,
):  # fmt: skip
    col.metric(label, f"{by_method.get(method, 0.0):.1%}", border=True,
               help="Share of the IT energy of root runs in the period.")  # fmt: skip
if not shares.empty:
    st.altair_chart(charts.methods(shares), width="stretch")

st.subheader("Runs that need care")
st.caption("All runs in the period, child runs included.")
issues = overview.quality_issues(every)
for col, (issue, frame) in zip(st.columns(len(issues)), issues.items(), strict=True):
    col.metric(explain.ISSUE_LABELS[issue], len(frame), help=overview.ISSUES[issue], border=True)
for issue, frame in issues.items():
    if not frame.empty:
        with st.expander(f"{overview.ISSUES[issue]}: {len(frame)}"):
            st.dataframe(tables.issue_runs(frame), hide_index=True)
