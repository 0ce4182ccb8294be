"""The ``greenai`` command line."""
