"""A span's energy as charges per device, and totals by kind.

Pure functions over spans; no hardware and no I/O here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from greenai.tracking.spans import CPU_TIME, EXCLUSIVE, Span

MIXED = "mixed"


@dataclass(slots=True)
class Charge:
    """Energy charged to a span for one device, with its two labels.

    Attributes:
        device_id: The device.
        kind: Its kind.
        method: How the device's energy was obtained: counter, power or model.
        energy_j: Charged energy, J.
        share: Fraction of the device's energy over the span charged to it, 0..1.
        rule: How that share was decided (exclusive, process_list, cpu_time,
            equal_split, mig_slices, ...; see :mod:`greenai.tracking.spans`).
    """

    device_id: str
    kind: str
    method: str
    energy_j: float
    share: float
    rule: str = EXCLUSIVE


def charges_of(span: Span, lock: AbstractContextManager[Any] | None = None) -> list[Charge]:
    """The span's energy per device (``lock``: the one its tree is charged under)."""
    with lock or nullcontext():
        accounts = list(span.accounts.values())
        return [
            Charge(a.device_id, a.kind, a.method, a.energy_j, a.share, a.rule) for a in accounts
        ]


def merge_methods(methods: Iterable[str]) -> str:
    """One method for several devices: theirs if they agree, else ``mixed``."""
    found = set(methods)
    if len(found) == 1:
        return found.pop()
    return MIXED if found else "none"


def energy_by_kind(charges: Iterable[Charge]) -> dict[str, dict[str, float | str]]:
    """Total charged energy per device kind, with the method of each total.

    Returns:
        ``{"gpu": {"energy_j": 12.5, "method": "counter"}, "cpu": {...}}``
    """
    totals: dict[str, float] = {}
    methods: dict[str, list[str]] = {}
    for charge in charges:
        if charge.share <= 0.0:
            continue
        totals[charge.kind] = totals.get(charge.kind, 0.0) + charge.energy_j
        methods.setdefault(charge.kind, []).append(charge.method)
    return {
        kind: {"energy_j": totals[kind], "method": merge_methods(methods[kind])}
        for kind in sorted(totals)
    }


def is_measured(charge: Charge) -> bool:
    """Whether a charge is measured: the device's energy came from hardware (counter or
    power sensor) and the share was not estimated from CPU time (a CPU-time share of a
    machine-wide counter is a model of who used it, idle included)."""
    return charge.method in ("counter", "power") and CPU_TIME not in charge.rule


def measured_energy_j(charges: Iterable[Charge]) -> float:
    """Energy measured by hardware rather than estimated, J (see :func:`is_measured`)."""
    return sum(c.energy_j for c in charges if is_measured(c))


COUNTER_RESOLUTION_S = 1.0
"""Below this duration a stepwise counter can read zero or a whole step."""


def _stepwise(charge: Charge) -> bool:
    """Whether a device's energy advances in steps: hardware counters, and the CPU model
    driven by CPU-time counters (which tick every 10 ms)."""
    return charge.method == "counter" or (charge.method == "model" and charge.kind == "cpu")


def below_resolution(
    charges: Iterable[Charge], duration_s: float, lost: Collection[str] = ()
) -> bool:
    """Whether a span is too short for its counters: under :data:`COUNTER_RESOLUTION_S`
    with a charged counter that read zero (or every stepwise device at zero). Energy
    counters (NVML, RAPL) advance in steps of their sensor's update period. A device
    ``lost`` meanwhile reads zero because it is gone, not for its resolution: it does
    not count."""
    if duration_s >= COUNTER_RESOLUTION_S:
        return False
    stepwise = [c for c in charges if _stepwise(c) and c.share > 0 and c.device_id not in lost]
    counter_zero = any(c.method == "counter" and c.energy_j == 0.0 for c in stepwise)
    return counter_zero or (bool(stepwise) and all(c.energy_j == 0.0 for c in stepwise))
