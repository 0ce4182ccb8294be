"""CPU package and DRAM energy from Linux RAPL counters (the powercap interface).

Layout read (``root`` is ``/sys/class/powercap`` unless ``GREENAI_POWERCAP_ROOT`` or the
``root`` argument says otherwise)::

    <root>/intel-rapl:N/{name,energy_uj,max_energy_range_uj}    top-level zones
    <root>/intel-rapl:N/intel-rapl:N:M/...                      sub-zones (core, uncore, dram)
    <root>/intel-rapl/intel-rapl:N/...                          the same, nested under the provider
    <root>/intel-rapl-mmio:N/...                                the MMIO provider

In the real ``/sys/class/powercap`` every zone, sub-zones included, is also a symbolic
link at the top; zones are identified by their id (``intel-rapl:0:1``), so each is read
once whichever way it was found. AMD CPUs appear under the same names on recent kernels.

Which zones become devices (no joule is counted twice):

- ``package-*`` top-level zones -> ``cpu:<name>`` (Kind.CPU). ``core`` and ``uncore``
  sub-zones are parts of the package and are not reported.
- ``dram`` zones -> ``dram:<package name>`` (Kind.DRAM); DRAM is not inside the package.
- ``intel-rapl-mmio`` mirrors the package counters of ``intel-rapl``: an MMIO zone is used
  only for a package name that ``intel-rapl`` lacks.
- ``psys`` holds the whole platform, package included. It is reported (``psys:<name>``,
  Kind.PSYS) only when no package zone exists; whenever a package is reported, psys is
  left out (and a note on the package device says so). So psys and a package are never
  added together.

Counters are cumulative micro-joules that wrap at ``max_energy_range_uj``: the delta
between two reads is ``new - old``, plus ``max_energy_range_uj`` when ``new < old``. A
counter must therefore be read at least once per wrap period (about 15 minutes for a
262 kJ range at 300 W); the 1 Hz sampler does. A counter can also restart (a package
reset, a virtual machine moved to another host): a backwards step whose wraparound
would mean more than :data:`MAX_ZONE_POWER_W` since the previous read is a restart, as
NVML's driver reload is (:func:`counter_step_uj`), counted in ``status``. Since Linux
5.10 ``energy_uj`` is readable by root only: ``open`` then raises :class:`Unavailable`
with what to do.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from collectors.base import Collector
from collectors.cpu_tdp import read_cpuinfo
from collectors.errors import Unavailable
from collectors.types import Availability, Device, DeviceStatus, Kind, Method, Reading

ENV_ROOT = "GREENAI_POWERCAP_ROOT"
DEFAULT_ROOT = Path("/sys/class/powercap")
PROVIDERS = ("intel-rapl", "intel-rapl-mmio")
_ZONE_ID = re.compile(r"^(intel-rapl(?:-mmio)?):(\d+(?::\d+)*)$")
_UJ_PER_J = 1_000_000
MAX_ZONE_POWER_W = 5000.0
"""Above this power since the previous read, a backwards step is no wraparound, W."""

ReadText = Callable[[Path], str]


def read_small_file(path: Path) -> str:
    """Read a small sysfs file with one open/read/close, holding no handle afterwards."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 4096).decode("ascii", errors="replace")
    finally:
        os.close(fd)


def wrap_delta_uj(old_uj: int, new_uj: int, max_range_uj: int) -> int:
    """Energy between two counter values, µJ, allowing for one wraparound.

    Args:
        old_uj: The earlier counter value, µJ.
        new_uj: The later counter value, µJ.
        max_range_uj: The counter's range (``max_energy_range_uj``), µJ.
    """
    delta = new_uj - old_uj
    if new_uj < old_uj:
        delta += max_range_uj
    return max(delta, 0)


def counter_step_uj(
    old_uj: int,
    new_uj: int,
    max_range_uj: int,
    elapsed_s: float,
    max_power_w: float = MAX_ZONE_POWER_W,
) -> tuple[int, bool]:
    """Energy between two counter values, µJ, and whether the counter restarted.

    A value below the previous one is a wraparound (:func:`wrap_delta_uj`) when the
    energy that means fits in ``max_power_w`` over ``elapsed_s``. Otherwise the counter
    restarted: its new value, the energy since the restart, is counted when it fits
    (else nothing: a jump). With no time elapsed (a clock that did not move) there is
    nothing to judge by, and a backwards step is a wraparound.

    Args:
        old_uj: The earlier counter value, µJ.
        new_uj: The later counter value, µJ.
        max_range_uj: The counter's range (``max_energy_range_uj``), µJ.
        elapsed_s: Seconds between the two reads.
        max_power_w: The most power the zone can draw, W.
    """
    if new_uj >= old_uj:
        return new_uj - old_uj, False
    wrapped_uj = wrap_delta_uj(old_uj, new_uj, max_range_uj)
    budget_uj = elapsed_s * max_power_w * _UJ_PER_J
    if elapsed_s <= 0 or wrapped_uj <= budget_uj:
        return wrapped_uj, False
    return (new_uj if new_uj <= budget_uj else 0), True


