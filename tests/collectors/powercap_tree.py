"""Builds fake Linux powercap (RAPL) trees in a temporary folder.

Three layouts, as the collector meets them:

- ``sysfs``: like the real ``/sys/class/powercap``: zone folders live under
  ``<base>/devices/virtual/powercap/<provider>/<zone>[/<sub-zone>]`` and ``root`` holds a
  symbolic link per provider and per zone, sub-zones included.
- ``flat``: real folders ``<root>/intel-rapl:N`` with sub-zones inside them.
- ``nested``: ``<root>/intel-rapl/intel-rapl:N`` (the provider's own folder).

Counters follow the kernel's arithmetic: ``advance`` adds micro-joules modulo
``max_energy_range_uj``, so a test knows the exact energy that went by.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_RANGE_UJ = 262_143_328_850  # a common max_energy_range_uj on Intel servers


@dataclass
class FakeZone:
    """One zone of the fake tree."""

    zone_id: str
    name: str
    path: Path
    max_energy_range_uj: int
    energy_uj: int


class PowercapTree:
    """A fake powercap tree under ``base``; ``root`` is what the collector is given."""

    def __init__(self, base: Path, layout: str = "sysfs") -> None:
        if layout not in ("sysfs", "flat", "nested"):
            raise ValueError(f"layout must be sysfs, flat or nested, not {layout!r}")
        self.base = base
        self.layout = layout
        self.root = base / "class" / "powercap" if layout == "sysfs" else base / "powercap"
        self.root.mkdir(parents=True, exist_ok=True)
        self.zones: dict[str, FakeZone] = {}

    def _folder(self, zone_id: str) -> Path:
        provider, _, number = zone_id.partition(":")
        parts = number.split(":")
        chain = [f"{provider}:{':'.join(parts[: i + 1])}" for i in range(len(parts))]
        if self.layout == "flat":
            return self.root.joinpath(*chain)
        if self.layout == "nested":
            return self.root.joinpath(provider, *chain)
        return self.base.joinpath("devices", "virtual", "powercap", provider, *chain)

    def add_zone(
        self,
        zone_id: str,
        name: str,
        energy_uj: int = 0,
        max_energy_range_uj: int = DEFAULT_RANGE_UJ,
    ) -> FakeZone:
        """Add zone ``zone_id`` (``intel-rapl:0``, ``intel-rapl:0:1``, ``intel-rapl-mmio:0``).

        A sub-zone's parent must have been added first.
        """
        folder = self._folder(zone_id)
        folder.mkdir(parents=True, exist_ok=False)
        (folder / "name").write_text(name + "\n")
        (folder / "max_energy_range_uj").write_text(f"{max_energy_range_uj}\n")
        (folder / "enabled").write_text("1\n")
        zone = FakeZone(zone_id, name, folder, max_energy_range_uj, energy_uj)
        self.zones[zone_id] = zone
        self._write(zone)
        if self.layout == "sysfs":
            provider = zone_id.partition(":")[0]
            provider_link = self.root / provider
            if not provider_link.is_symlink():
                provider_link.symlink_to(self.base / "devices" / "virtual" / "powercap" / provider)
            (self.root / zone_id).symlink_to(folder)
        return zone

    def _write(self, zone: FakeZone) -> None:
        (zone.path / "energy_uj").write_text(f"{zone.energy_uj}\n")

    def set_energy(self, zone_id: str, energy_uj: int) -> None:
        """Set the raw counter of a zone, µJ."""
        zone = self.zones[zone_id]
        zone.energy_uj = energy_uj
        self._write(zone)

    def advance(self, zone_id: str, delta_uj: int) -> None:
        """Let ``delta_uj`` µJ go by on a zone, wrapping at its range like the hardware."""
        zone = self.zones[zone_id]
        if not 0 <= delta_uj < zone.max_energy_range_uj:
            raise ValueError("one step must be shorter than the counter's range")
        self.set_energy(zone_id, (zone.energy_uj + delta_uj) % zone.max_energy_range_uj)


def server_tree(base: Path, packages: int = 1, layout: str = "sysfs") -> PowercapTree:
    """A server's tree: per package ``intel-rapl:N`` (package-N) with core and dram sub-zones."""
    tree = PowercapTree(base, layout)
    for n in range(packages):
        tree.add_zone(f"intel-rapl:{n}", f"package-{n}", energy_uj=1_000_000 * (n + 1))
        tree.add_zone(f"intel-rapl:{n}:0", "core", energy_uj=500_000)
        tree.add_zone(f"intel-rapl:{n}:1", "dram", energy_uj=200_000 * (n + 1))
    return tree
