"""Fixtures of the tracking tests."""

from __future__ import annotations

from tests.tracking.manual import manual_hub

__all__ = ["manual_hub"]