@dataclass(frozen=True, slots=True)
class RaplZone:
    """One powercap zone.

    Attributes:
        zone_id: Its id, such as ``intel-rapl:0:1``.
        path: Its folder.
        name: Its ``name`` file (``package-0``, ``dram``, ``psys``, ``core``...).
        provider: ``intel-rapl`` or ``intel-rapl-mmio``.
        parent_id: The enclosing zone's id for a sub-zone, else None.
    """

    zone_id: str
    path: Path
    name: str
    provider: str
    parent_id: str | None

    @property
    def energy_path(self) -> Path:
        """The zone's ``energy_uj`` file."""
        return self.path / "energy_uj"


def _zone_dirs(folder: Path, depth: int = 0) -> dict[str, Path]:
    """Zone ids -> folders found in ``folder`` and below (sub-zones, provider folders)."""
    found: dict[str, Path] = {}
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return found
    for entry in entries:
        match = _ZONE_ID.match(entry.name)
        if match is None and entry.name not in PROVIDERS:
            continue
        if not entry.is_dir() or depth > 3:
            continue
        if match is not None:
            found.setdefault(entry.name, entry)
        for zone_id, path in _zone_dirs(entry, depth + 1).items():
            found.setdefault(zone_id, path)
    return found


def discover_zones(root: Path, read_text: ReadText = read_small_file) -> list[RaplZone]:
    """Every powercap zone under ``root`` whose ``name`` can be read, sorted by id."""
    zones = []
    for zone_id, path in _zone_dirs(root).items():
        provider, _, number = zone_id.partition(":")
        parts = number.split(":")
        parent = f"{provider}:{':'.join(parts[:-1])}" if len(parts) > 1 else None
        try:
            name = read_text(path / "name").strip()
        except OSError:
            continue
        zones.append(RaplZone(zone_id, path, name, provider, parent))
    return sorted(zones, key=lambda z: [z.provider, *(int(p) for p in z.zone_id.split(":")[1:])])


def select_zones(zones: Sequence[RaplZone]) -> list[tuple[RaplZone, str, Kind]]:
    """The zones to report, as (zone, device id, kind), following the module's rules.

    ``zones`` come sorted with ``intel-rapl`` before ``intel-rapl-mmio``, and the first
    zone of a device id wins: an MMIO mirror of a package is skipped, an MMIO package
    that ``intel-rapl`` lacks is kept.
    """
    by_id = {z.zone_id: z for z in zones}
    chosen: dict[str, tuple[RaplZone, str, Kind]] = {}
    for zone in zones:
        if zone.parent_id is None and zone.name.startswith("package"):
            device_id, kind = f"cpu:{zone.name}", Kind.CPU
        elif zone.name == "dram":
            parent = by_id.get(zone.parent_id) if zone.parent_id else None
            owner = parent.name if parent is not None else zone.zone_id.replace(":", "-")
            device_id, kind = f"dram:{owner}", Kind.DRAM
        else:
            continue
        chosen.setdefault(device_id, (zone, device_id, kind))
    if not any(kind is Kind.CPU for _, _, kind in chosen.values()):
        # psys already holds the package: report it only where no package exists.
        for zone in zones:
            if zone.parent_id is None and zone.name == "psys":
                chosen.setdefault("psys:psys", (zone, "psys:psys", Kind.PSYS))
    return list(chosen.values())


def _permission_hint(path: Path, root: Path) -> str:
    return (
        f"cannot read {path}: RAPL energy counters are readable by root only since Linux 5.10. "
        f"Grant read access with `sudo chmod -R a+r {root}/intel-rapl*` (lasts until reboot; "
        "a udev rule or a systemd-tmpfiles 'z' entry makes it permanent), or run as root"
    )


@dataclass(slots=True)
class _Counter:
    """One zone's counter state: last raw value and the energy accumulated since open."""

    zone: RaplZone
    device: Device
    max_range_uj: int
    last_uj: int
    total_uj: int = 0
    last_time_s: float | None = None
    last_energy_j: float | None = None
    lost: bool = False
    last_read_s: float | None = None  # when last_uj was read
    resets: int = 0


