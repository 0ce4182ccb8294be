"""Pages of the dashboard: scripts that Streamlit runs (``st.navigation`` in app.py).

They only compose the modules of the ``dashboard`` package; nothing here is imported.
"""
