"""The process-wide measurement hub: one set of collectors and one sampler per process.

Every active span (run, child run, window) is charged segment by segment: at each
boundary (a span starting or stopping) and at each heartbeat the hub takes a snapshot
and adds the energy since the previous one to every active span, divided by the number
of active root runs, so root runs that overlap in one process split the overlap's
energy equally and no joule is counted twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from collectors.base import Collector
from collectors.discover import Discovery, discover
from collectors.sampler import Sampler, Snapshot
from collectors.types import Availability, GpuProcess, Kind
from greenai.tracking.accounting import SpanEnergy

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HubKey:
    """What selects a hub: runs with the same sampling settings share one."""

    mode: str
    powercap_root: Path | None
    cpu_tdp_w: float | None
    series_hz: float
    power_hz: float


@dataclass(eq=False)
class Span:
    """An interval charged with energy: a run, a child run or a window.

    Attributes:
        root: The root run's span (itself for a root run).
        energy: Per-device energy accumulated so far.
        start_s, end_s: Monotonic bounds.
        started_at, ended_at: UTC bounds.
        overlapped: True once another root run was active at the same time.
        cpu_start, cpu_end: (job CPU s, machine busy CPU s) at the bounds, for shares
            of machine-wide counters in process mode.
    """

    root: Span | None = None
    energy: SpanEnergy = field(default_factory=SpanEnergy)
    start_s: float = 0.0
    end_s: float | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended_at: datetime | None = None
    overlapped: bool = False
    cpu_start: tuple[float, float] | None = None
    cpu_end: tuple[float, float] | None = None

    @property
    def is_root(self) -> bool:
        """Whether this span is a root run."""
        return self.root is None or self.root is self

    def duration_s(self, now_s: float) -> float:
        """Seconds from start to end (or to now while active); never negative."""
        end = self.end_s if self.end_s is not None else now_s
        return max(end - self.start_s, 0.0)


class Hub:
    """Collectors, sampler and active spans of this process."""

    def __init__(self, key: HubKey, discovery: Discovery, clock: Callable[[], float]) -> None:
        self.key = key
        self.discovery = discovery
        self.clock = clock
        self.sampler = Sampler(discovery.collectors, series_hz=key.series_hz, power_hz=key.power_hz)
        self._lock = threading.RLock()
        self._spans: list[Span] = []
        self._last: Snapshot | None = None
        self._cpu = _cpu_counters_reader(key.mode, discovery.collectors)

    @property
    def availability(self) -> list[Availability]:
        """What each collector said when opened."""
        return self.discovery.availability

    def gpu_ids(self) -> list[str]:
        """Visible GPUs, in CUDA order."""
        return [d.device_id for d in self.sampler.devices if d.kind is Kind.GPU]

    def compute_processes(self) -> list[GpuProcess] | None:
        """Processes with a compute context on the visible GPUs, or None if unknown."""
        for collector in self.discovery.collectors:
            lister = getattr(collector, "compute_processes", None)
            if lister is not None:
                try:
                    result: list[GpuProcess] = lister()
                    return result
                except Exception as exc:  # NVML may not list processes: fall back
                    log.debug("compute process list unavailable: %s", exc)
                    return None
        return None

    def cpu_counters(self) -> tuple[float, float] | None:
        """(job CPU s, machine busy CPU s) when machine-wide CPU counters need a share."""
        if self._cpu is None:
            return None
        try:
            return self._cpu()
        except Exception as exc:  # counters unreadable: the share falls back to 1
            log.debug("cpu time counters unavailable: %s", exc)
            return None

    def settle(self) -> None:
        """Charge the energy since the last settle to every active span."""
        with self._lock:
            snap = self.sampler.snapshot()
            if self._last is not None and self._spans:
                roots = {id(s.root or s) for s in self._spans}
                fraction = 1.0 / max(len(roots), 1)
                for span in self._spans:
                    span.energy.add_delta(self._last, snap, fraction)
            self._last = snap

    def begin(self, span: Span) -> None:
        """Start charging a span (settles first so it gets no earlier energy)."""
        with self._lock:
            self.settle()
            span.start_s = self.clock()
            span.started_at = datetime.now(UTC)
            span.cpu_start = self.cpu_counters()
            self._spans.append(span)
            roots = [s for s in self._spans if s.is_root]
            if span.is_root and len(roots) > 1:
                for root in roots:
                    root.overlapped = True
            if not self.sampler.running:
                self.sampler.start()

    def end(self, span: Span) -> None:
        """Stop charging a span (settles first so it gets all its energy)."""
        with self._lock:
            self.settle()
            span.end_s = self.clock()
            span.ended_at = datetime.now(UTC)
            span.cpu_end = self.cpu_counters()
            if span in self._spans:
                self._spans.remove(span)
            if not self._spans:
                self.sampler.stop(wait=False)

    def active_spans(self) -> list[Span]:
        """Spans being charged now."""
        with self._lock:
            return list(self._spans)


def _cpu_counters_reader(
    mode: str, collectors: list[Collector]
) -> Callable[[], tuple[float, float]] | None:
    """A reader of CPU-time counters when a machine-wide CPU counter (RAPL) needs a share."""
    machine_wide = any(c.name == "rapl" for c in collectors)
    if mode != "process" or not machine_wide:
        return None
    import os

    from collectors.cputime import ProcessTreeCpuTime, machine_busy_cpu_s

    tree = ProcessTreeCpuTime(os.getpid())
    return lambda: (tree.total_s(), machine_busy_cpu_s())


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
            hub = Hub(key, found, time.monotonic)
            _HUBS[key] = hub
        return hub


def close_hubs() -> None:
    """Stop every sampler and close every collector (tests and interpreter exit)."""
    with _HUBS_LOCK:
        for hub in _HUBS.values():
            hub.sampler.close()
        _HUBS.clear()
