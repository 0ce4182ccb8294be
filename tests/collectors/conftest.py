"""Fixtures for the collector tests: the fake NVML library (from tests/conftest.py)."""
