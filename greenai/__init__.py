"""greenai: energy and carbon footprint of AI work, per run, per device, per token.

Wrap a job in one line::

    import greenai

    @greenai.track(project="chat", model="llama-8b", technique="int8", phase="inference")
    def serve(batch): ...

    with greenai.track(model="gpt-small") as run:
        run.add_tokens(output=512)

Importing greenai is light: the tracking machinery, SQLAlchemy, pynvml and CodeCarbon
load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from greenai.errors import ConfigError, GreenAIError, HardwareUnavailable, StorageError

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "GreenAIError",
    "HardwareUnavailable",
    "Run",
    "StorageError",
    "__version__",
    "current_run",
    "report",
    "start",
    "track",
]

if TYPE_CHECKING:
    from greenai.reports.api import report
    from greenai.tracking.api import current_run, start, track
    from greenai.tracking.run import Run

_LAZY = {
    "track": "greenai.tracking.api",
    "start": "greenai.tracking.api",
    "current_run": "greenai.tracking.api",
    "Run": "greenai.tracking.run",
    "report": "greenai.reports.api",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'greenai' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
