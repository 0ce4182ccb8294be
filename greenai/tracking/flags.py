"""Moved: the flags are registered in :mod:`greenai.figures.flags`, with their meaning,
severity and data-quality group. This module re-exports the names it used to define,
so that older imports keep working; new code imports :mod:`greenai.figures.flags`."""

from __future__ import annotations

from greenai.figures.flags import (
    BELOW_RESOLUTION,
    INTERRUPTED,
    INVALID_COUNT,
    INVALID_EVENT,
    INVALID_METRIC,
    LAST_SNAPSHOT,
    LATE_UPDATE,
    MIG,
    NO_COLLECTOR,
    OUT_OF_RANGE,
    OVERLAP,
    SAMPLING_GAPS,
    SIGNAL_RECEIVED,
    TEXT_CLEANED,
    TOKENS_CALLBACK,
    UNKNOWN_LOCATION,
    attribution,
    bridged,
    collector_errors,
    counter_reset,
    estimated,
    lost_device,
    monitoring_error,
)

__all__ = [
    "BELOW_RESOLUTION", "INTERRUPTED", "INVALID_COUNT", "INVALID_EVENT", "INVALID_METRIC",
    "LAST_SNAPSHOT", "LATE_UPDATE", "MIG", "NO_COLLECTOR", "OUT_OF_RANGE", "OVERLAP",
    "SAMPLING_GAPS", "SIGNAL_RECEIVED", "TEXT_CLEANED", "TOKENS_CALLBACK", "UNKNOWN_LOCATION",
    "attribution", "bridged", "collector_errors", "counter_reset", "estimated", "lost_device",
    "monitoring_error",
]  # fmt: skip
