"""The sampling loop: counters slowly, power-only sensors fast at jittered instants.

Counters (GPU energy, RAPL, CPU-time-driven models) are exact whatever the sampling
rate, so they are read at run and window boundaries (:meth:`Sampler.snapshot`) and at
``series_hz`` in between, only to draw the power series. Devices that have a power
sensor but no counter are read at ``power_hz``, each sample at a random instant within
its interval so periodic workloads do not alias with the sampling grid, and integrated
with trapezoids into a cumulative energy.

The schedule is drift-free (deadlines are ``origin + k * interval``), memory is bounded
(the series is a ring buffer), and an exception inside a collector is counted and kept,
never raised into the caller. Once a process is going down (:meth:`Sampler.bound_waits`),
no call waits longer than a bound for a collector or for the sampler's lock: a hung
driver call must not keep a terminated job alive.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from collectors.base import Collector
from collectors.clock import SYSTEM_CLOCK, Clock
from collectors.types import Device, DeviceStatus, Kind, Method, Reading

log = logging.getLogger(__name__)
_T = TypeVar("_T")
_NO_VALUES: list[float | None] = []


@dataclass(frozen=True, slots=True)
class DeviceEnergy:
    """Cumulative energy of one device at a snapshot.

    Attributes:
        device_id: The device.
        kind: Its kind.
        method: How the energy was obtained.
        energy_j: Cumulative energy since the sampler started, J (counters keep their origin).
        power_w: Latest power, W, where known.
    """

    device_id: str
    kind: Kind
    method: Method
    energy_j: float
    power_w: float | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every device's cumulative energy at one instant (a run or window boundary).

    A device that did not answer this time keeps its last known cumulative value: a
    counter then bridges the missed read exactly at its next reading; a power-only
    device is bridged with its last power times the time elapsed. Either way it is
    named in ``bridged``; a device that is lost for good keeps its last value and is
    named in ``lost``.

    Attributes:
        timestamp_s: Monotonic time of the snapshot.
        devices: Device id -> cumulative energy.
        bridged: Devices not read this time (their value is carried or estimated).
        carried: The bridged counters: their value is the last reading's, and the energy
            since shows at their next reading.
        lost: Devices that stopped answering for good.
        stale: Not read now: the last snapshot, repeated because the collectors did not
            answer within the bound of :meth:`Sampler.bound_waits` (its time is the last
            snapshot's, so nothing after it is charged).
    """

    timestamp_s: float
    devices: dict[str, DeviceEnergy]
    bridged: frozenset[str] = frozenset()
    carried: frozenset[str] = frozenset()
    lost: frozenset[str] = frozenset()
    stale: bool = False


@dataclass(slots=True)
class _Integral:
    """Trapezoidal integral of a power-only device."""

    kind: Kind
    energy_j: float = 0.0
    last_t: float | None = None
    last_w: float | None = None

    def add(self, t: float, power_w: float) -> None:
        if self.last_t is not None and self.last_w is not None and t > self.last_t:
            self.energy_j += (t - self.last_t) * (self.last_w + power_w) / 2.0
        if self.last_t is None or t >= self.last_t:
            self.last_t, self.last_w = t, power_w


@dataclass(slots=True)
class SamplerErrors:
    """Collector failures seen by the sampler (counted, never raised).

    Attributes:
        counts: Collector name -> number of failed reads.
        last: Collector name -> the latest error message.
        gaps: Number of series ticks skipped because the loop fell behind.
    """

    counts: dict[str, int] = field(default_factory=dict)
    last: dict[str, str] = field(default_factory=dict)
    gaps: int = 0


@dataclass(frozen=True, slots=True)
class SamplerCounts:
    """Cumulative failure counts at one instant; a span's own are the difference of two.

    Attributes:
        collector_errors: Collector name -> failed reads of the whole collector.
        device_errors: Device id -> failed reads of that device (retried).
        counter_resets: Device id -> times its counter went backwards.
        gaps: Series ticks skipped because the loop fell behind.
    """

    collector_errors: dict[str, int]
    device_errors: dict[str, int]
    counter_resets: dict[str, int]
    gaps: int

    def since(self, earlier: SamplerCounts) -> SamplerCounts:
        """What happened between ``earlier`` and this one (zeros left out)."""

        def diff(now: dict[str, int], then: dict[str, int]) -> dict[str, int]:
            changed = {k: v - then.get(k, 0) for k, v in now.items()}
            return {k: v for k, v in changed.items() if v > 0}

        return SamplerCounts(
            diff(self.collector_errors, earlier.collector_errors),
            diff(self.device_errors, earlier.device_errors),
            diff(self.counter_resets, earlier.counter_resets),
            max(self.gaps - earlier.gaps, 0),
        )