class RaplCollector(Collector):
    """Reads RAPL package, DRAM (or psys) energy counters. Method: counter."""

    name = "rapl"
    machine_wide = True

    def __init__(
        self, counters: list[_Counter], *, clock: Callable[[], float], read_text: ReadText
    ) -> None:
        """Use :meth:`open`; this takes counters already primed with their first value."""
        self._counters = counters
        self._clock = clock
        self._read_text = read_text

    @classmethod
    def open(
        cls,
        *,
        root: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] = os.environ,
        proc_root: Path = Path("/proc"),
        read_text: ReadText = read_small_file,
    ) -> RaplCollector:
        """Find the RAPL zones and take each counter's first value.

        Args:
            root: The powercap folder (default ``GREENAI_POWERCAP_ROOT``, else
                ``/sys/class/powercap``).
            clock: Monotonic clock for reading timestamps, s.
            environ: Environment holding ``GREENAI_POWERCAP_ROOT``.
            proc_root: Where ``cpuinfo`` is, for the devices' vendor and model name.
            read_text: Reads one sysfs file (tests inject errors the kernel would raise).

        Raises:
            Unavailable: No RAPL here, or its counters cannot be read (with what to do).
        """
        base = root if root is not None else Path(environ.get(ENV_ROOT) or DEFAULT_ROOT)
        if not base.is_dir():
            raise Unavailable(
                "rapl",
                f"no RAPL here: {base} does not exist (no powercap interface on this machine)",
            )
        zones = discover_zones(base, read_text)
        selected = select_zones(zones)
        if not selected:
            raise Unavailable("rapl", f"no RAPL package, DRAM or psys zone under {base}")
        info = read_cpuinfo(proc_root)
        vendor, model = info.vendor, info.model_name or "unknown"
        has_psys = any(z.name == "psys" for z in zones)
        counters = [
            cls._prime(zone, device_id, kind, vendor, model, has_psys, base, read_text)
            for zone, device_id, kind in selected
        ]
        primed_s = clock()
        for counter in counters:
            counter.last_read_s = primed_s
        return cls(counters, clock=clock, read_text=read_text)

    @staticmethod
    def _prime(
        zone: RaplZone,
        device_id: str,
        kind: Kind,
        vendor: str,
        model: str,
        has_psys: bool,
        base: Path,
        read_text: ReadText,
    ) -> _Counter:
        """Read a zone's range and first counter value, translating errors for the user."""
        try:
            max_range_uj = int(read_text(zone.path / "max_energy_range_uj"))
            first_uj = int(read_text(zone.energy_path))
        except PermissionError as exc:
            raise Unavailable("rapl", _permission_hint(zone.energy_path, base)) from exc
        except (OSError, ValueError) as exc:
            raise Unavailable("rapl", f"cannot read RAPL zone {zone.path}: {exc}") from exc
        notes = [f"RAPL zone {zone.zone_id} ({zone.provider})"]
        if kind is Kind.CPU and has_psys:
            notes.append("psys zone not reported: it already holds this package")
        name = {Kind.CPU: model, Kind.DRAM: "DRAM", Kind.PSYS: "platform (psys)"}[kind]
        device = Device(device_id, kind, vendor, name, Method.COUNTER, notes=tuple(notes))
        return _Counter(zone, device, max_range_uj, first_uj)

    def devices(self) -> Sequence[Device]:
        """The package, DRAM (or psys) devices read."""
        return [c.device for c in self._counters]

    def read(self) -> list[Reading]:
        """Read every counter once; a zone that fails to read is left out and flagged lost."""
        now_s = self._clock()
        readings = []
        for counter in self._counters:
            try:
                raw_uj = int(self._read_text(counter.zone.energy_path))
            except (OSError, ValueError):
                counter.lost = True
                continue
            counter.lost = False
            elapsed_s = now_s - counter.last_read_s if counter.last_read_s is not None else 0.0
            step_uj, restarted = counter_step_uj(
                counter.last_uj, raw_uj, counter.max_range_uj, elapsed_s
            )
            counter.total_uj += step_uj
            counter.resets += restarted
            counter.last_uj, counter.last_read_s = raw_uj, now_s
            readings.append(self._reading(counter, now_s))
        return readings

    @staticmethod
    def _reading(counter: _Counter, now_s: float) -> Reading:
        energy_j = counter.total_uj / _UJ_PER_J
        power_w = None
        if counter.last_time_s is not None and counter.last_energy_j is not None:
            dt_s = now_s - counter.last_time_s
            power_w = (energy_j - counter.last_energy_j) / dt_s if dt_s > 0 else None
        counter.last_time_s, counter.last_energy_j = now_s, energy_j
        dev = counter.device
        return Reading(dev.device_id, dev.kind, now_s, power_w, energy_j, Method.COUNTER)

    def status(self) -> list[DeviceStatus]:
        """Which zones failed at their last read (``lost``), and how often each counter
        restarted."""
        return [
            DeviceStatus(c.device.device_id, lost=c.lost, counter_resets=c.resets)
            for c in self._counters
        ]


def probe(
    *,
    root: Path | None = None,
    environ: Mapping[str, str] = os.environ,
    proc_root: Path = Path("/proc"),
) -> Availability:
    """Whether RAPL can be read here, for ``greenai detect``."""
    try:
        collector = RaplCollector.open(root=root, environ=environ, proc_root=proc_root)
    except Unavailable as exc:
        return Availability("rapl", False, exc.reason)
    devices = tuple(collector.devices())
    collector.close()
    return Availability("rapl", True, None, devices)
