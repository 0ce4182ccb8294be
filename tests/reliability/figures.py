"""What the reliability suite measured, for the README's Reliability section.

``make reliability`` runs the suite at full size with ``RELIABILITY_RESULTS`` naming a
JSON-lines file; each case appends what it tried and what was lost. Outside it (plain
``make test``) nothing is written and the suite runs its smaller sizes.

The variables are read at import, before the test-wide fixture clears ``GREENAI_*``
settings, and are deliberately outside that prefix.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

RESULTS_ENV = "RELIABILITY_RESULTS"
SIZE_ENV = "RELIABILITY_SIZE"

_RESULTS = os.environ.get(RESULTS_ENV)
FULL = os.environ.get(SIZE_ENV) == "full"


def sized(ci: int, full: int) -> int:
    """``full`` under ``make reliability``, ``ci`` in ``make test``."""
    return full if FULL else ci


def record(section: str, case: str, **values: Any) -> None:
    """Append one measured figure: ``section`` is ``fault``, ``load``, ``day`` or
    ``fuzz``; ``values`` are JSON numbers, strings or booleans (``lost`` counts runs
    or records lost, and must be present for ``fault`` and ``load``)."""
    if _RESULTS is None:
        return
    line = json.dumps({"section": section, "case": case, **values}, sort_keys=True)
    with Path(_RESULTS).open("a", encoding="utf-8") as out:
        out.write(line + "\n")


class FuzzCount:
    """Counts the examples a hypothesis test tried; recorded once the test ends."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.examples = 0

    def tried(self) -> None:
        self.examples += 1

    def close(self) -> None:
        record("fuzz", self.target, examples=self.examples)
