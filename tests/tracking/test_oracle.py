"""The accounting oracle: generated programs of spans against an independent model.

Hypothesis writes programs of span openings and closings (roots that overlap, children
and windows to depth 4, spans that outlive their parent), time steps, power changes,
series ticks, transient NVML errors and recoveries, counter resets and lost GPUs, on three
whole GPUs or on a MIG tenant (2 of GPU 0's 7 slices, the other GPUs hidden). Each
runs through the real hub, the real pynvml and the fake NVML library on its manual
clock; the sampler's own thread is held asleep, so ticks happen exactly where the
program puts them. An independent model integrates the piecewise-constant power over
the same intervals with the same rule: the topmost active spans share each interval
equally (of the tenant's slices of a MIG GPU), descendants get their root's share.

Invariants, for every device: nothing is negative; the roots' energies never add up
to more than the device's energy while any span was active, and to exactly that when
nothing failed; a span whose figure is not flagged (bridged, lost, counter reset,
collector errors) equals the model's to the millijoule; a descendant never exceeds the
span it belongs to; a MIG tenant's figures are labelled ``mig_slices``.

Profiles: ``ci`` (about 500 examples, the default) and ``deep`` (thousands, run by
``make bench``): ``ORACLE_PROFILE=deep pytest tests/tracking/test_oracle.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from collectors.discover import Discovery
from collectors.nvml import NvmlCollector
from greenai.tracking.hub import Hub, HubKey
from greenai.tracking.record import counts_flags
from greenai.tracking.spans import Span
from tests.fake_nvml.driver import FakeNvml
from tests.tracking.manual import HeldClock

_CHECKS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
PROFILES = {
    "ci": settings(
        max_examples=500, stateful_step_count=30, deadline=None, suppress_health_check=_CHECKS
    ),
    "deep": settings(
        max_examples=5000, stateful_step_count=60, deadline=None, suppress_health_check=_CHECKS
    ),
}
"""The oracle's own profiles (``ORACLE_PROFILE``), leaving other tests' alone. The variable
has no ``GREENAI_`` prefix: the tests' isolation clears those from every test's environment."""

GPUS = 3
MAX_DEPTH = 4
TOLERANCE_J = 0.002  # the counter is read in whole millijoules, once per snapshot
UNKNOWN = 999  # NVML_ERROR_UNKNOWN: transient
MIG_UUID = "MIG-7b1e0c52-3f4a-5d6e-8f90-a1b2c3d4e5f6"
MIG_SLICES = (2, 7)  # the tenant's GPU instance: 2 of GPU 0's 7 slices


@dataclass(frozen=True)
class Devices:
    """What the program's process sees: the visible GPUs and its fraction of each."""

    fraction: tuple[float, ...]  # per GPU of the fake; 0 for a hidden one
    environ: dict[str, str]
    mig: bool


WHOLE_GPUS = Devices((1.0,) * GPUS, {}, mig=False)
MIG_TENANT = Devices(
    (MIG_SLICES[0] / MIG_SLICES[1], 0.0, 0.0), {"CUDA_VISIBLE_DEVICES": MIG_UUID}, mig=True
)


