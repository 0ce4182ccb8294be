"""The agent's life: open the node, serve metrics, write intervals, stop on SIGTERM."""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from collectors.sampler import Snapshot
from greenai.agent.config import AgentConfig
from greenai.agent.metrics import MetricsServer, build_registry
from greenai.agent.node import NodeMeter, open_node_collectors
from greenai.agent.recorder import LedgerOutbox, SeriesBuckets, node_rows, utc_now
from greenai.agent.serving_ledger import ServingLedger
from greenai.agent.serving_monitor import ServingMonitor
from greenai.agent.serving_record import SiteFigures

if TYPE_CHECKING:
    from greenai.ledger import Ledger

log = logging.getLogger(__name__)


class Agent:
    """One node's agent.

    Args:
        config: What to do.
        meter: The node's devices (default: opened node-wide from ``config``).
        ledger_factory: Opens the ledger (default: ``Ledger.open(config.db_url)``).
        wall: UTC wall clock of the intervals and series buckets (tests inject one that
            follows the meter's clock).
    """

    def __init__(
        self,
        config: AgentConfig,
        *,
        meter: NodeMeter | None = None,
        ledger_factory: Callable[[], Ledger] | None = None,
        wall: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self._wall = wall
        width = config.series_width_s
        self.series = (
            SeriesBuckets(config.host_id, config.series_tier or "", width, self._wall_minus_mono_s)
            if width
            else None
        )
        self.meter = meter or self._open_meter()
        try:
            self.serving, self.serving_ledger = self._open_serving()
        except BaseException:  # a configuration mistake: release the node first
            self.meter.close()
            raise
        writers = [self.serving_ledger.flush] if self.serving_ledger is not None else []
        self.outbox = (
            LedgerOutbox(
                ledger_factory or self._open_ledger,
                repair_jobs=config.repair_jobs,
                stale_after_s=config.stale_after_s,
                writers=writers,
            )
            if config.record
            else None
        )
        self._stop = threading.Event()
        self._server: MetricsServer | None = None
        self._last: tuple[Snapshot, datetime] | None = None
        self._closed = False
        self.intervals = 0

    def _open_meter(self) -> NodeMeter:
        collectors, availability = open_node_collectors(
            powercap_root=self.config.powercap_root, cpu_tdp_w=self.config.cpu_tdp_w
        )
        for entry in availability:
            if not entry.available:
                log.warning("collector %s unavailable: %s", entry.name, entry.reason)
        if not collectors:
            log.error("no collector works on this node: metrics stay empty")
        add = self.series.add if self.series is not None else None
        return NodeMeter(
            collectors,
            availability,
            series_hz=self.config.series_hz,
            power_hz=self.config.power_hz,
            on_series=add,
        )

    def _open_serving(self) -> tuple[ServingMonitor | None, ServingLedger | None]:
        """The serving engines' monitor and day runs (None without engines).

        Raises:
            ConfigError: A configured GPU this node does not have.
        """
        if not self.config.serve:
            return None, None
        from greenai import __version__

        monitor = ServingMonitor(self.config.serve, processes=self.meter.compute_processes)
        monitor.bind(self.meter.devices)
        if not self.config.record:
            return monitor, None
        devices = {d.device_id: d for d in self.meter.devices}
        site = self.config.site or SiteFigures()
        return monitor, ServingLedger(self.config.host_id, site, devices, __version__)

    def _wall_minus_mono_s(self) -> float:
        """Wall-clock time minus the meter's monotonic time, s (readings carry the latter)."""
        return self._wall().timestamp() - self.meter.clock.monotonic()

    def _open_ledger(self) -> Ledger:
        from greenai.ledger import Ledger

        return Ledger.open(self.config.db_url)

    @property
    def port(self) -> int | None:
        """The metrics port once serving."""
        return self._server.port if self._server is not None else None

    def start(self) -> int:
        """Start sampling and serving; returns the metrics port."""
        self.meter.start()
        readings = self.serving.scrape() if self.serving is not None else []
        self._last = (self.meter.snapshot(), self._wall())
        if self.serving is not None:  # the engines' baseline
            self.serving.interval(readings, None, *self._last, self._last[1])
        registry = build_registry(self.meter, self.config.host_id, self.serving)
        self._server = MetricsServer(registry, self.config.address, self.config.port)
        log.info("serving metrics on %s:%d", self.config.address, self._server.port)
        return self._server.port

    def request_stop(self) -> None:
        """Ask :meth:`run` to return (safe from a signal handler)."""
        self._stop.set()

    def _next_boundary_s(self, now_s: float) -> float:
        step = self.config.interval_s
        return (math.floor(now_s / step) + 1) * step

    def run(self) -> None:
        """Write intervals until asked to stop (or ``duration_s`` passed); then close."""
        deadline = time.monotonic() + self.config.duration_s if self.config.duration_s else math.inf
        try:
            while not self._stop.is_set():
                now_s = time.time()
                wait_s = min(self._next_boundary_s(now_s) - now_s, self.config.interval_s)
                wait_s = min(wait_s, deadline - time.monotonic())
                if self._stop.wait(max(wait_s, 0.0)) or time.monotonic() >= deadline:
                    break
                self.interval()
        finally:
            self.close()

    def interval(self, final: bool = False) -> None:
        """Close the current interval: node energy since the last one, then write."""
        if self._last is None:
            return
        try:
            readings = self.serving.scrape() if self.serving is not None else []
            snap, now = self.meter.snapshot(), self._wall()
            before, since = self._last
            self._last = (snap, now)
            nodes = node_rows(self.config.host_id, before, snap, since, now)
            self._serve(readings, before, snap, since, now)
            series = self.series.take(now.timestamp(), final) if self.series else []
            self.intervals += 1
        except Exception as exc:  # a failed interval is skipped; the next one covers it
            log.warning("interval failed: %s", exc)
            return
        if self.outbox is not None:
            self.outbox.add(nodes, series)
            self.outbox.flush()

    def _serve(
        self,
        readings: list[Any],
        before: Snapshot,
        snap: Snapshot,
        since: datetime,
        now: datetime,
    ) -> None:
        """The serving engines' interval; a failure there never costs the node's rows."""
        if self.serving is None:
            return
        try:
            served = self.serving.interval(readings, before, snap, since, now)
            if self.serving_ledger is not None:
                self.serving_ledger.add(served)
        except Exception as exc:  # the engines' figures of this interval are lost, no more
            log.warning("serving interval failed: %s", exc)

    def close(self) -> None:
        """Write the last partial interval, stop serving and close the node (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._last is not None:
            self.interval(final=True)
            self._last = None
        if self._server is not None:
            self._server.close()
            self._server = None
        self.meter.close()
        if self.outbox is not None:
            if self.outbox.pending:
                log.warning("stopping with %d rows the ledger did not take", self.outbox.pending)
            if self.serving_ledger is not None and self.serving_ledger.pending:
                log.warning("stopping with %d serving intervals the ledger did not take",
                            self.serving_ledger.pending)  # fmt: skip
            self.outbox.close()


def run_agent(config: AgentConfig, on_ready: Callable[[int], None] | None = None) -> Agent:
    """Run an agent in the main thread until SIGTERM, SIGINT or ``duration_s``.

    Args:
        config: What to do.
        on_ready: Called with the metrics port once serving.

    Returns:
        The stopped agent.
    """
    agent = Agent(config)
    previous: dict[int, Any] = {}

    def stop(_signum: int, _frame: FrameType | None) -> None:
        agent.request_stop()

    for signum in (int(signal.SIGTERM), int(signal.SIGINT)):
        previous[signum] = signal.signal(signum, stop)
    try:
        port = agent.start()
        if on_ready is not None:
            on_ready(port)
        agent.run()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        agent.close()
    return agent
