"""Windows: named sub-intervals of a run with their own energy and tokens."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from greenai.tracking.accounting import Charge, energy_by_kind
from greenai.tracking.hub import Span

if TYPE_CHECKING:
    from greenai.tracking.run import Run

# A window this short can read zero on an energy counter that advances in steps of its
# sensor's update period (NVML, RAPL): such a window is flagged, not reported as zero.
COUNTER_RESOLUTION_S = 1.0
FLAG_BELOW_RESOLUTION = "window_below_counter_resolution"


def _stepwise(charge: Charge) -> bool:
    """Whether a device's energy advances in steps: hardware counters, and the CPU model
    driven by CPU-time counters (which tick every 10 ms)."""
    return charge.method == "counter" or (charge.method == "model" and charge.kind == "cpu")


class Window:
    """A named interval of a run (``with run.window("decode"):``).

    Attributes:
        id: Window id.
        name: Its name.
        parent: The enclosing window of the same run, if nested.
        tokens_input, tokens_output, samples: Work done inside it.
        flags: Data-quality flags.
    """

    def __init__(self, run: Run, name: str, parent: Window | None) -> None:
        self.id = uuid.uuid4().hex
        self.name = name
        self.run = run
        self.parent = parent
        self.span = Span(root=run.root_span)
        self.tokens_input = 0
        self.tokens_output = 0
        self.samples = 0
        self.flags: list[str] = []
        self.closed = False

    def __enter__(self) -> Window:
        self.run._open_window(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.run._close_window(self)

    def charges(self) -> list[Charge]:
        """The window's charged energy per device (the run's attribution applied)."""
        return self.span.energy.charges(self.run._shares(self.span))

    def energy_j(self) -> float | None:
        """IT energy of the window, J, or None when below the counters' resolution."""
        charges = self.charges()
        duration_s = self.span.duration_s(self.run._now())
        stepwise = [c for c in charges if _stepwise(c) and c.share > 0]
        counter_zero = any(c.method == "counter" and c.energy_j == 0.0 for c in stepwise)
        all_zero = bool(stepwise) and all(c.energy_j == 0.0 for c in stepwise)
        if duration_s < COUNTER_RESOLUTION_S and (counter_zero or all_zero):
            if FLAG_BELOW_RESOLUTION not in self.flags:
                self.flags.append(FLAG_BELOW_RESOLUTION)
            return None
        return sum(c.energy_j for c in charges)

    def to_dict(self) -> dict[str, Any]:
        """The window as the ledger stores it (field names with units)."""
        energy_j = self.energy_j()
        tokens = self.tokens_output or 0
        return {
            "id": self.id,
            "parent_window_id": self.parent.id if self.parent else None,
            "name": self.name,
            "started_at": self.span.started_at,
            "ended_at": self.span.ended_at,
            "duration_s": self.span.duration_s(self.run._now()),
            "energy_j": energy_j,
            "energy_by_kind": energy_by_kind(self.charges()) if energy_j is not None else {},
            "tokens_input": self.tokens_input,
            "tokens_output": self.tokens_output,
            "samples": self.samples,
            "j_per_output_token": (energy_j / tokens) if energy_j is not None and tokens else None,
            "flags": list(self.flags),
        }
