"""Prometheus metrics of the serving engines, on the agent's endpoint.

Labelled ``host``, ``engine``, ``model`` and ``deployment``; the figures of the latest
interval are gauges (a gauge without tokens in the interval has no sample), the totals
since the agent started are counters:

- ``greenai_serving_j_per_token``: energy over input and output tokens, J/token;
- ``greenai_serving_j_per_output_token``: energy over output tokens, J/token;
- ``greenai_serving_tokens_per_kwh``: output tokens per kWh;
- ``greenai_serving_interval_biased``: 1 when the interval's tokens are counted at
  request completion and it was too short for them (TGI), else 0;
- ``greenai_serving_tokens_total`` (label ``direction``: input, output) and
  ``greenai_serving_energy_joules_total``: since the agent started;
- ``greenai_serving_up`` (host, engine, deployment): 1 when the last scrape worked;
- ``greenai_serving_gpu_info`` (host, engine, deployment, device, attribution): 1 for
  each GPU charged to the engine, with how it was found.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from greenai.agent.serving_monitor import ServingMonitor
from greenai.figures import flags as fl
from greenai.figures.definitions import j_per_token, stored, tokens_per_kwh

log = logging.getLogger(__name__)

LABELS = ("host", "engine", "model", "deployment")


class ServingMetrics:
    """A prometheus_client collector over a :class:`ServingMonitor` (never raises)."""

    def __init__(self, monitor: ServingMonitor, host_id: str) -> None:
        self._monitor = monitor
        self._host = host_id

    def describe(self) -> list[Any]:
        """Nothing to describe ahead of a scrape."""
        return []

    def collect(self) -> Iterator[Any]:
        """The serving metrics now."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        def gauge(name: str, text: str, labels: tuple[str, ...] = LABELS) -> Any:
            return GaugeMetricFamily(name, text, labels=labels)

        per_token = gauge("greenai_serving_j_per_token", "Energy per input and output token "
                          "over the latest interval, J/token.")  # fmt: skip
        per_output = gauge(
            "greenai_serving_j_per_output_token",
            "Energy per output token over the latest interval, J/token.",
        )
        per_kwh = gauge("greenai_serving_tokens_per_kwh",
                        "Output tokens per kWh over the latest interval.")  # fmt: skip
        biased = gauge("greenai_serving_interval_biased", "1 when the latest interval is "
                       "shorter than a few request durations of an engine counting tokens "
                       "at completion.")  # fmt: skip
        tokens = CounterMetricFamily("greenai_serving_tokens", "Tokens served since the agent "
                                     "started.", labels=(*LABELS, "direction"))  # fmt: skip
        energy = CounterMetricFamily(
            "greenai_serving_energy_joules",
            "GPU energy charged to the model since the agent started, J.",
            labels=LABELS,
        )
        up = gauge("greenai_serving_up", "1 when the engine's metrics were read at the latest "
                   "interval.", ("host", "engine", "deployment"))  # fmt: skip
        gpus = gauge(
            "greenai_serving_gpu_info",
            "1 for each GPU charged to the engine.",
            ("host", "engine", "deployment", "device", "attribution"),
        )
        try:
            latest, totals, engines = self._monitor.view()
            for item in latest:
                labels = (self._host, item.target.engine, item.model, item.target.deployment)
                energy_j = item.energy_j
                both = item.tokens_input + item.tokens_output
                for family, value in (
                    (per_token, stored(j_per_token(energy_j, both))),
                    (per_output, stored(j_per_token(energy_j, item.tokens_output))),
                    (per_kwh, stored(tokens_per_kwh(item.tokens_output, energy_j))),
                ):
                    if value is not None:
                        family.add_metric(labels, value)
                biased.add_metric(labels, float(fl.TOKENS_AT_COMPLETION in item.flags))
            for (engine, deployment, model), total in sorted(totals.items()):
                labels = (self._host, engine, model, deployment)
                tokens.add_metric((*labels, "input"), float(total.tokens_input))
                tokens.add_metric((*labels, "output"), float(total.tokens_output))
                energy.add_metric(labels, total.energy_j)
            for state in engines:
                target = state.target
                up.add_metric((self._host, target.engine, target.deployment), float(state.up))
                for device_id in state.gpus.device_ids if state.gpus else ():
                    row = (self._host, target.engine, target.deployment, device_id,
                           state.gpus.attribution if state.gpus else "")  # fmt: skip
                    gpus.add_metric(row, 1.0)
        except Exception as exc:  # a scrape answers with what it has
            log.warning("serving metrics failed: %s", exc)
        yield from (per_token, per_output, per_kwh, biased, tokens, energy, up, gpus)
