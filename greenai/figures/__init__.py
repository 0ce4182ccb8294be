"""The figures layer every surface reads: units and formatting, flags, and the named
definitions of derived figures (energy per token, measured share, ...).

Import-light: no pandas or SQLAlchemy at import, so the tracker can use its constants.
"""
