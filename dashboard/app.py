"""greenai's dashboard: ``streamlit run dashboard/app.py`` (or ``greenai dashboard``).

The ledger comes from ``GREENAI_DB_URL`` (else the configured or default ledger). This
entry script checks access, opens the ledger read-only, draws the sidebar filters shared
by every page, and hands over to the selected page in ``dashboard/views/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import dashboard  # noqa: F401 - installed, or on PYTHONPATH (greenai dashboard sets it)
except ModuleNotFoundError:  # `streamlit run dashboard/app.py` from a source checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import streamlit as st

from dashboard import auth, data, widgets
from greenai.errors import GreenAIError
from greenai.ledger.journal import unshipped_note

VIEWS = Path(__file__).resolve().parent / "views"

st.set_page_config(page_title="greenai", page_icon=":seedling:", layout="wide")
auth.require_access()

url = data.ledger_url()
try:
    has_runs = data.has_runs(url)
    options = data.options(url)
except GreenAIError as exc:
    st.error(f"The ledger cannot be read: {exc}")
    st.stop()

if has_runs:
    widgets.sidebar_filters(options)
    pages = [
        st.Page(VIEWS / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page(VIEWS / "compare.py", title="Compare", icon=":material/compare_arrows:"),
        st.Page(VIEWS / "run_detail.py", title="Run detail", icon=":material/timeline:"),
        st.Page(VIEWS / "data_quality.py", title="Data quality", icon=":material/verified:"),
        st.Page(VIEWS / "reports.py", title="Reports", icon=":material/description:"),
    ]
else:
    pages = [st.Page(widgets.empty_state, title="Welcome", icon=":material/eco:", default=True)]
st.navigation(pages).run()
st.sidebar.text(f"Ledger: {data.display_url(url)}")
unshipped = unshipped_note(url)
if unshipped is not None:
    st.sidebar.warning(unshipped)
