"""Reading an agent's /metrics like Prometheus does (text format, parsed by
prometheus_client's own parser)."""

from __future__ import annotations

import urllib.request


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Sample name and sorted labels -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        text = response.read().decode("utf-8")
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return out


def device(
    name: str, host: str, dev: str, kind: str, method: str
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The key of a device sample."""
    labels = {"host": host, "device": dev, "kind": kind, "method": method}
    return name, tuple(sorted(labels.items()))