class Sampler:
    """Reads collectors on a schedule and answers snapshots at any instant.

    Args:
        collectors: The open collectors.
        series_hz: Rate of the power series (counter devices), Hz.
        power_hz: Rate of power-only sensors, Hz.
        clock: Monotonic clock; tests inject one and call :meth:`run_due`.
        rng: Random source of the jitter (seed it for repeatable tests).
        max_series: Most readings kept in the series buffer before the oldest drop.
        on_series: Called (on the sampler thread) with each series tick's readings.
        on_snapshot: Called (on the sampler thread) with a snapshot made of each series
            tick's readings, so energy can be settled at the series rate for free.
    """

    def __init__(
        self,
        collectors: Sequence[Collector],
        *,
        series_hz: float = 1.0,
        power_hz: float = 10.0,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
        max_series: int = 100_000,
        on_series: Callable[[list[Reading]], None] | None = None,
        on_snapshot: Callable[[Snapshot], None] | None = None,
    ) -> None:
        self._collectors = list(collectors)
        self._series_interval_s = 1.0 / series_hz
        self._power_interval_s = 1.0 / power_hz
        self._clock = clock
        self._rng = rng or random.Random()
        self._on_series = on_series
        self._on_snapshot = on_snapshot
        self._last_known: dict[str, DeviceEnergy] = {}
        self._lock = threading.Lock()
        self._thread_lock = threading.Lock()
        self._stop_requested = False
        self._thread: threading.Thread | None = None
        self._wait_limit_s: float | None = None  # see bound_waits
        self._last_snapshot: Snapshot | None = None
        self._last_status: list[DeviceStatus] = []
        self.stale_snapshots = 0
        self.errors = SamplerErrors()
        self.series: deque[Reading] = deque(maxlen=max_series)
        self._power_only = self._find_power_only()
        self._integrals = {
            dev.device_id: _Integral(dev.kind) for devs in self._power_only.values() for dev in devs
        }
        self._power_plan = [
            (
                self._collectors[i],
                self._collectors[i].power_reader([d.device_id for d in devs]),
                [self._integrals[d.device_id] for d in devs],
            )
            for i, devs in self._power_only.items()
        ]
        self._origin_s = self._clock.monotonic()
        self._series_k = 0
        self._power_k = 0
        self._next_series_s = self._origin_s
        self._next_power_s = self._jittered(0)

    def _find_power_only(self) -> dict[int, list[Device]]:
        found: dict[int, list[Device]] = {}
        for i, collector in enumerate(self._collectors):
            devs = [d for d in collector.devices() if d.method is Method.POWER]
            if devs:
                found[i] = devs
        return found

    @property
    def devices(self) -> list[Device]:
        """Every device of every collector."""
        return [d for c in self._collectors for d in c.devices()]

    @property
    def lock(self) -> threading.Lock:
        """Held while collectors are read (fork holds it so no read is in flight)."""
        return self._lock

    @property
    def collectors(self) -> list[Collector]:
        """The collectors read by this sampler."""
        return list(self._collectors)

    @property
    def last_snapshot(self) -> Snapshot | None:
        """The latest snapshot made (at a boundary or a series tick), None before any."""
        return self._last_snapshot

    def counts(self) -> SamplerCounts:
        """Failure counts so far (errors, resets, gaps), to be differenced per span."""
        statuses = self.status()
        acquired = self._acquire(self._lock)
        try:  # unbounded: under the lock; bounded and not had: copied as they stand
            return SamplerCounts(
                dict(self.errors.counts),
                {s.device_id: s.errors for s in statuses if s.errors},
                {s.device_id: s.counter_resets for s in statuses if s.counter_resets},
                self.errors.gaps,
            )
        finally:
            if acquired:
                self._lock.release()

    def status(self) -> list[DeviceStatus]:
        """Per-device events (lost devices, counter resets) of every collector."""
        return self._within_bound(self._read_status, lambda: list(self._last_status))

    def _read_status(self) -> list[DeviceStatus]:
        with self._lock:
            empty: list[DeviceStatus] = []
            found = [s for c in self._collectors for s in self._guard(c, c.status, empty)]
            self._last_status = found
            return found

    # -- a process going down ---------------------------------------------------------

    def bound_waits(self, timeout_s: float) -> None:
        """From now on, never wait longer than ``timeout_s`` for a collector or the lock.

        For a process going down (a fatal signal): a hung driver call, or a read the
        job's main thread was inside when the signal came, must not keep it alive. A
        snapshot that does not come in time is the last one, marked ``stale`` (and
        counted in ``stale_snapshots``); status is the last known, counts are copied
        as they stand. Reads that answer in time are made as usual.
        """
        self._wait_limit_s = max(float(timeout_s), 0.0)

    def _acquire(self, lock: threading.Lock) -> bool:
        """Take ``lock``: without limit, or within the bound (False: not had)."""
        limit = self._wait_limit_s
        return lock.acquire() if limit is None else lock.acquire(timeout=limit)

    def _within_bound(self, fn: Callable[[], _T], fallback: Callable[[], _T]) -> _T:
        """``fn()``; once bounded, made on a helper thread and ``fallback()`` if late.

        A late helper is left behind (a daemon, stuck where the driver or the lock
        holds it): the process it would keep alive is going down.
        """
        limit = self._wait_limit_s
        if limit is None:
            return fn()
        result: list[_T] = []
        done = threading.Event()

        def work() -> None:
            try:
                result.append(fn())
            finally:
                done.set()

        try:
            threading.Thread(target=work, name="greenai-bounded-read", daemon=True).start()
        except RuntimeError:  # no new threads (interpreter shutdown): read here
            return fn()
        if done.wait(limit) and result:
            return result[0]
        return fallback()

    def _stale_snapshot(self) -> Snapshot:
        """The last snapshot again, marked stale (an empty one if there was none)."""
        self.stale_snapshots += 1
        last = self._last_snapshot
        if last is None:
            return Snapshot(self._clock.monotonic(), {}, stale=True)
        return dataclasses.replace(last, stale=True)

    # -- schedule ---------------------------------------------------------------------

    def _anchor(self, origin_s: float) -> None:
        """Start the schedule afresh at ``origin_s`` (a thread that slept is not behind)."""
        with self._lock:
            self._origin_s = origin_s
            self._series_k = 0
            self._power_k = 0
            self._next_series_s = origin_s
            self._next_power_s = self._jittered(0)

    def _jittered(self, k: int) -> float:
        start = self._origin_s + k * self._power_interval_s
        return start + self._rng.random() * self._power_interval_s

    def next_deadline_s(self) -> float:
        """Monotonic time of the next due work."""
        if self._power_only:
            return min(self._next_series_s, self._next_power_s)
        return self._next_series_s

    def run_due(self, now_s: float) -> float:
        """Do the work due at ``now_s`` and return the next deadline.

        The background thread calls this; tests call it with their own clock.
        """
        if self._power_only and now_s >= self._next_power_s:
            self._sample_power(now_s)
            self._power_k = self._next_index(now_s, self._power_k, self._power_interval_s)
            self._next_power_s = self._jittered(self._power_k)
        if now_s >= self._next_series_s:
            self._sample_series()
            self._series_k = self._next_index(now_s, self._series_k, self._series_interval_s)
            self._next_series_s = self._origin_s + self._series_k * self._series_interval_s
        return self.next_deadline_s()

    def _next_index(self, now_s: float, k: int, interval_s: float) -> int:
        behind = math.floor((now_s - self._origin_s) / interval_s)
        if behind > k + 1:
            self.errors.gaps += behind - k - 1
            return behind + 1
        return k + 1

    # -- work ---------------------------------------------------------------------

    def _guard(self, collector: Collector, fn: Callable[[], _T], default: _T) -> _T:
        try:
            return fn()
        except Exception as exc:  # a collector failure must never reach the job
            name = collector.name
            count = self.errors.counts.get(name, 0) + 1
            self.errors.counts[name] = count
            self.errors.last[name] = f"{type(exc).__name__}: {exc}"
            if count == 1:
                log.warning("collector %s failed: %s", name, exc)
            return default

    def _sample_power(self, now_s: float) -> None:
        """The fast path: power of power-only devices into their integrals, nothing else."""
        with self._lock:
            for collector, reader, integrals in self._power_plan:
                t = self._clock.monotonic()
                values = self._guard(collector, reader, _NO_VALUES)
                for integral, power_w in zip(integrals, values, strict=False):
                    if power_w is not None:
                        integral.add(t, power_w)

    def _read_all(self, integrate: bool) -> list[Reading]:
        """Read every collector; ``integrate`` adds power-only readings to their integrals.

        Series ticks do not integrate: they fall on a fixed grid, which aliases with
        periodic workloads; only the jittered power samples and boundaries do.
        """
        readings: list[Reading] = []
        for collector in self._collectors:
            none: list[Reading] = []
            readings.extend(self._guard(collector, collector.read, none))
        if integrate:
            for r in readings:
                integral = self._integrals.get(r.device_id)
                if integral is not None and r.power_w is not None:
                    integral.add(r.timestamp_s, r.power_w)
        return readings

    def _sample_series(self) -> None:
        snap = None
        with self._lock:
            now_s = self._clock.monotonic()
            readings = self._read_all(integrate=False)
            self.series.extend(readings)
            if self._on_snapshot is not None:
                snap = self._snapshot_of(readings, now_s)
        if self._on_series is not None:
            self._notify(self._on_series, readings)
        if self._on_snapshot is not None and snap is not None:
            self._notify(self._on_snapshot, snap)

    @staticmethod
    def _notify(listener: Callable[[_T], None], arg: _T) -> None:
        try:
            listener(arg)
        except Exception:  # the listener's failure is its own; the loop carries on
            log.exception("sampler listener failed")

    def snapshot(self) -> Snapshot:
        """Read every counter now and return each device's cumulative energy.

        Power-only devices are read too, closing their integral at this instant; a
        device that does not answer keeps its last known value (see :class:`Snapshot`).
        Once :meth:`bound_waits` was called, a snapshot that does not come within the
        bound is the last one, marked ``stale``.
        """
        return self._within_bound(self._read_snapshot, self._stale_snapshot)

    def _read_snapshot(self) -> Snapshot:
        with self._lock:
            now_s = self._clock.monotonic()
            return self._snapshot_of(self._read_all(integrate=True), now_s)

    def _snapshot_of(self, readings: list[Reading], now_s: float) -> Snapshot:
        """A snapshot from one read of every collector (caller holds the lock)."""
        devices: dict[str, DeviceEnergy] = {}
        for r in readings:
            integral = self._integrals.get(r.device_id)
            energy_j = integral.energy_j if integral is not None else r.energy_j
            if energy_j is None:
                continue
            devices[r.device_id] = DeviceEnergy(r.device_id, r.kind, r.method, energy_j, r.power_w)
        self._last_known.update(devices)
        if len(devices) == len(self._last_known):
            snap = Snapshot(now_s, devices)
        else:
            snap = self._bridge(devices, now_s)
        self._last_snapshot = snap
        return snap

    def _bridge(self, devices: dict[str, DeviceEnergy], now_s: float) -> Snapshot:
        """Carry the last known value of every device that did not answer."""
        no_status: list[DeviceStatus] = []
        lost = {
            s.device_id
            for c in self._collectors
            for s in self._guard(c, c.status, no_status)
            if s.lost
        }
        bridged: set[str] = set()
        carried: set[str] = set()
        for device_id, known in list(self._last_known.items()):
            if device_id in devices:
                continue
            value = known
            integral = self._integrals.get(device_id)
            if integral is not None:
                if device_id not in lost and integral.last_w is not None:
                    integral.add(now_s, integral.last_w)  # last power x elapsed
                value = DeviceEnergy(
                    device_id, known.kind, known.method, integral.energy_j, known.power_w
                )
                self._last_known[device_id] = value
            elif device_id not in lost:
                carried.add(device_id)
            devices[device_id] = value
            if device_id not in lost:
                bridged.add(device_id)
        return Snapshot(
            now_s, devices, frozenset(bridged), frozenset(carried), frozenset(lost & set(devices))
        )

    # -- thread ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the background thread (a daemon; idempotent).

        A thread asked to stop but still asleep is simply told to carry on.
        """
        with self._thread_lock:
            if self._thread is None or self._stop_requested:
                self._anchor(self._clock.monotonic())  # idle until now: not behind
            self._stop_requested = False
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="greenai-sampler", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        deadline_s = self.next_deadline_s()
        while True:
            self._clock.sleep(max(deadline_s - self._clock.monotonic(), 0.0))
            with self._thread_lock:
                if self._stop_requested:
                    self._thread = None
                    return
            deadline_s = self.run_due(self._clock.monotonic())

    def stop(self, timeout_s: float | None = None, *, wait: bool = True) -> None:
        """Stop the thread at its next wake-up, within one interval.

        Args:
            timeout_s: Most seconds to wait for the thread to end.
            wait: Whether to wait at all (a run's stop does not: it has its snapshot).
        """
        acquired = self._acquire(self._thread_lock)
        try:
            self._stop_requested = True
            thread = self._thread
        finally:
            if acquired:
                self._thread_lock.release()
        if wait and thread is not None:
            thread.join(timeout_s)

    @property
    def running(self) -> bool:
        """Whether the background thread runs and has not been asked to stop."""
        with self._thread_lock:
            return self._thread is not None and not self._stop_requested

    def close(self) -> None:
        """Stop (without waiting for the thread's next wake-up) and close every collector."""
        self.stop(wait=False)
        for collector in self._collectors:
            self._guard(collector, collector.close, None)
