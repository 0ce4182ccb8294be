"""Energy accounting between snapshots: deltas, charges, totals by kind.

Pure functions over collectors' snapshots; no hardware and no I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from collectors.sampler import Snapshot

MIXED = "mixed"


@dataclass(slots=True)
class DeviceEnergyAccount:
    """Energy of one device accumulated by a span (a run, child run or window).

    Attributes:
        device_id: The device.
        kind: gpu, cpu, dram or psys.
        method: counter, power or model.
        raw_j: Energy of the device over the span, J, before attribution shares.
    """

    device_id: str
    kind: str
    method: str
    raw_j: float = 0.0


@dataclass(slots=True)
class Charge:
    """Energy charged to a span for one device.

    Attributes:
        device_id: The device.
        kind: Its kind.
        method: How its energy was obtained.
        energy_j: Charged energy, J (raw x share).
        share: Fraction of the device's energy charged, 0..1.
    """

    device_id: str
    kind: str
    method: str
    energy_j: float
    share: float


@dataclass(slots=True)
class SpanEnergy:
    """Per-device energy accumulated over a span, segment by segment."""

    devices: dict[str, DeviceEnergyAccount] = field(default_factory=dict)

    def add_delta(self, before: Snapshot, after: Snapshot, fraction: float) -> None:
        """Add ``fraction`` of every device's energy between two snapshots.

        A device missing from either snapshot (lost, or not yet read) adds nothing;
        a counter that went backwards adds nothing rather than negative energy.
        """
        for device_id, end in after.devices.items():
            begin = before.devices.get(device_id)
            if begin is None:
                continue
            delta_j = max(end.energy_j - begin.energy_j, 0.0) * fraction
            account = self.devices.get(device_id)
            if account is None:
                account = DeviceEnergyAccount(device_id, end.kind.value, end.method.value)
                self.devices[device_id] = account
            account.raw_j += delta_j

    def charges(self, shares: Mapping[str, float]) -> list[Charge]:
        """Apply attribution shares (device id -> 0..1; missing means 1.0)."""
        out = []
        for account in self.devices.values():
            share = min(max(shares.get(account.device_id, 1.0), 0.0), 1.0)
            out.append(
                Charge(
                    account.device_id, account.kind, account.method, account.raw_j * share, share
                )
            )
        return out


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


def measured_energy_j(charges: Iterable[Charge]) -> float:
    """Energy measured by hardware (counter or power sensor) rather than a model, J."""
    return sum(c.energy_j for c in charges if c.method in ("counter", "power"))
