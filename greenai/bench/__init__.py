"""The energy-per-token benchmark harness (``greenai bench``) and its plug-in API.

Importing this package is light (no torch): the harness loads torch when it runs.
User workloads are plain functions decorated with :func:`workload`; see ``plugins``.
"""

from __future__ import annotations

from greenai.bench.config import PRESETS, TECHNIQUES, BenchConfig, ModelPreset
from greenai.bench.context import WorkloadContext, workload

__all__ = [
    "PRESETS",
    "TECHNIQUES",
    "BenchConfig",
    "ModelPreset",
    "WorkloadContext",
    "workload",
]