@dataclass(eq=False)
class Model:
    """What the program should charge: the spans' parents and their exact energy."""

    parent: dict[int, int | None] = field(default_factory=dict)
    active: list[int] = field(default_factory=list)
    energy: dict[int, list[float]] = field(default_factory=dict)
    total: list[float] = field(default_factory=lambda: [0.0] * GPUS)
    outlived: set[tuple[int, int]] = field(default_factory=set)  # (span, ancestor)
    excused: set[tuple[int, int]] = field(default_factory=set)  # (span, gpu)
    settled: dict[int, list[float]] = field(default_factory=dict)
    settled_total: list[float] = field(default_factory=lambda: [0.0] * GPUS)
    ever: list[float] = field(default_factory=lambda: [0.0] * GPUS)  # active or not
    fraction: tuple[float, ...] = (1.0,) * GPUS  # the process's part of each GPU

    def snapshot(self) -> None:
        """The hub charged up to now: what it must hold from here on."""
        self.settled = {span: list(e) for span, e in self.energy.items()}
        self.settled_total = list(self.total)

    def ancestors(self, span: int) -> Iterator[int]:
        node = self.parent[span]
        while node is not None:
            yield node
            node = self.parent[node]

    def open(self, span: int, parent: int | None) -> None:
        self.parent[span] = parent
        self.energy[span] = [0.0] * GPUS
        self.outlived |= {(span, a) for a in self.ancestors(span) if a not in self.active}
        self.active.append(span)

    def close(self, span: int) -> None:
        self.active.remove(span)
        self.outlived |= {(o, span) for o in self.active if span in self.ancestors(o)}

    def counter_reset(self, gpu: int) -> None:
        """A reset loses what its segment used before it, and two resets between reads
        cannot be told from none: the spans active now are excused for this GPU."""
        self.excused |= {(span, gpu) for span in self.active}

    def root(self, span: int) -> int:
        root, node = span, self.parent[span]
        while node is not None:
            if node in self.active:
                root = node
            node = self.parent[node]
        return root

    def advance(self, dt_s: float, power_w: list[float]) -> None:
        for gpu in range(GPUS):
            self.ever[gpu] += power_w[gpu] * dt_s * self.fraction[gpu]
        if not self.active:
            return
        roots = {self.root(s) for s in self.active}
        for gpu in range(GPUS):
            delta = power_w[gpu] * dt_s * self.fraction[gpu]
            self.total[gpu] += delta
            for span in self.active:
                self.energy[span][gpu] += delta / len(roots)


