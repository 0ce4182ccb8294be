"""Runs: tracking API, accounting, attribution and persistence of tracked work."""
