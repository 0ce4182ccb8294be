"""Windows: named sub-intervals of a run with their own energy and tokens."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from greenai.figures.definitions import j_per_token_or_none
from greenai.figures.flags import WINDOW_BELOW_RESOLUTION
from greenai.tracking.accounting import Charge, below_resolution, charges_of, energy_by_kind
from greenai.tracking.spans import Span

if TYPE_CHECKING:
    from greenai.tracking.run import Run


class Window:
    """A named interval of a run (``with run.window("decode"):``).

    Attributes:
        id: Window id.
        name: Its name.
        steady_state: Whether the caller marked it steady state (ramp-up and drain kept
            outside it): comparisons then take its energy per token as the workload's.
        parent: The enclosing window of the same run, if nested.
        tokens_input, tokens_output, samples: Work done inside it.
        flags: Data-quality flags.
    """

    def __init__(
        self, run: Run, name: str, parent: Window | None, steady_state: bool = False
    ) -> None:
        self.id = uuid.uuid4().hex
        self.name = name
        self.steady_state = steady_state
        self.run = run
        self.parent = parent
        self.span: Span = Span(name=name, parent=parent.span if parent else run.root_span)
        self.tokens_input = 0
        self.tokens_output = 0
        self.samples = 0
        self.flags: list[str] = []
        self.closed = False

    def __enter__(self) -> Window:
        self.run.open_window(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.run.close_window(self)

    def charges(self) -> list[Charge]:
        """The window's charged energy per device (its run's shares, segment by segment)."""
        return charges_of(self.span, self.run.hub.lock if self.run.hub is not None else None)

    def energy_j(self, charges: list[Charge] | None = None) -> float | None:
        """IT energy of the window, J, or None when below the counters' resolution
        (``charges``: :meth:`charges`, where the caller has them already)."""
        charges = self.charges() if charges is None else charges
        duration_s = self.span.duration_s(self.run.now_s())
        if below_resolution(charges, duration_s, self.span.lost_devices):
            if WINDOW_BELOW_RESOLUTION not in self.flags:
                self.flags.append(WINDOW_BELOW_RESOLUTION)
            return None
        return sum(c.energy_j for c in charges)

    def to_dict(self) -> dict[str, Any]:
        """The window as the ledger stores it (field names with units)."""
        charges = self.charges()
        energy_j = self.energy_j(charges)
        return {
            "id": self.id,
            "parent_window_id": self.parent.id if self.parent else None,
            "name": self.name,
            "steady_state": self.steady_state,
            "started_at": self.span.started_at,
            "ended_at": self.span.ended_at,
            "duration_s": self.span.duration_s(self.run.now_s()),
            "energy_j": energy_j,
            "energy_by_kind": energy_by_kind(charges) if energy_j is not None else {},
            "tokens_input": self.tokens_input,
            "tokens_output": self.tokens_output,
            "samples": self.samples,
            "j_per_output_token": j_per_token_or_none(energy_j, self.tokens_output),
            "flags": [*self.flags, *(f for f in self.span.flags if f not in self.flags)],
        }
