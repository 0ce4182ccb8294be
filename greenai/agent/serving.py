"""Live energy per token of serving engines: token deltas joined with GPU energy.

At each of the agent's intervals the engines are scraped, then the node is read, so
both cover the same interval. Per engine and model:

- **Tokens** are the deltas of the engine's cumulative counters since the previous
  scrape. A counter lower than before (the engine restarted) restarted from zero: the
  delta is its new value, and the interval is flagged ``token_counter_reset`` (as NVML's
  energy counter is treated, :mod:`collectors.nvml.counter`; the tokens the old process
  served after the previous scrape are lost). A model first seen after the first scrape
  counts its whole value. A failed scrape counts no tokens (flagged
  ``engine_scrape_failed``); the next one counts them, the counters being cumulative.
- **Energy** is each of the engine's GPUs' counter delta over the interval (the node's
  own snapshots). A GPU used by several models (of one engine or of several) is split
  by their tokens in the interval, input and output together (rule ``serving_tokens``);
  when none had tokens, equally (``equal_split``); a GPU of one model is its alone
  (``exclusive``). Each part is the step between cumulative bounds whose last is the
  GPU's energy itself, so no part is negative and the parts add up to the GPU's energy.
- **Bias** (TGI): its tokens are counted when a request completes, so an interval
  shorter than :data:`BIAS_REQUEST_DURATIONS` mean request durations (or one where no
  request completed) is flagged ``tokens_at_completion``.
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from greenai.agent.engine_processes import EngineGpus
from greenai.agent.engines import EngineReading
from greenai.agent.serve_config import ServeTarget

log = logging.getLogger(__name__)

EXCLUSIVE = "exclusive"  # greenai.tracking.spans.EXCLUSIVE
EQUAL_SPLIT = "equal_split"  # greenai.tracking.spans.EQUAL_SPLIT
TOKEN_SPLIT = "serving_tokens"
"""Share rule of a GPU split between served models by their tokens."""
BIAS_REQUEST_DURATIONS = 3.0
"""An interval shorter than this many mean request durations is biased (TGI)."""

Key = tuple[int, str]
"""(index of the engine in the configuration, model)."""


@dataclass(frozen=True)
class GpuCharge:
    """A GPU's energy over one interval charged to one model.

    Attributes:
        device_id: The GPU.
        method: How its energy was obtained (counter, power).
        energy_j: Energy charged, J.
        device_energy_j: The GPU's whole energy over the interval, J.
        share: ``energy_j / device_energy_j`` (1.0 for a GPU without energy).
        rule: ``exclusive``, ``serving_tokens`` or ``equal_split``.
    """

    device_id: str
    method: str
    energy_j: float
    device_energy_j: float
    share: float
    rule: str


@dataclass(frozen=True)
class ModelInterval:
    """One model of one engine over one interval.

    Attributes:
        target: The engine's configuration.
        model: The model.
        start_at, end_at: The interval (aware UTC).
        tokens_input, tokens_output: Tokens in the interval.
        charges: Its GPUs' energy charged to it.
        attribution: How the GPUs were found (configured, discovered, all-visible).
        pid: The engine's listening process, if known.
        flags: Flags of the interval.
    """

    target: ServeTarget
    model: str
    start_at: datetime
    end_at: datetime
    tokens_input: int
    tokens_output: int
    charges: tuple[GpuCharge, ...]
    attribution: str
    pid: int | None = None
    flags: tuple[str, ...] = ()

    @property
    def energy_j(self) -> float:
        """Energy charged over the interval, J."""
        return sum(c.energy_j for c in self.charges)

    @property
    def duration_s(self) -> float:
        """Length of the interval, s."""
        return max((self.end_at - self.start_at).total_seconds(), 0.0)


@dataclass
class TokenCounters:
    """One engine's cumulative counts turned into deltas (resets handled)."""

    last: dict[str, tuple[float, float]] | None = None

    def update(self, reading: EngineReading) -> tuple[dict[str, tuple[int, int]], bool]:
        """Deltas per model since the previous reading, and whether a counter reset.

        The first reading is the baseline: every model at zero.
        """
        if self.last is None:
            self.last = dict(reading.tokens)
            return {model: (0, 0) for model in reading.tokens}, False
        deltas: dict[str, tuple[int, int]] = {}
        reset = False
        for model, now in reading.tokens.items():
            before = self.last.get(model, (0.0, 0.0))
            pair = []
            for new, old in zip(now, before, strict=True):
                reset |= new < old
                pair.append(round(new if new < old else new - old))
            deltas[model] = (pair[0], pair[1])
        self.last.update(reading.tokens)
        return deltas, reset


