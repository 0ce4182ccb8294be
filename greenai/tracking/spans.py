"""The span tree and its energy: each segment's joules charged once, to the right spans.

Runs, child runs, windows and rank parts are spans with a parent. Energy is decided
segment by segment, between consecutive snapshots of the devices' cumulative energy:

- the roots active over a segment (the topmost active ancestor of each active span)
  share each device's energy of the segment: each gets the process's share of the
  device (see :class:`Share`) divided by the number of roots (``equal_split``), and
  nothing for the kinds of device it excludes (a rank whose node energy another rank
  carries);
- every other active span (child runs, windows) gets what its root got for that segment:
  descendants are breakdowns of their root, never extra energy.

So for each device and segment the roots' fractions sum to at most 1, and to exactly 1
when the process owns the device; a span's energy is the sum over the segments it covers
of the device's energy times its root's fraction. Intervals where a device's value was
carried over rather than read (bridged) or where it was lost are flagged on exactly the
spans active over them.

Pure: no hardware, no threads, no clock; the caller passes snapshots in time order and
holds a lock around the tree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from collectors.sampler import DeviceEnergy, SamplerCounts, Snapshot
from collectors.types import Kind
from greenai.figures.flags import DEVICE_LOST, bridged, lost_device

EXCLUSIVE = "exclusive"  # the device is the process's alone
PROCESS_LIST = "process_list"  # NVML's running processes: ours and others' share it
PROCESS_UTILIZATION = "process_utilization"  # per-process SM utilization split it
CPU_TIME = "cpu_time"  # the process tree's share of the machine's busy CPU time
EQUAL_SPLIT = "equal_split"  # overlapping roots of one process split it equally
MIG_SLICES = "mig_slices"  # a MIG instance's slices over the GPU's slices
LOCAL_RANK = "local_rank"  # NVML could not tell: the device of the local rank
VISIBLE_DEVICES = "visible_devices"  # NVML could not tell: every visible device
NOT_USED = "not_used"  # no process of ours uses the device
NODE_ELSEWHERE = "node_energy_on_local_rank_0"  # another rank of the node carries it


@dataclass(frozen=True, slots=True)
class Share:
    """The process's share of one device over a segment, and how it was decided.

    Attributes:
        fraction: 0..1 of the device's energy.
        rule: How (``exclusive``, ``process_list``, ``cpu_time``, ``mig_slices``, ...;
            rules combined with ``+``, such as ``mig_slices+process_list``).
    """

    fraction: float
    rule: str


WHOLE = Share(1.0, EXCLUSIVE)


@dataclass(slots=True)
class DeviceAccount:
    """One device's energy over a span.

    Attributes:
        device_id: The device.
        kind: gpu, cpu, dram or psys.
        method: How the device's energy was obtained: counter, power or model.
        device_j: The device's energy over the span's segments, J (before shares).
        energy_j: Energy charged to the span, J.
        rules: The share rules applied, in the order first seen.
        last_fraction: The fraction of the latest segment (the share of an idle device).
        rules_tentative: Whether ``rules`` holds only the rule of segments that lasted no
            time and charged nothing (such as a sampler tick at the span's start instant):
            the first segment that counts replaces it.
    """

    device_id: str
    kind: str
    method: str
    device_j: float = 0.0
    energy_j: float = 0.0
    rules: list[str] = field(default_factory=list)
    last_fraction: float = 1.0
    rules_tentative: bool = False

    @property
    def share(self) -> float:
        """Fraction of the device's energy charged to the span, 0..1."""
        if self.device_j > 0.0:
            return min(max(self.energy_j / self.device_j, 0.0), 1.0)
        return self.last_fraction

    @property
    def rule(self) -> str:
        """How the span's share was decided (rules of several segments joined by ``,``)."""
        return ",".join(self.rules) if self.rules else EXCLUSIVE

    def add(self, delta_j: float, fraction: float, rule: str, *, counts: bool = True) -> None:
        """Charge ``fraction`` of a segment's ``delta_j``.

        Args:
            delta_j: The device's energy over the segment, J.
            fraction: The span's fraction of it.
            rule: How the fraction was decided.
            counts: False for a segment that lasted no time and charged nothing: its rule
                labels the account only until a segment that counts comes.
        """
        self.device_j += delta_j
        self.energy_j += delta_j * fraction
        self.last_fraction = fraction
        if not counts:
            if not self.rules:
                self.rules.append(rule)
                self.rules_tentative = True
            return
        if self.rules_tentative:
            self.rules.clear()
            self.rules_tentative = False
        if rule not in self.rules:
            self.rules.append(rule)


@dataclass(eq=False)
class Span:
    """An interval charged with energy: a run, a child run, a window or a rank part.

    Attributes:
        name: For messages.
        parent: The enclosing span; None for a root.
        excluded_kinds: Device kinds a root is charged nothing for (another rank of
            the node carries them).
        start_s, end_s: Monotonic bounds (the boundary snapshots' times).
        started_at, ended_at: UTC bounds: one wall-clock reading at start, plus the
            monotonic duration.
        accounts: Device id -> its energy over the span.
        flags: Data-quality flags of the span's measurement (bridged, lost devices).
        overlapped: Whether another root was active at the same time.
        counts_at_start, counts_at_end: The sampler's failure counts at the bounds, so
            errors, gaps and resets are the span's own, never the process's.
    """

    name: str = ""
    parent: Span | None = None
    excluded_kinds: frozenset[str] = frozenset()
    start_s: float | None = None
    end_s: float | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    accounts: dict[str, DeviceAccount] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    overlapped: bool = False
    counts_at_start: SamplerCounts | None = None
    counts_at_end: SamplerCounts | None = None

    @property
    def top(self) -> Span:
        """The topmost ancestor (itself for a root)."""
        span = self
        while span.parent is not None:
            span = span.parent
        return span

    @property
    def active(self) -> bool:
        """Started and not yet ended."""
        return self.start_s is not None and self.end_s is None

    def duration_s(self, now_s: float) -> float:
        """Seconds from start to end (or to ``now_s`` while active); never negative."""
        if self.start_s is None:
            return 0.0
        end = self.end_s if self.end_s is not None else now_s
        return max(end - self.start_s, 0.0)

    @property
    def lost_devices(self) -> frozenset[str]:
        """Devices that stopped answering for good while it was charged (its flags)."""
        return frozenset(f[len(DEVICE_LOST) :] for f in self.flags if f.startswith(DEVICE_LOST))

    def wall_at(self, t_s: float) -> datetime | None:
        """The UTC time at monotonic ``t_s``: the span's one wall-clock reading at its
        start plus the monotonic time since (None before it started), so nothing timed
        on the span's clock moves when the wall clock is stepped (NTP)."""
        if self.started_at is None or self.start_s is None:
            return None
        return self.started_at + timedelta(seconds=t_s - self.start_s)

    def flag(self, flag: str) -> None:
        """Add a data-quality flag once."""
        if flag not in self.flags:
            self.flags.append(flag)

    @property
    def energy_j(self) -> float:
        """Energy charged so far, J."""
        return sum(a.energy_j for a in self.accounts.values())


def charging_root(span: Span) -> Span:
    """The topmost active ancestor of an active span (itself when none is active).

    A child that outlives its parent (a misuse) is charged as a root from then on.
    """
    root = span
    node = span.parent
    while node is not None:
        if node.active:
            root = node
        node = node.parent
    return root


Allocation = tuple[tuple["Span", float, str], ...]
"""Who gets what of one device over one segment: (span, fraction, share rule)."""


@dataclass(slots=True)
class _Bridge:
    """Segments over which a device's value was carried, waiting for its next reading.

    Attributes:
        segments: (duration s, allocation) per run of segments with the same allocation.
    """

    segments: list[tuple[float, Allocation]] = field(default_factory=list)

    def add(self, duration_s: float, allocation: Allocation) -> None:
        if self.segments and _same(self.segments[-1][1], allocation):
            self.segments[-1] = (self.segments[-1][0] + duration_s, allocation)
        else:
            self.segments.append((duration_s, allocation))


def _same(a: Allocation, b: Allocation) -> bool:
    return len(a) == len(b) and all(
        x[0] is y[0] and x[1] == y[1] and x[2] == y[2] for x, y in zip(a, b, strict=True)
    )


class SpanTree:
    """The active spans of one process and the last snapshot they were charged to.

    A counter whose value was carried (a failed read) is not charged segment by segment:
    the energy its next reading reveals is spread over the bridged segments in
    proportion to their duration, each going to the spans that were active then and
    still are (a span that ended meanwhile keeps what it had, flagged bridged).
    """

    def __init__(self) -> None:
        self._active: list[Span] = []
        self._last: Snapshot | None = None
        self._bridges: dict[str, _Bridge] = {}

    @property
    def active(self) -> list[Span]:
        """Spans started and not yet ended, in start order."""
        return list(self._active)

    @property
    def last(self) -> Snapshot | None:
        """The snapshot charged last."""
        return self._last

    def open(self, span: Span, snap: Snapshot, shares: Mapping[str, Share]) -> None:
        """Charge up to ``snap``, then start charging ``span`` from it."""
        self.advance(snap, shares)
        span.start_s = snap.timestamp_s
        span.end_s = None
        self._active.append(span)
        roots = {id(charging_root(s)): charging_root(s) for s in self._active}
        if len(roots) > 1:
            for root in roots.values():
                root.overlapped = True

    def close(self, span: Span, snap: Snapshot, shares: Mapping[str, Share]) -> None:
        """Charge up to ``snap`` (the span included), then stop charging ``span``."""
        self.advance(snap, shares)
        if span in self._active:
            self._active.remove(span)
            span.end_s = max(snap.timestamp_s, span.start_s or snap.timestamp_s)

    def advance(self, snap: Snapshot, shares: Mapping[str, Share]) -> None:
        """Charge the segment from the last snapshot to ``snap`` to every active span.

        A snapshot older than the last one (a sampler tick that lost the race with a
        boundary) is ignored: its energy is in the next segment.
        """
        last = self._last
        if last is not None and snap.timestamp_s < last.timestamp_s:
            return
        if last is not None and (self._active or self._bridges or snap.carried):
            self._charge(last, snap, shares)
        self._last = snap

    def reset(self) -> None:
        """Forget every span and snapshot (a forked child starts afresh)."""
        self._active.clear()
        self._last = None
        self._bridges.clear()

    def _charge(self, before: Snapshot, after: Snapshot, shares: Mapping[str, Share]) -> None:
        """Charge one segment's energy to the active spans (see the module's rules)."""
        spans = list(self._active)
        roots = len({id(charging_root(span)) for span in spans})
        duration_s = max(after.timestamp_s - before.timestamp_s, 0.0)
        gaps = bool(after.lost or after.bridged or before.bridged)
        allocations: dict[tuple[Kind, float, str], Allocation] = {}  # one per share alike
        for device_id, end in after.devices.items():
            begin = before.devices.get(device_id)
            if begin is None:
                continue  # first seen now: its energy starts with the next segment
            share = shares.get(device_id, WHOLE)
            key = (end.kind, share.fraction, share.rule)
            allocation = allocations.get(key)
            if allocation is None:
                allocation = allocations[key] = allocate(spans, roots, end.kind.value, share)
            if gaps:
                _flag_gaps(spans, before, after, device_id)
            delta_j = max(end.energy_j - begin.energy_j, 0.0)
            if device_id in after.carried:
                self._bridges.setdefault(device_id, _Bridge()).add(duration_s, allocation)
                continue
            bridge = self._bridges.pop(device_id, None)
            if bridge is None:
                _apply(allocation, device_id, end, delta_j, duration_s > 0 or delta_j > 0)
                continue
            bridge.add(duration_s, allocation)
            total_s = sum(d for d, _ in bridge.segments)
            for part_s, part in bridge.segments:
                weight = part_s / total_s if total_s > 0 else 1.0 / len(bridge.segments)
                alive = tuple(a for a in part if a[0].active)
                part_j = delta_j * weight
                _apply(alive, device_id, end, part_j, part_s > 0 or part_j > 0)


def allocate(spans: Iterable[Span], n_roots: int, kind: str, share: Share) -> Allocation:
    """Each active span's fraction of one device over a segment, and its rule."""
    out = []
    for span in spans:
        root = charging_root(span)
        if kind in root.excluded_kinds:
            out.append((span, 0.0, NODE_ELSEWHERE))
        elif n_roots == 1:
            out.append((span, share.fraction, share.rule))
        else:
            out.append((span, share.fraction / n_roots, f"{share.rule}+{EQUAL_SPLIT}"))
    return tuple(out)


def _apply(
    allocation: Allocation, device_id: str, end: DeviceEnergy, delta_j: float, counts: bool
) -> None:
    for span, fraction, rule in allocation:
        account = span.accounts.get(device_id)
        if account is None:
            account = DeviceAccount(device_id, end.kind.value, end.method.value)
            span.accounts[device_id] = account
        account.add(delta_j, fraction, rule, counts=counts)


def _flag_gaps(spans: list[Span], before: Snapshot, after: Snapshot, device_id: str) -> None:
    """Flag a segment whose device value was bridged at either end, or lost."""
    if device_id in after.lost:
        for span in spans:
            span.flag(lost_device(device_id))
    elif device_id in after.bridged or device_id in before.bridged:
        for span in spans:
            span.flag(bridged(device_id))
