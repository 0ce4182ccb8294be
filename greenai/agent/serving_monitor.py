"""The agent's serving engines over its intervals: scrape, find their GPUs, join.

Rules are in :mod:`greenai.agent.serving`; this module holds the state between
intervals (each engine's counters, its GPUs, the totals since the agent started) and
never raises into the agent: an engine that cannot be read is logged and flagged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from collectors.sampler import Snapshot
from collectors.types import Device, GpuProcess, Kind
from greenai.agent.engine_processes import (
    ALL_VISIBLE,
    CONFIGURED,
    EngineGpus,
    configured_gpus,
    discover_gpus,
    listening_pid,
)
from greenai.agent.engines import ENGINES, EngineReading, parse_metrics
from greenai.agent.serve_config import ServeTarget
from greenai.agent.serving import (
    EngineState,
    Key,
    ModelInterval,
    fetch_metrics,
    split_gpu_energy,
)
from greenai.figures import flags as fl

log = logging.getLogger(__name__)

Reading = EngineReading | None
"""A scrape's result: the engine's counts, or None when it could not be read."""


@dataclass
class Totals:
    """One model's figures since the agent started.

    Attributes:
        tokens_input, tokens_output: Tokens.
        energy_j: Energy charged, J.
    """

    tokens_input: int = 0
    tokens_output: int = 0
    energy_j: float = 0.0


TotalsKey = tuple[str, str, str]
"""(engine, deployment, model)."""


class ServingMonitor:
    """Serving engines joined with the node's GPU energy, interval by interval.

    Args:
        targets: The engines to read.
        fetch: URL, timeout (s) -> the metrics text (raises OSError when unreachable).
        processes: NVML's compute processes on the node.
        find_pid: TCP port -> the pid listening on it.
        timeout_s: Longest wait for one engine's metrics, s.
    """

    def __init__(
        self,
        targets: Sequence[ServeTarget],
        *,
        fetch: Callable[[str, float], str] = fetch_metrics,
        processes: Callable[[], list[GpuProcess]] = list,
        find_pid: Callable[[int], int | None] = listening_pid,
        timeout_s: float = 5.0,
    ) -> None:
        self.engines = [EngineState(t) for t in targets]
        self._fetch = fetch
        self._processes = processes
        self._find_pid = find_pid
        self._timeout_s = timeout_s
        self._gpu_ids: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self.latest: list[ModelInterval] = []
        self.totals: dict[TotalsKey, Totals] = {}

    def bind(self, devices: Sequence[Device]) -> None:
        """Check configured GPUs against the node's devices.

        Raises:
            ConfigError: A configured GPU this node does not have.
        """
        self._gpu_ids = tuple(d.device_id for d in devices if d.kind is Kind.GPU)
        for state in self.engines:
            wanted = state.target.gpus
            if wanted is not None:
                state.gpus = EngineGpus(configured_gpus(wanted, devices), CONFIGURED)

    def scrape(self) -> list[Reading]:
        """Every engine's counts now (None for one that could not be read)."""
        found: list[Reading] = []
        for state in self.engines:
            target = state.target
            try:
                text = self._fetch(target.url, self._timeout_s)
                found.append(parse_metrics(ENGINES[target.engine], text, target.default_model))
            except Exception as exc:  # an engine down or restarting: the agent goes on
                log.warning("cannot read %s metrics at %s: %s", target.engine, target.url, exc)
                found.append(None)
        return found

    def interval(
        self,
        readings: Sequence[Reading],
        before: Snapshot | None,
        after: Snapshot,
        start_at: datetime,
        end_at: datetime,
    ) -> list[ModelInterval]:
        """Close an interval: token deltas and GPU energy per engine and model.

        Args:
            readings: :meth:`scrape`'s result at the interval's end.
            before, after: The node at its start (None: the first, a baseline) and end.
            start_at, end_at: The interval (aware UTC).
        """
        duration_s = max((end_at - start_at).total_seconds(), 0.0)
        tokens: dict[Key, tuple[int, int]] = {}
        flags: dict[int, list[str]] = {}
        for index, (state, reading) in enumerate(zip(self.engines, readings, strict=True)):
            flags[index] = self._count(state, reading, duration_s, tokens, index)
            try:
                state.gpus = self._gpus_of(state)
            except Exception as exc:  # the process table or NVML failed: keep what was known
                log.warning("cannot tell the GPUs of %s: %s", state.target.deployment, exc)
                state.gpus = state.gpus or EngineGpus(self._gpu_ids, ALL_VISIBLE)
        if before is None:
            return []
        found = self._join(tokens, flags, before, after, start_at, end_at)
        self._publish(found)
        return found

    def _gpus_of(self, state: EngineState) -> EngineGpus:
        """The engine's GPUs now (configured ones keep theirs) and its listening process."""
        port = state.target.port
        if state.gpus is not None and state.gpus.attribution == CONFIGURED:
            pid = self._find_pid(port) if port is not None else None
            return EngineGpus(state.gpus.device_ids, CONFIGURED, pid)
        return discover_gpus(port, self._gpu_ids, self._processes, find_pid=self._find_pid)

    def _count(
        self,
        state: EngineState,
        reading: Reading,
        duration_s: float,
        tokens: dict[Key, tuple[int, int]],
        index: int,
    ) -> list[str]:
        state.up = reading is not None
        if reading is None:
            for model in state.models or [state.target.default_model]:
                tokens[(index, model)] = (0, 0)
            return [fl.ENGINE_SCRAPE_FAILED]
        deltas, reset = state.counters.update(reading)
        for model in deltas:
            if model not in state.models:
                state.models.append(model)
        for model in state.models or [state.target.default_model]:
            tokens[(index, model)] = deltas.get(model, (0, 0))
        found = [fl.TOKEN_COUNTER_RESET] if reset else []
        if ENGINES[state.target.engine].at_completion and state.bias.biased(reading, duration_s):
            found.append(fl.TOKENS_AT_COMPLETION)
        return found

    def _join(
        self,
        tokens: dict[Key, tuple[int, int]],
        flags: dict[int, list[str]],
        before: Snapshot,
        after: Snapshot,
        start_at: datetime,
        end_at: datetime,
    ) -> list[ModelInterval]:
        device_j = {}
        for device_id, end in after.devices.items():
            begin = before.devices.get(device_id)
            if begin is not None and device_id not in before.lost:
                device_j[device_id] = (max(end.energy_j - begin.energy_j, 0.0), end.method.value)
        users: dict[str, list[tuple[Key, int]]] = {}
        for key, (tokens_in, tokens_out) in tokens.items():
            gpus = self.engines[key[0]].gpus
            for device_id in gpus.device_ids if gpus else ():
                users.setdefault(device_id, []).append((key, tokens_in + tokens_out))
        charges = split_gpu_energy(device_j, users)
        found = []
        for key, (tokens_in, tokens_out) in sorted(tokens.items()):
            state = self.engines[key[0]]
            gpus = state.gpus or EngineGpus((), CONFIGURED)
            extra = [fl.SERVING_GPUS_UNMATCHED] if gpus.attribution == ALL_VISIBLE else []
            found.append(
                ModelInterval(
                    state.target, key[1], start_at, end_at, tokens_in, tokens_out,
                    tuple(charges.get(key, ())), gpus.attribution, gpus.pid,
                    tuple(flags[key[0]] + extra),
                )
            )  # fmt: skip
        return found

    def _publish(self, found: list[ModelInterval]) -> None:
        with self._lock:
            self.latest = found
            for item in found:
                key = (item.target.engine, item.target.deployment, item.model)
                totals = self.totals.setdefault(key, Totals())
                totals.tokens_input += item.tokens_input
                totals.tokens_output += item.tokens_output
                totals.energy_j += item.energy_j

    def view(
        self,
    ) -> tuple[list[ModelInterval], dict[tuple[str, str, str], Totals], list[EngineState]]:
        """The latest intervals, the totals and each engine's state (for a scrape)."""
        with self._lock:
            totals = {k: Totals(v.tokens_input, v.tokens_output, v.energy_j)
                      for k, v in self.totals.items()}  # fmt: skip
            return list(self.latest), totals, list(self.engines)