@dataclass
class BiasCheck:
    """Whether an interval is long enough for counts made at request completion."""

    last: tuple[float, float] | None = None

    def biased(self, reading: EngineReading, duration_s: float) -> bool:
        """Whether the interval ending at ``reading`` is biased (see the module)."""
        if reading.request_duration_s is None or reading.requests is None:
            return True
        now = (reading.request_duration_s, reading.requests)
        before, self.last = self.last, now
        if before is None:
            return True
        spent_s, done = (n if n < b else n - b for n, b in zip(now, before, strict=True))
        if done <= 0:
            return True
        return duration_s < BIAS_REQUEST_DURATIONS * spent_s / done


def split_gpu_energy(
    device_j: Mapping[str, tuple[float, str]],
    users: Mapping[str, Sequence[tuple[Key, int]]],
) -> dict[Key, list[GpuCharge]]:
    """Each GPU's energy split between the models using it (the rule in the module).

    Args:
        device_j: GPU -> (energy over the interval, J; method).
        users: GPU -> (model key, tokens in the interval) of each model using it.

    Returns:
        Model key -> its charges.
    """
    out: dict[Key, list[GpuCharge]] = {}
    for device_id, keyed in sorted(users.items()):
        if device_id not in device_j or not keyed:
            continue
        energy_j, method = device_j[device_id]
        total = sum(t for _, t in keyed)
        rule = EXCLUSIVE if len(keyed) == 1 else TOKEN_SPLIT if total > 0 else EQUAL_SPLIT
        weights = [t for _, t in keyed] if total > 0 else [1] * len(keyed)
        parts_j = split_by_weight(energy_j, weights)
        for (key, _tokens), weight, part_j in zip(keyed, weights, parts_j, strict=True):
            share = part_j / energy_j if energy_j > 0 else weight / sum(weights)
            out.setdefault(key, []).append(
                GpuCharge(device_id, method, part_j, energy_j, share, rule)
            )
    return out


def split_by_weight(energy_j: float, weights: Sequence[int]) -> list[float]:
    """``energy_j`` in parts proportional to ``weights`` (not all zero), each at least
    zero and together ``energy_j``: each part is the step between cumulative bounds, the
    last bound being ``energy_j`` itself, so rounding never makes a part negative."""
    total = sum(weights)
    parts: list[float] = []
    cumulative, bound_j = 0, 0.0
    for weight in weights:
        cumulative += weight
        upper_j = energy_j
        if cumulative < total:
            upper_j = min(max(energy_j * cumulative / total, bound_j), energy_j)
        parts.append(upper_j - bound_j)
        bound_j = upper_j
    return parts


def fetch_metrics(url: str, timeout_s: float) -> str:
    """The text at ``url`` (an engine's /metrics).

    Raises:
        OSError: Unreachable, refused, or an HTTP error.
    """
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return str(response.read().decode("utf-8", errors="replace"))


@dataclass
class EngineState:
    """What the monitor knows of one engine between intervals."""

    target: ServeTarget
    counters: TokenCounters = field(default_factory=TokenCounters)
    bias: BiasCheck = field(default_factory=BiasCheck)
    gpus: EngineGpus | None = None
    models: list[str] = field(default_factory=list)
    up: bool = False
