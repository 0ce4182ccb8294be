"""The agent's Prometheus metrics, read from the node at each scrape.

Every scrape reads the counters at that instant (a snapshot), so the energy counter a
sample carries is the energy at the sample's time, not at the last tick:

- ``greenai_device_power_watts`` (gauge): latest power of each device, W;
- ``greenai_device_energy_joules_total`` (counter): energy since the agent started, J;
  it never decreases (hardware counter wraparound and resets are handled below it);
- ``greenai_device_utilization_ratio`` (gauge): GPU utilization, 0..1;
- ``greenai_collector_up`` (gauge): 1 for each collector that opened, 0 otherwise;
- ``greenai_collector_errors_total`` (counter): failed reads per collector;
- ``greenai_device_lost`` (gauge): 1 for a device that stopped answering.

Device metrics are labelled ``host``, ``device``, ``kind`` and ``method`` (counter,
power, model). Serving engines add theirs (:mod:`greenai.agent.serving_metrics`).
prometheus_client is imported when the registry is built, not before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from greenai.agent.node import NodeMeter

if TYPE_CHECKING:
    from greenai.agent.serving_monitor import ServingMonitor

log = logging.getLogger(__name__)

ENERGY_METRIC = "greenai_device_energy_joules"
"""Base name of the energy counter (exposed with ``_total``)."""
DEVICE_LABELS = ("host", "device", "kind", "method")


class NodeMetrics:
    """A prometheus_client collector over a :class:`NodeMeter` (never raises at scrape)."""

    def __init__(self, meter: NodeMeter, host_id: str) -> None:
        self._meter = meter
        self._host = host_id

    def describe(self) -> list[Any]:
        """Nothing to describe ahead of a scrape (keeps registration free of reads)."""
        return []

    def collect(self) -> Iterator[Any]:
        """The metrics at this instant."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        power = GaugeMetricFamily(
            "greenai_device_power_watts", "Latest power of the device, W.", labels=DEVICE_LABELS
        )
        energy = CounterMetricFamily(
            ENERGY_METRIC, "Energy of the device since the agent started, J.", labels=DEVICE_LABELS
        )
        usage = GaugeMetricFamily(
            "greenai_device_utilization_ratio", "GPU utilization, 0..1.", labels=DEVICE_LABELS
        )
        try:
            self._add_devices(power, energy, usage)
        except Exception as exc:  # a scrape answers with what it has
            log.warning("reading the node for a scrape failed: %s", exc)
        yield from (power, energy, usage, *self._health())

    def _add_devices(self, power: Any, energy: Any, usage: Any) -> None:
        snap = self._meter.snapshot()
        for device in self._meter.devices:
            labels = (self._host, device.device_id, device.kind.value, device.method.value)
            found = snap.devices.get(device.device_id)
            if found is None or device.device_id in snap.lost:
                continue  # a lost device's series ends (greenai_device_lost says why)
            energy.add_metric(labels, found.energy_j)
            if found.power_w is not None:
                power.add_metric(labels, found.power_w)
            ratio = self._meter.utilization(device.device_id)
            if ratio is not None:
                usage.add_metric(labels, ratio)

    def _health(self) -> list[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        up = GaugeMetricFamily(
            "greenai_collector_up", "1 when the collector opened.", labels=("host", "collector")
        )
        for entry in self._meter.availability:
            up.add_metric((self._host, entry.name), 1.0 if entry.available else 0.0)
        errors = CounterMetricFamily(
            "greenai_collector_errors",
            "Failed reads of the collector.",
            labels=("host", "collector"),
        )
        for name, count in sorted(self._meter.errors.counts.items()):
            errors.add_metric((self._host, name), float(count))
        lost = GaugeMetricFamily(
            "greenai_device_lost", "1 when the device stopped answering.", labels=("host", "device")
        )
        try:
            for status in self._meter.status():
                lost.add_metric((self._host, status.device_id), 1.0 if status.lost else 0.0)
        except Exception as exc:  # status is optional
            log.debug("device status failed: %s", exc)
        return [up, errors, lost]


def build_registry(meter: NodeMeter, host_id: str, serving: ServingMonitor | None = None) -> Any:
    """A fresh registry holding the node's metrics (not prometheus_client's global one),
    and the serving engines' (:mod:`greenai.agent.serving_metrics`) when given."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeMetrics(meter, host_id))
    if serving is not None:
        from greenai.agent.serving_metrics import ServingMetrics

        registry.register(ServingMetrics(serving, host_id))
    return registry


class MetricsServer:
    """The HTTP endpoint (``/metrics``) on a thread of its own.

    Args:
        registry: What to serve.
        address: Listening address.
        port: TCP port (0: any free port; :attr:`port` says which).
    """

    def __init__(self, registry: Any, address: str, port: int) -> None:
        from prometheus_client import start_http_server

        self._server, self._thread = start_http_server(port, addr=address, registry=registry)

    @property
    def port(self) -> int:
        """The port listened on."""
        return int(self._server.server_address[1])

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout_s)
