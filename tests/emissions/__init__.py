"""Tests of greenai.emissions: CodeCarbon contract, resolution, cache, location checks."""

from __future__ import annotations

from pathlib import Path

import pytest


def use_shared_cache(monkeypatch: pytest.MonkeyPatch, factory: pytest.TempPathFactory) -> Path:
    """Points GREENAI_CACHE_DIR at one folder per test session (the table is built once)."""
    folder = factory.getbasetemp() / "greenai-factor-cache"
    monkeypatch.setenv("GREENAI_CACHE_DIR", str(folder))
    return folder