class Program(RuleBasedStateMachine):
    """One generated program, run against the hub and the model side by side."""

    fake: FakeNvml
    devices: Devices = WHOLE_GPUS

    def __init__(self) -> None:
        super().__init__()
        self.fake.reset()
        self.fake.set_count(GPUS)
        self.fake.set_time(0.0)
        for gpu in range(GPUS):  # counters since driver load: a restart always goes down
            self.fake.shift_counter(gpu, 1e9)
        if self.devices.mig:
            self.fake.set_mig_mode(0, 1)
            self.fake.set_gpu_slices(0, MIG_SLICES[1])
            self.fake.add_mig(0, MIG_UUID, 1, 0, slices=MIG_SLICES[0])
        self.clock = HeldClock(self.fake)
        collector = NvmlCollector.open(clock=self.fake.now, environ=self.devices.environ)
        key = HubKey("process", None, None, series_hz=1.0, power_hz=10.0)
        self.hub = Hub(key, Discovery([collector], []), clock=self.clock)
        self.model = Model(fraction=self.devices.fraction)
        self.spans: list[Span] = []
        self.power_w = [100.0] * GPUS
        self.t = 0.0
        self.troubled: set[int] = set()  # GPUs that erred, reset or were lost

    def teardown(self) -> None:
        for span in reversed([s for s in self.spans if s.active]):
            self.hub.end(span)
        self.clock.released.set()
        self.hub.sampler.close()

    @initialize()
    def first_root(self) -> None:
        self._open(None)

    def _open(self, parent: int | None) -> None:
        span = Span(
            name=f"s{len(self.spans)}", parent=self.spans[parent] if parent is not None else None
        )
        index = len(self.spans)
        self.spans.append(span)
        self.hub.begin(span)
        self.model.snapshot()
        self.model.open(index, parent)

    def _depth(self, index: int) -> int:
        depth, node = 1, self.model.parent[index]
        while node is not None:
            depth, node = depth + 1, self.model.parent[node]
        return depth

    @rule()
    def open_root(self) -> None:
        self._open(None)

    @precondition(lambda self: bool(self.model.active))
    @rule(data=st.data())
    def open_child(self, data: st.DataObject) -> None:
        parent = data.draw(st.sampled_from(self.model.active))
        if self._depth(parent) < MAX_DEPTH:
            self._open(parent)

    @precondition(lambda self: bool(self.model.active))
    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        index = data.draw(st.sampled_from(self.model.active))
        self.hub.end(self.spans[index])
        self.model.snapshot()
        self.model.close(index)

    @rule(dt_s=st.sampled_from([0.05, 0.25, 0.5, 1.0, 2.5]))
    def wait(self, dt_s: float) -> None:
        self.model.advance(dt_s, self.power_w)
        self.t += dt_s
        self.fake.set_time(self.t)

    @rule(gpu=st.integers(0, GPUS - 1), power_w=st.sampled_from([0.0, 50.0, 250.0, 700.0]))
    def set_power(self, gpu: int, power_w: float) -> None:
        self.fake.set_constant(gpu, power_w)
        self.power_w[gpu] = power_w

    @rule()
    def tick(self) -> None:
        sampler = self.hub.sampler
        sampler.run_due(sampler.next_deadline_s())  # one series tick, on this thread
        self.model.snapshot()

    @rule(gpu=st.integers(0, GPUS - 1), failing=st.booleans())
    def transient_error(self, gpu: int, failing: bool) -> None:
        self.fake.set_error(gpu, UNKNOWN if failing else 0)
        if failing:
            self.troubled.add(gpu)

    @rule(gpu=st.integers(0, GPUS - 1))
    def counter_reset(self, gpu: int) -> None:
        self.fake.reset_counter(gpu)
        self.model.counter_reset(gpu)
        self.troubled.add(gpu)

    @rule(gpu=st.integers(0, GPUS - 1))
    def lose(self, gpu: int) -> None:
        self.fake.set_lost(gpu, True)
        self.troubled.add(gpu)

    # -- invariants ------------------------------------------------------------------

    def _charged(self, index: int, gpu: int) -> float:
        account = self.spans[index].accounts.get(f"gpu:{gpu}")
        return account.energy_j if account is not None else 0.0

    def _flagged(self, index: int, gpu: int) -> bool:
        span = self.spans[index]
        device = f"gpu:{gpu}"
        flags = [*span.flags, *counts_flags(span, self.hub.sampler)]
        return any(f.endswith(device) or f.startswith(f"collector_errors:{device}=") for f in flags)

    @invariant()
    def nothing_is_negative(self) -> None:
        for span in self.spans:
            for account in span.accounts.values():
                assert account.energy_j >= -1e-9 and account.device_j >= -1e-9
                assert 0.0 <= account.share <= 1.0 + 1e-9

    @invariant()
    def roots_share_each_joule_once(self) -> None:
        roots = [i for i in range(len(self.spans)) if self.model.parent[i] is None]
        slack = TOLERANCE_J * (4 * len(self.spans) + 4)
        for gpu in range(GPUS):
            charged = sum(self._charged(i, gpu) for i in roots)
            total = self.model.settled_total[gpu]
            if gpu in self.troubled:
                # A bridged interval is spread over its segments by time, an estimate:
                # never more than the device used, counted once.
                total = self.model.ever[gpu]
            if not self.model.outlived:  # the topmost spans are the only roots
                assert charged <= total + slack
                if gpu not in self.troubled:
                    assert charged == pytest.approx(total, abs=slack)
            for index in range(len(self.spans)):
                assert self._charged(index, gpu) <= total + slack

    @invariant()
    def unflagged_figures_are_exact(self) -> None:
        steps = len(self.spans) * 4 + 4
        for index in range(len(self.spans)):
            for gpu in range(GPUS):
                if self._flagged(index, gpu) or (index, gpu) in self.model.excused:
                    continue
                expected = self.model.settled.get(index, [0.0] * GPUS)[gpu]
                assert self._charged(index, gpu) == pytest.approx(
                    expected, abs=TOLERANCE_J * steps
                ), f"span {index} gpu {gpu}"

    @invariant()
    def a_mig_tenants_figures_say_so(self) -> None:
        if not self.devices.mig:
            return
        for span in self.spans:
            assert set(span.accounts) <= {"gpu:0"}  # the hidden GPUs are nobody's here
            account = span.accounts.get("gpu:0")
            if account is not None and account.energy_j > 0:
                assert "mig_slices" in account.rule

    @invariant()
    def descendants_never_exceed_their_ancestors(self) -> None:
        for index in range(len(self.spans)):
            for ancestor in self.model.ancestors(index):
                if (index, ancestor) in self.model.outlived:
                    continue  # not inside it all along: charged as a root part of the time
                for gpu in range(GPUS):
                    assert self._charged(index, gpu) <= self._charged(ancestor, gpu) + 1e-6


@pytest.fixture(params=[WHOLE_GPUS, MIG_TENANT], ids=["whole-gpus", "mig-tenant"])
def program(fake_nvml: FakeNvml, request: pytest.FixtureRequest) -> Iterator[type[Program]]:
    Program.fake = fake_nvml
    Program.devices = request.param
    yield Program
    fake_nvml.reset()


def test_every_generated_program_charges_each_joule_once(program: type[Program]) -> None:
    profile = PROFILES[os.environ.get("ORACLE_PROFILE", "ci")]
    run_state_machine_as_test(program, settings=profile)
