"""Reports: pick a period, build the ESG report, preview it and download its files."""

from __future__ import annotations

import streamlit as st

from dashboard import data, reporting, widgets
from greenai.errors import GreenAIError
from greenai.figures import units

STATE_KEY = "greenai_report"
OTHER = "Other…"

filters = widgets.current_filters()
url = data.ledger_url()
st.title("Reports")
module = reporting.reports_module()
if module is None:
    st.info("The report builder (greenai.reports) is not part of this installation.")
    st.stop()

st.caption("Periodic ESG figures (Scope 2 location- and market-based, ESRS E1) from the "
           "ledger. The sidebar's project filter applies; its period does not.")  # fmt: skip
choice = st.selectbox("Period", [*reporting.period_choices(module), OTHER])
period = choice
if choice == OTHER:
    period = st.text_input("Period", placeholder="2026-Q3, 2026-10, 2026, 2026-07-01..2026-09-30")
key = (period.strip(), filters.projects)

if st.button("Build report", type="primary", disabled=not period.strip()):
    try:
        with st.spinner("Building the report…"):
            fresh = reporting.build(module, data.open_ledger(url), key[0], filters.projects)
        st.session_state[STATE_KEY] = fresh
    except GreenAIError as exc:
        st.session_state.pop(STATE_KEY, None)
        st.warning(str(exc))

built = st.session_state.get(STATE_KEY)
if isinstance(built, reporting.Built) and built.key == key:
    report = built.report
    cols = st.columns(4)
    cols[0].metric(
        "Facility energy", units.format_energy(units.joules(report["energy_facility_kwh"]))
    )
    cols[1].metric(
        "Scope 2, location-based", units.format_mass(report["scope2_location_tco2e"] * 1e3)
    )
    cols[2].metric("Scope 2, market-based", units.format_mass(report["scope2_market_tco2e"] * 1e3))
    cols[3].metric("Measured by hardware", f"{report['measured_share']:.0%}")
    downloads = st.columns(max(1, len(built.files)))
    for col, (name, content) in zip(downloads, sorted(built.files.items()), strict=False):
        col.download_button(name, content, name, reporting.mime(name), key=f"dl_{name}")
    for fmt, problem in built.problems.items():
        st.warning(f"{fmt}: {problem}")
    preview = reporting.preview_url(built.html)
    if preview:
        st.subheader("Preview")
        st.iframe(preview, height=900)
