"""Data quality: how the energy was obtained (counter, power sensor, model) and the runs
whose figures need care, by the flag registry's groups (:mod:`greenai.figures.flags`)."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, tables, widgets
from greenai.figures import flags
from greenai.queries import overview

filters = widgets.current_filters()
url = data.ledger_url()
st.title("Data quality")
st.caption(f"{filters.label} · how far the figures can be trusted")

roots = data.period_runs(url, filters.period, filters.selection, widgets.today())
if roots.empty:
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
               help="Share of the IT energy of the root runs the period counts (whole "
                    "runs).")  # fmt: skip
if not shares.empty:
    st.altair_chart(charts.methods(shares), width="stretch")

st.subheader("Runs that need care")
st.caption("The root runs the period counts (those with a share in it, as the Overview "
           "and the report count them), by the report's data-quality groups (a child run's "
           "energy is part of its root's).")  # fmt: skip
issues = overview.quality_issues(roots)
per_row = 4
groups = list(issues)
for start in range(0, len(groups), per_row):
    row = groups[start : start + per_row]
    for col, group in zip(st.columns(per_row)[: len(row)], row, strict=True):
        words = flags.GROUPS[group]
        col.metric(words.label, len(issues[group]), help=words.text, border=True)
for group, frame in issues.items():
    if not frame.empty:
        with st.expander(f"{flags.GROUPS[group].text}: {len(frame)}"):
            st.dataframe(tables.issue_runs(frame), hide_index=True)
