"""Over any sequence of scrapes (engines restarting, scrapes failing), the intervals'
tokens add up to the tokens served and their energy to the GPUs' energy.

The engines need a GPU, so their metrics text comes from the stand-in's formatters
(:mod:`tests.agent.engine_standin`), handed to the monitor without HTTP; the node's
snapshots are built here with known energy.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.sampler import DeviceEnergy, Snapshot
from collectors.types import Device, Kind, Method
from greenai.agent.serve_config import parse_serve
from greenai.agent.serving_monitor import ServingMonitor
from greenai.figures import flags as fl
from tests.agent.engine_standin import Series, counters_text

TARGETS = [
    parse_serve("vllm=http://127.0.0.1:8001/metrics,gpus=0,1,deployment=a"),
    parse_serve("sglang=http://127.0.0.1:8002/metrics,gpus=1,deployment=b"),
]
SERIES = {  # per engine: (model, engine label) of each series
    0: [("m1", "0"), ("m1", "1"), ("m2", "0")],
    1: [("m3", None)],
}
GPUS = ("gpu:0", "gpu:1", "gpu:2")  # gpu:2 serves nothing
RESTART_FLOOR = 7  # a restart is seen when each summed counter drops (2 x 3 new < 7)

actions = st.sampled_from(["serve", "serve", "restart", "fail"])
counts = st.tuples(st.integers(0, 3), st.integers(0, 3))
steps = st.lists(
    st.tuples(
        st.tuples(actions, actions),
        st.lists(counts, min_size=4, max_size=4),
        st.tuples(*(st.floats(0, 500, allow_nan=False) for _ in GPUS)),
    ),
    min_size=1,
    max_size=12,
)


class Engines:
    """The two engines' counters and what they served, as a reader would know it."""

    def __init__(self) -> None:
        self.values = {e: {s: [0, 0] for s in SERIES[e]} for e in SERIES}
        self.unread = {e: {m: 0 for m, _ in SERIES[e]} for e in SERIES}
        self.expected = {(e, m): 0 for e in SERIES for m, _ in SERIES[e]}
        self.based = {e: False for e in SERIES}
        self.failing = {e: False for e in SERIES}

    def summed(self, engine: int) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for (model, _label), pair in self.values[engine].items():
            total = out.setdefault(model, [0, 0])
            total[0] += pair[0]
            total[1] += pair[1]
        return out

    def act(self, engine: int, action: str, served: list[tuple[int, int]]) -> None:
        sums = self.summed(engine)
        restart = action == "restart" and not self.failing[engine] and all(
            v == 0 or v >= RESTART_FLOOR for pair in sums.values() for v in pair)  # fmt: skip
        for (key, pair), (tokens_in, tokens_out) in zip(
            self.values[engine].items(), served, strict=False
        ):
            if restart:
                pair[0] = pair[1] = 0
            pair[0] += tokens_in
            pair[1] += tokens_out
            self.unread[engine][key[0]] += tokens_in + tokens_out
        self.failing[engine] = action == "fail"

    def text(self, engine: int) -> str:
        prefix = TARGETS[engine].engine
        return counters_text(prefix, [
            Series(m, p[0], p[1], (("engine", label),) if label else ())
            for (m, label), p in self.values[engine].items()
        ])  # fmt: skip

    def read(self, engine: int) -> None:
        """The monitor read the engine: what it had not read is now counted."""
        if self.failing[engine]:
            return
        for model, tokens in self.unread[engine].items():
            if self.based[engine]:
                self.expected[(engine, model)] += tokens
            self.unread[engine][model] = 0
        self.based[engine] = True


def snapshot(t_s: float, energy_j: list[float]) -> Snapshot:
    return Snapshot(t_s, {d: DeviceEnergy(d, Kind.GPU, Method.COUNTER, e, None)
                          for d, e in zip(GPUS, energy_j, strict=True)})  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(steps)
def test_interval_tokens_and_energy_add_up(plan: list[Any]) -> None:
    from datetime import UTC, datetime, timedelta

    engines = Engines()
    by_url = {t.url: i for i, t in enumerate(TARGETS)}

    def fetch(url: str, _timeout_s: float) -> str:
        index = by_url[url]
        if engines.failing[index]:
            raise OSError("connection refused")
        return engines.text(index)

    monitor = ServingMonitor(TARGETS, fetch=fetch, find_pid=lambda _port: None)
    monitor.bind([Device(d, Kind.GPU, "nvidia", "H100", Method.COUNTER) for d in GPUS])
    energy = [0.0, 0.0, 0.0]
    t0 = datetime(2026, 7, 1, tzinfo=UTC)
    before = snapshot(0.0, energy)
    monitor.interval(monitor.scrape(), None, before, t0, t0)
    for engine in SERIES:
        engines.read(engine)
    used_j = 0.0
    tokens: dict[tuple[int, str], int] = {}
    charged_j = 0.0
    for i, (acts, served, added_j) in enumerate(plan, start=1):
        for engine, action in enumerate(acts):
            engines.act(engine, action, served[:3] if engine == 0 else served[3:])
        energy = [e + a for e, a in zip(energy, added_j, strict=True)]
        used_j += added_j[0] + added_j[1]
        after = snapshot(float(i), energy)
        found = monitor.interval(
            monitor.scrape(),
            before,
            after,
            t0 + timedelta(seconds=i - 1),
            t0 + timedelta(seconds=i),
        )
        before = after
        for engine in SERIES:
            engines.read(engine)
        for item in found:
            key = (TARGETS.index(item.target), item.model)
            tokens[key] = tokens.get(key, 0) + item.tokens_input + item.tokens_output
            charged_j += item.energy_j
            assert all(0.0 <= c.share <= 1.0 + 1e-12 and c.energy_j >= 0.0 for c in item.charges)
            if acts[key[0]] == "fail":
                assert fl.ENGINE_SCRAPE_FAILED in item.flags
    assert {k: v for k, v in tokens.items() if v} == {
        k: v for k, v in engines.expected.items() if v}  # fmt: skip
    assert math.isclose(charged_j, used_j, rel_tol=1e-9, abs_tol=1e-6)
