"""The process-wide measurement hub: one set of collectors, one sampler, one span tree.

The hub owns the sampler and the :class:`~greenai.tracking.spans.SpanTree` of the
process's active spans. It charges energy segment by segment: at every span boundary
(the boundary's counter snapshot is its first or last measuring step) and at every
series tick of the sampler (1 Hz by default), where the GPU process list and the
CPU-time counters are read again, so each segment is shared by what was true then.

A process going down (a fatal signal) freezes its hubs (:meth:`Hub.freeze`) where a
thread it cannot wait for holds one inside a boundary: spans then keep what they were
charged up to the last snapshot, and are read without that thread's lock.

After ``fork`` the child starts with no hub (collectors and NVML are opened again, for
the child's own process tree, on first use): :func:`os.register_at_fork` holds every
hub's locks across the fork so no NVML call is in flight in the copied process.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collectors.base import ProcessLister
from collectors.clock import SYSTEM_CLOCK, Clock
from collectors.discover import Discovery, discover
from collectors.sampler import Sampler, Snapshot
from collectors.types import Availability, GpuProcess, Kind
from greenai.tracking.shares import CpuTimeShare, GpuWatch
from greenai.tracking.spans import Share, Span, SpanTree

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HubKey:
    """What selects a hub: runs with the same sampling settings share one."""

    mode: str
    powercap_root: Path | None
    cpu_tdp_w: float | None
    series_hz: float
    power_hz: float


def utc_now() -> datetime:
    """The wall clock, UTC."""
    return datetime.now(UTC)


class Hub:
    """Collectors, sampler and active spans of this process.

    Args:
        key: The sampling settings.
        discovery: The open collectors.
        clock: Monotonic clock of the sampler and the spans (tests inject one).
        wall: UTC wall clock, read once per span start.
    """

    def __init__(
        self,
        key: HubKey,
        discovery: Discovery,
        clock: Clock = SYSTEM_CLOCK,
        wall: Callable[[], datetime] = utc_now,
    ) -> None:
        self.key = key
        self.discovery = discovery
        self.clock = clock
        self.sampler = Sampler(
            discovery.collectors,
            series_hz=key.series_hz,
            power_hz=key.power_hz,
            clock=clock,
            on_snapshot=self._on_tick,
        )
        self.tree = SpanTree()
        self._wall = wall
        self._lock = threading.RLock()
        self._readers_lock = threading.RLock()  # see freeze
        self.frozen = False
        gpus = [d for d in self.sampler.devices if d.kind is Kind.GPU]
        mig = {d.device_id: d.mig_slices for d in gpus if d.mig_slices is not None}
        self._listers = [c for c in discovery.collectors if isinstance(c, ProcessLister)]
        self.gpus = GpuWatch([d.device_id for d in gpus], mig=mig) if gpus else None
        self.cpu = _cpu_time_share(key.mode, discovery)

    @property
    def availability(self) -> list[Availability]:
        """What each collector said when opened."""
        return self.discovery.availability

    @property
    def lock(self) -> threading.RLock:
        """Held while spans are charged (fork holds it too); once frozen, the readers'
        own lock (see :meth:`freeze`)."""
        return self._readers_lock if self.frozen else self._lock

    def freeze(self) -> None:
        """Charge nothing more: for a process going down whose job thread may be stuck
        inside a boundary, holding the lock for good. Every span keeps what it was
        charged up to the last snapshot (:attr:`SpanTree.last`), and reading it no
        longer waits for that lock (:attr:`lock`)."""
        self.frozen = True

    def abandon(self, span: Span) -> None:
        """End ``span`` at the last snapshot charged, without the lock (a frozen hub)."""
        last = self.tree.last
        end_s = last.timestamp_s if last is not None else self.clock.monotonic()
        span.end_s = max(end_s, span.start_s if span.start_s is not None else end_s)
        started = span.started_at or self._wall()
        span.ended_at = started + timedelta(seconds=span.duration_s(span.end_s))

    def gpu_ids(self) -> list[str]:
        """Visible GPUs, in CUDA order."""
        return [d.device_id for d in self.sampler.devices if d.kind is Kind.GPU]

    def set_attribution_environ(self, environ: Mapping[str, str]) -> None:
        """Where the GPU fallback rules read the local rank from (a rank's launcher)."""
        if self.gpus is not None:
            self.gpus.environ = environ

    def compute_processes(self) -> list[GpuProcess] | None:
        """Processes with a compute context on the visible GPUs, or None if unknown."""
        for lister in self._listers:
            try:
                return lister.compute_processes()
            except Exception as exc:  # NVML may not list processes: fall back
                log.debug("compute process list unavailable: %s", exc)
                return None
        return None

    # -- segments ----------------------------------------------------------------------

    def _segment_shares(self, *, processes: list[GpuProcess] | None = None) -> dict[str, Share]:
        """The process's shares for the segment ending now (caller holds the lock)."""
        shares: dict[str, Share] = {}
        if self.gpus is not None:
            if processes is not None or not self.gpus.known:
                self.gpus.observe(processes if processes is not None else self.compute_processes())
            shares.update(self.gpus.shares())
        if self.cpu is not None:
            self.cpu.advance()
            shares.update(self.cpu.shares())
        return shares

    def _on_tick(self, snap: Snapshot) -> None:
        """A series tick (sampler thread): charge the segment with fresh shares."""
        if self.frozen or not self.tree.active:
            return
        processes = self.compute_processes() if self.gpus is not None else None
        with self._lock:
            last = self.tree.last
            if self.frozen or not self.tree.active:
                return
            if last is not None and snap.timestamp_s < last.timestamp_s:
                return  # a boundary came in between: its snapshot is newer
            self.tree.advance(snap, self._segment_shares(processes=processes))

    def settle(self) -> None:
        """Do what a series tick does, now: charge up to now with fresh shares."""
        processes = self.compute_processes() if self.gpus is not None else None
        with self._lock:
            snap = self.sampler.snapshot()
            self.tree.advance(snap, self._segment_shares(processes=processes))

    def begin(self, span: Span) -> None:
        """Start charging a span; the counter snapshot is the last measuring step."""
        with self._lock:
            if not self.sampler.running:
                self.sampler.start()
            span.counts_at_start = self.sampler.counts()
            snap = self.sampler.snapshot()
            wall = self._wall()
            self.tree.open(span, snap, self._segment_shares())
            span.started_at = self._started_at(span, wall)

    def _started_at(self, span: Span, wall: datetime) -> datetime:
        """When ``span`` started: the wall clock's reading for a span at the top of the
        tree; for one inside a top span this hub charges, the top's reading plus the
        monotonic time since, so a wall clock stepped meanwhile (NTP) never puts a
        window or a child run outside its run."""
        top = span.top
        if top is span or span.start_s is None or top not in self.tree.active:
            return wall
        return top.wall_at(span.start_s) or wall

    def end(self, span: Span) -> None:
        """Stop charging a span; the counter snapshot is the first measuring step."""
        with self._lock:
            snap = self.sampler.snapshot()
            self.tree.close(span, snap, self._segment_shares())
            started = span.started_at or self._wall()
            span.ended_at = started + timedelta(seconds=span.duration_s(snap.timestamp_s))
            span.counts_at_end = self.sampler.counts()
            if not self.tree.active:
                self.sampler.stop(wait=False)

    def active_spans(self) -> list[Span]:
        """Spans being charged now."""
        with self._lock:
            return self.tree.active


def _cpu_time_share(mode: str, discovery: Discovery) -> CpuTimeShare | None:
    """The CPU-time share of machine-wide counters (RAPL) in process mode, else None;
    it reads the job's tree through the models' walk, so a tick walks it once."""
    machine_wide = [
        d.device_id for c in discovery.collectors if c.machine_wide for d in c.devices()
    ]
    if mode != "process" or not machine_wide:
        return None
    from collectors.cputime import ProcessTreeCpuTime, machine_busy_cpu_s

    walk = discovery.walk if discovery.walk and discovery.walk.pid == os.getpid() else None
    tree = ProcessTreeCpuTime(os.getpid(), walk=walk)
    return CpuTimeShare(lambda: (tree.total_s(), machine_busy_cpu_s()), machine_wide)


_HUBS: dict[HubKey, Hub] = {}
_HUBS_LOCK = threading.Lock()


def get_hub(key: HubKey) -> Hub:
    """The hub for these settings, opening collectors on first use (the cold start)."""
    with _HUBS_LOCK:
        hub = _HUBS.get(key)
        if hub is None:
            found = discover(
                mode=key.mode, powercap_root=key.powercap_root, cpu_tdp_w=key.cpu_tdp_w
            )
            hub = Hub(key, found)
            _HUBS[key] = hub
        return hub


def close_hubs() -> None:
    """Stop every sampler and close every collector (tests and interpreter exit)."""
    with _HUBS_LOCK:
        for hub in _HUBS.values():
            hub.sampler.close()
        _HUBS.clear()


_HELD: list[Hub] = []


def _before_fork() -> None:
    """Hold every hub's locks: no span boundary and no collector read is in flight."""
    _HUBS_LOCK.acquire()
    _HELD[:] = list(_HUBS.values())
    for hub in _HELD:
        hub.lock.acquire()
        hub.sampler.lock.acquire()


def _release_held() -> None:
    for hub in reversed(_HELD):
        hub.sampler.lock.release()
        hub.lock.release()
    _HELD.clear()
    _HUBS_LOCK.release()


def _after_fork_in_child() -> None:
    """The child measures itself: the copied hubs (and their NVML state) are dropped."""
    _release_held()
    _HUBS.clear()


os.register_at_fork(
    before=_before_fork, after_in_parent=_release_held, after_in_child=_after_fork_in_child
)
