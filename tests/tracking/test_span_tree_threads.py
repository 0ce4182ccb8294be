"""Generated programs of runs and windows in several threads or asyncio tasks, through the
public API.

Hypothesis writes programs: on any of three threads (or three tasks of one event loop),
open a run (``greenai.track``),
open a window on that thread's innermost run, close that thread's innermost span, or let
time pass. A driver hands each step to its thread and waits for it, so the interleaving
is the program's. The hub reads two fake GPUs at 100 W on the fake's manual clock (its
sampler thread ticks as time passes, wherever the program is). An independent model
follows the rules the README states: a run nests in the innermost run open in its own
thread or task (its first run is a root, whatever the others have open); the roots
active at the same time split each second equally; a child run and a window get their
root's share over their own interval.

Invariants: each run's parent is the model's; each run's and each window's energy is
the model's to the millijoule (a window shorter than the counters' step that read nothing
says so instead: no figure, flagged); the roots together are charged the GPUs' energy over the
time any root was open, once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import greenai
from greenai.figures.flags import WINDOW_BELOW_RESOLUTION
from greenai.tracking.accounting import COUNTER_RESOLUTION_S
from tests.fake_nvml.driver import FakeNvml
from tests.tracking.span_driver import Driver, TaskDriver

pytestmark = pytest.mark.usefixtures("manual_hub")

THREADS = ("t0", "t1", "t2")
POWER_W = 200.0  # the manual hub's two fake GPUs at 100 W each
MAX_DEPTH = 4
TOLERANCE_J = 0.002  # the counters are read in whole millijoules, once per snapshot


@dataclass(eq=False)
class Node:
    """A span the program opened: its run or window, and what the model charges it."""

    kind: str  # "run" | "window"
    thread: str
    parent: Node | None  # the run it nests in (a window's: its run)
    ctx: Any = None
    span: Any = None
    expected_j: float = 0.0

    @property
    def root(self) -> Node:
        node = self
        while node.parent is not None:
            node = node.parent
        return node


@dataclass
class Program:
    """The program's state: each thread's open spans, innermost last."""

    fake: FakeNvml
    driver: Driver | TaskDriver
    stacks: dict[str, list[Node]] = field(default_factory=lambda: {t: [] for t in THREADS})
    nodes: list[Node] = field(default_factory=list)
    roots_open_s: float = 0.0

    def on(self, thread: str, work: Callable[[], None]) -> None:
        self.driver.step(thread, work)
        assert not self.driver.errors, self.driver.errors

    def open(self, thread: str, kind: str) -> None:
        """Open a run, or a window on the thread's innermost run, on ``thread``."""
        stack = self.stacks[thread]
        runs = [n for n in stack if n.kind == "run"]
        if len(stack) >= MAX_DEPTH or (kind == "window" and not runs):
            return
        node = Node(kind, thread, runs[-1] if runs else None)
        name = f"{kind[0]}{len(self.nodes)}"

        def enter() -> None:
            parent = node.parent
            opened = greenai.track(name=name) if kind == "run" else parent.span.window(name)  # type: ignore[union-attr]
            node.ctx, node.span = opened, opened.__enter__()

        self.on(thread, enter)
        stack.append(node)
        self.nodes.append(node)

    def close(self, thread: str) -> None:
        stack = self.stacks[thread]
        if not stack:
            return
        node = stack.pop()
        self.on(thread, lambda: node.ctx.__exit__(None, None, None))

    def wait(self, dt_s: float) -> None:
        active = [n for s in self.stacks.values() for n in s]
        roots = {id(n.root) for n in active}
        for node in active:
            node.expected_j += POWER_W * dt_s / len(roots)
        if roots:
            self.roots_open_s += dt_s
        self.fake.set_time(self.fake.now() + dt_s)

    def finish(self) -> None:
        for thread in THREADS:
            while self.stacks[thread]:
                self.close(thread)


STEPS = st.lists(
    st.tuples(
        st.sampled_from(THREADS),
        st.sampled_from(["run", "run", "window", "close", "wait", "wait"]),
        st.sampled_from([0.25, 0.5, 1.0, 2.0]),
    ),
    max_size=30,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
@pytest.mark.parametrize("lanes", [Driver, TaskDriver], ids=["threads", "asyncio-tasks"])
def test_runs_in_threads_or_tasks_nest_in_their_own_and_share_each_joule_once(
    fake_nvml: FakeNvml, lanes: type[Driver | TaskDriver], steps: list[tuple[str, str, float]]
) -> None:
    driver = lanes(list(THREADS))
    program = Program(fake_nvml, driver)
    try:
        for thread, action, dt_s in steps:
            if action in ("run", "window"):
                program.open(thread, action)
            elif action == "close":
                program.close(thread)
            else:
                program.wait(dt_s)
        program.finish()
    finally:
        driver.close()
    steps_j = TOLERANCE_J * (4 * len(program.nodes) + 4)
    for node in program.nodes:
        if node.kind == "run":
            expected_parent = node.parent.span.id if node.parent is not None else None
            assert node.span.parent_run_id == expected_parent
        charged = node.span.energy_j() if node.kind == "window" else node.span.energy_j
        if charged is None:  # a window shorter than the counters' step that read nothing
            assert WINDOW_BELOW_RESOLUTION in node.span.flags
            assert node.expected_j <= POWER_W * COUNTER_RESOLUTION_S + steps_j
            continue
        assert charged == pytest.approx(node.expected_j, abs=steps_j), (node.kind, node.thread)
    roots = [n for n in program.nodes if n.kind == "run" and n.parent is None]
    charged = sum(n.span.energy_j for n in roots)
    assert charged == pytest.approx(POWER_W * program.roots_open_s, abs=steps_j)
