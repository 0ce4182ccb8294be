"""A job's GPU energy from the node agents' energy counters, through Prometheus.

For work that no decorator wrapped, or to check a run against the node agents: the
energy of a set of devices over a time window is the difference of their cumulative
energy counters (``greenai_device_energy_joules_total``) at the window's ends.

The raw samples around the window are read (an instant query of a range selector, so
Prometheus returns the samples as scraped) and each end's counter value is interpolated
linearly between the two samples around it. PromQL's ``increase()`` is not used: it
extrapolates towards the window's edges and is not exact enough. Counter resets (an
agent restarted) are handled as Prometheus does: a drop means the counter restarted
from zero. A window end outside the samples (the agent was not running) takes the
nearest sample and the device is marked ``partial``.

Only the standard library is used (``urllib``).
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from greenai.errors import GreenAIError

ENERGY_METRIC = "greenai_device_energy_joules_total"
DEFAULT_URL = "http://127.0.0.1:9090"
DEFAULT_MARGIN_S = 300.0
Sample = tuple[float, float]
Fetch = Callable[[str, float], bytes]


class PrometheusError(GreenAIError):
    """Prometheus could not answer (unreachable, bad URL, query refused).

    Attributes:
        url: The Prometheus base URL.
    """

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


@dataclass(frozen=True, slots=True)
class DeviceWindowEnergy:
    """One device's energy over the window.

    Attributes:
        host: The agent's host label.
        device: The device id.
        energy_j: Counter difference over the window times ``share``, J.
        share: Share of the device charged (1.0: all of it).
        samples: Raw samples read around the window.
        resets: Counter resets seen in them.
        partial: True when a window end lies outside the samples (agent not running).
    """

    host: str
    device: str
    energy_j: float
    share: float
    samples: int
    resets: int
    partial: bool


@dataclass(frozen=True, slots=True)
class WindowEnergy:
    """Energy of devices over a window, from Prometheus.

    Attributes:
        start, end: The window (aware UTC).
        devices: Per device.
        missing: (host, device) pairs asked for that Prometheus has no samples of.
    """

    start: datetime
    end: datetime
    devices: tuple[DeviceWindowEnergy, ...]
    missing: tuple[tuple[str, str], ...]

    @property
    def energy_j(self) -> float:
        """Total energy of the devices found, J."""
        return sum(d.energy_j for d in self.devices)

    @property
    def complete(self) -> bool:
        """Whether every device was found and covered the whole window."""
        return not self.missing and not any(d.partial for d in self.devices)


def corrected(samples: Sequence[Sample]) -> tuple[list[Sample], int]:
    """Samples with counter resets undone (a drop restarts from zero), and the resets."""
    out: list[Sample] = []
    offset, resets = 0.0, 0
    previous: float | None = None
    for t, value in samples:
        if previous is not None and value < previous:
            offset += previous
            resets += 1
        previous = value
        out.append((t, value + offset))
    return out, resets


def counter_at(samples: Sequence[Sample], t: float) -> tuple[float, bool]:
    """The counter's value at ``t`` (linear between the samples around it).

    Returns:
        ``(value, outside)``: outside is True when ``t`` lies before the first or after
        the last sample (the nearest one is used).

    Raises:
        ValueError: No samples.
    """
    if not samples:
        raise ValueError("no samples")
    if t <= samples[0][0]:
        return samples[0][1], t < samples[0][0]
    if t >= samples[-1][0]:
        return samples[-1][1], t > samples[-1][0]
    lo, hi = 0, len(samples) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if samples[mid][0] <= t:
            lo = mid
        else:
            hi = mid
    (t0, v0), (t1, v1) = samples[lo], samples[hi]
    return v0 + (v1 - v0) * (t - t0) / (t1 - t0), False


def window_energy(
    samples: Sequence[Sample], start_s: float, end_s: float
) -> tuple[float, int, bool]:
    """(energy, resets, partial) of a counter between two instants (epoch s)."""
    fixed, resets = corrected(sorted(samples))
    begin, outside_begin = counter_at(fixed, start_s)
    end, outside_end = counter_at(fixed, end_s)
    return max(end - begin, 0.0), resets, outside_begin or outside_end


def http_fetch(url: str, timeout_s: float) -> bytes:
    """GET ``url`` (the default fetcher)."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # http(s) only, checked
        data: bytes = response.read()
        return data


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def raw_samples(
    base_url: str,
    host: str,
    start_s: float,
    end_s: float,
    *,
    kind: str = "gpu",
    margin_s: float = DEFAULT_MARGIN_S,
    timeout_s: float = 10.0,
    fetch: Fetch = http_fetch,
) -> dict[str, list[Sample]]:
    """Raw counter samples of one host's devices around ``[start_s, end_s]``.

    Returns:
        Device id -> (epoch s, J) samples, oldest first.

    Raises:
        PrometheusError: Unreachable, not a Prometheus URL, or the query was refused.
    """
    if not base_url.startswith(("http://", "https://")):
        raise PrometheusError(f"not an http(s) URL: {base_url!r}", base_url)
    range_s = math.ceil(end_s - start_s + 2 * margin_s)
    selector = f'{ENERGY_METRIC}{{host="{_label(host)}",kind="{_label(kind)}"}}[{range_s}s]'
    query = urllib.parse.urlencode({"query": selector, "time": f"{end_s + margin_s:.3f}"})
    url = f"{base_url.rstrip('/')}/api/v1/query?{query}"
    try:
        payload = json.loads(fetch(url, timeout_s))
    except (OSError, ValueError) as exc:
        raise PrometheusError(f"cannot query Prometheus at {base_url}: {exc}", base_url) from exc
    if payload.get("status") != "success":
        raise PrometheusError(f"Prometheus refused the query: {payload.get('error')}", base_url)
    found: dict[str, list[Sample]] = {}
    for series in payload.get("data", {}).get("result", []):
        device = str(series.get("metric", {}).get("device", ""))
        values = [(float(t), float(v)) for t, v in series.get("values", [])]
        found.setdefault(device, []).extend(values)
    return {device: sorted(values) for device, values in found.items()}


