"""Compare: energy per token of models x techniques, grouped by hardware, batch size and
sequence length, with the spread over repeated runs and savings against the baseline."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, shaping, tables, widgets
from greenai.figures import definitions
from greenai.queries import compare

filters = widgets.current_filters()
url = data.ledger_url()
st.title("Compare models and techniques")
st.caption(
    f"{filters.label} · completed root runs that produced output tokens · energy is IT "
    "energy; mean with 95% t-interval over repeated runs (n)"
)

flt = filters.runs(root_only=True, statuses=("completed",))
rows = data.compare_rows(url, flt, (), ())  # every model: the choices below
if rows.empty:
    st.info("No completed run with output tokens matches the filters. Record tokens with "
            "`run.add_tokens(output=...)` to compare energy per token.")  # fmt: skip
    st.stop()

left, middle, right = st.columns([2, 2, 1])
models = left.multiselect("Models", sorted(rows["model"].unique()), placeholder="All")
techniques = middle.multiselect(
    "Techniques", sorted(rows["technique"].dropna().unique()), placeholder="All"
)
metric = right.selectbox(
    "Figure", list(compare.METRICS), format_func=lambda m: compare.METRICS[m][1]
)
chosen = (tuple(models), tuple(techniques))
rows = data.compare_rows(url, flt, *chosen)
label, unit, lower_is_better = compare.METRICS[metric]

st.subheader(f"{label} by group")
sort = st.selectbox("Sort by", shaping.SORTS, key="compare_sort")
stats = shaping.sort_stats(
    shaping.with_labels(data.compare_groups(url, flt, *chosen)), metric, sort
)
st.altair_chart(charts.metric_bars(stats, metric, unit), width="stretch")
st.dataframe(tables.compare_compact(stats, metric), hide_index=True)
csv = tables.csv_text(tables.compare_stats(stats))
st.download_button("Download CSV", csv, "greenai-compare.csv", "text/csv")

st.subheader("Savings against the baseline")
st.caption(
    "Each technique against the baseline runs of its base model on the same workload: "
    "hardware, window (or phase), batch size and sequence length, never pooled; interval "
    f"of the ratio of means. {definitions.STEADY_J_PER_TOKEN.label}: "
    f"{definitions.STEADY_J_PER_TOKEN.text} Runs without such a window: "
    f"{definitions.J_PER_OUTPUT_TOKEN.text}"
)
method = st.radio("Interval", list(shaping.INTERVALS), horizontal=True,
                  format_func=shaping.INTERVALS.__getitem__)  # fmt: skip
saved = data.compare_savings(url, flt, *chosen, metric, method)
if saved.empty:
    st.info("No technique run has baseline runs of its base model on the same workload "
            "(set base_model and technique when tracking).")  # fmt: skip
else:
    saved = shaping.savings_pairs(saved)
    st.altair_chart(charts.savings_bars(saved, unit, lower_is_better), width="stretch")
    st.dataframe(tables.savings(saved), hide_index=True)
unpaired = data.compare_unpaired(url, flt, *chosen)
if not unpaired.empty:
    st.warning(
        "No like-for-like baseline, so no saving shown for: "
        + "; ".join(shaping.workload_labels(unpaired))
    )

st.subheader("Quality and phases")
# Lazy tabs: only the open one reads its data (quality metrics, or windows).
quality_tab, phases_tab = st.tabs(
    ["Quality against energy", "Prefill and decode"], key="compare_more", on_change="rerun"
)
if quality_tab.open:
    with quality_tab:
        quality = data.metrics(url, tuple(rows["id"]))
        if quality.empty:
            st.info("No quality metric was logged for these runs (`run.log_metric(...)`).")
        else:
            name = st.selectbox("Quality metric", sorted(quality["name"].unique()))
            higher = st.toggle("Higher is better", value=shaping.higher_is_better(name))
            points = compare.quality_vs_energy(rows, quality, name, energy_metric=metric,
                                               higher_is_better=higher)  # fmt: skip
            chart = charts.pareto(shaping.with_labels(points), metric, f"{label} ({unit})", name)
            st.altair_chart(chart, width="stretch")
            st.caption("Dashed line: the Pareto frontier (no other group is better on both).")
if phases_tab.open:
    with phases_tab:
        split = data.compare_windows(url, flt, *chosen)
        if split.empty:
            st.info("No windows with energy and tokens for these runs (`run.window(...)`).")
        else:
            st.altair_chart(charts.window_bars(shaping.with_labels(split)), width="stretch")