def devices_energy(
    base_url: str,
    start: datetime,
    end: datetime,
    devices: Mapping[tuple[str, str], float],
    *,
    margin_s: float = DEFAULT_MARGIN_S,
    timeout_s: float = 10.0,
    fetch: Fetch = http_fetch,
) -> WindowEnergy:
    """Energy of the given GPUs over ``[start, end]`` from the agents' counters.

    Args:
        base_url: Prometheus, e.g. ``http://prometheus:9090``.
        start, end: The window, aware datetimes.
        devices: (host, device id) -> share of its energy charged (1.0: all of it).
        margin_s: How far around the window samples are read, s (more than the scrape
            interval).
        timeout_s: HTTP timeout per query, s.
        fetch: HTTP GET (tests inject one).

    Raises:
        PrometheusError: Prometheus could not answer.
    """
    start_s, end_s = start.timestamp(), end.timestamp()
    found: list[DeviceWindowEnergy] = []
    missing: list[tuple[str, str]] = []
    for host in sorted({h for h, _ in devices}):
        samples = raw_samples(
            base_url, host, start_s, end_s, margin_s=margin_s, timeout_s=timeout_s, fetch=fetch
        )
        for (h, device), share in sorted(devices.items()):
            if h != host:
                continue
            series = samples.get(device)
            if not series:
                missing.append((host, device))
                continue
            energy_j, resets, partial = window_energy(series, start_s, end_s)
            found.append(
                DeviceWindowEnergy(
                    host, device, energy_j * share, share, len(series), resets, partial
                )
            )
    return WindowEnergy(start, end, tuple(found), tuple(missing))


Devices = dict[tuple[str, str], float]


def run_window(record: Mapping[str, Any]) -> tuple[datetime, datetime, Devices]:
    """A ledger run's window and charged GPUs ((host, device) -> share).

    The window ends at ``ended_at``, else at the last heartbeat (a running run).

    Raises:
        ValueError: The run has no end yet and no heartbeat.
    """
    run = record["run"]
    end = run.get("ended_at") or run.get("heartbeat_at")
    if end is None:
        raise ValueError(f"run {run['id']} has neither ended nor sent a heartbeat")
    devices: Devices = {}
    for row in record.get("devices") or ():
        share = float(row.get("share") if row.get("share") is not None else 1.0)
        if row.get("kind") == "gpu" and share > 0.0:
            host = str(row.get("host_id") or run.get("host_id") or "")
            devices[(host, str(row["device_id"]))] = min(share, 1.0)
    return run["started_at"], end, devices


def run_gpu_energy(base_url: str, record: Mapping[str, Any], **options: Any) -> WindowEnergy:
    """A ledger run's GPU energy according to Prometheus (its devices, its window, shares)."""
    start, end, devices = run_window(record)
    return devices_energy(base_url, start, end, devices, **options)


def compare_with_ledger(
    base_url: str,
    record: Mapping[str, Any],
    parts: Sequence[Mapping[str, Any]] = (),
    **options: Any,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A ledger run's GPU energy from Prometheus next to the ledger's, per device.

    A multi-rank job is read part by part (``parts``: its ranks' records), so each
    rank's GPUs are read over that rank's own window, as the ledger charged them.

    Returns:
        ``(total, rows)``: the totals (``prometheus_gpu_energy_j``,
        ``ledger_gpu_energy_j``, ``complete``, ``missing``) and one row per device.

    Raises:
        PrometheusError: Prometheus could not answer.
        ValueError: A run with neither an end nor a heartbeat.
    """
    rows: list[dict[str, Any]] = []
    missing: list[str] = []
    for part in parts or [record]:
        found = run_gpu_energy(base_url, part, **options)
        host = str(part["run"].get("host_id") or "")
        ledger_j = {
            (str(d.get("host_id") or host), str(d["device_id"])): d["energy_j"]
            for d in part.get("devices") or ()
            if d.get("kind") == "gpu"
        }
        missing += [f"{h}/{d}" for h, d in found.missing]
        rows += [
            {
                "run_id": part["run"]["id"],
                "host": d.host,
                "device": d.device,
                "share": d.share,
                "prometheus_energy_j": d.energy_j,
                "ledger_energy_j": ledger_j.get((d.host, d.device)),
                "samples": d.samples,
                "resets": d.resets,
                "partial": d.partial,
            }
            for d in found.devices
        ]
    total = {
        "id": record["run"]["id"],
        "prometheus_gpu_energy_j": sum(r["prometheus_energy_j"] for r in rows),
        "ledger_gpu_energy_j": record["run"].get("energy_gpu_j"),
        "complete": not missing and not any(r["partial"] for r in rows),
        "missing": missing,
    }
    return total, rows
