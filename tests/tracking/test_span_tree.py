"""The span tree through the public API: nesting to any depth, concurrent roots in
threads and asyncio tasks, explicit parents, on fake GPUs whose exact energy is known."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

import greenai
from greenai.tracking.hub import Hub
from tests.fake_nvml.driver import FakeNvml
from tests.tracking.helpers import stored
from tests.tracking.manual import gpu_j
from tests.tracking.span_driver import Driver

pytestmark = pytest.mark.usefixtures("manual_hub")


def test_parent_child_window_each_get_their_own_interval(fake_nvml: FakeNvml) -> None:
    with greenai.track(name="parent") as parent:
        fake_nvml.set_time(1.0)
        with greenai.track(name="child") as child:
            fake_nvml.set_time(2.0)
            with child.window("decode") as window:
                fake_nvml.set_time(3.0)
            fake_nvml.set_time(4.0)
        fake_nvml.set_time(6.0)
    assert gpu_j(parent) == pytest.approx(600.0)  # 6 s at 100 W
    assert gpu_j(child) == pytest.approx(300.0)
    assert window.energy_j() == pytest.approx(200.0)  # two GPUs, 1 s
    assert child.parent_run_id == parent.id
    assert "overlapping_root_runs" not in parent.to_dict()["flags"]


def test_three_nested_runs_and_nested_windows(fake_nvml: FakeNvml) -> None:
    with greenai.track() as a:
        fake_nvml.set_time(1.0)
        with greenai.track() as b:
            fake_nvml.set_time(2.0)
            with greenai.track() as c:
                with c.window("outer") as outer:
                    fake_nvml.set_time(3.0)
                    with c.window("inner") as inner:
                        fake_nvml.set_time(3.5)
                fake_nvml.set_time(4.0)
            fake_nvml.set_time(5.0)
        fake_nvml.set_time(6.0)
    assert [gpu_j(r) for r in (a, b, c)] == pytest.approx([600.0, 400.0, 200.0])
    assert outer.energy_j() == pytest.approx(300.0)
    assert inner.energy_j() == pytest.approx(100.0)
    assert (b.parent_run_id, c.parent_run_id) == (a.id, b.id)


def test_runs_in_two_threads_are_roots_that_split_the_overlap(fake_nvml: FakeNvml) -> None:
    driver = Driver(["a", "b"])
    runs: dict[str, greenai.Run] = {}
    ctx = {name: greenai.track(name=name) for name in ("a", "b")}

    def enter(name: str) -> Callable[[], None]:
        return lambda: runs.__setitem__(name, ctx[name].__enter__())

    def leave(name: str) -> Callable[[], None]:
        return lambda: ctx[name].__exit__(None, None, None)

    windows: list[object] = []

    def window(opening: bool) -> Callable[[], None]:
        def work() -> None:
            if opening:
                windows.append(runs["b"].window("decode").__enter__())
            else:
                windows[0].__exit__(None, None, None)  # type: ignore[attr-defined]

        return work

    # The README's worked example.
    driver.step("a", enter("a"))  # A over 0-3 s
    fake_nvml.set_time(1.0)
    driver.step("b", enter("b"))  # B over 1-4 s
    fake_nvml.set_time(2.0)
    driver.step("b", window(True))  # B's window over 2-3 s
    fake_nvml.set_time(3.0)
    driver.step("a", leave("a"))
    driver.step("b", window(False))
    fake_nvml.set_time(4.0)
    driver.step("b", leave("b"))
    driver.close()
    assert not driver.errors
    a, b = runs["a"], runs["b"]
    assert a.parent_run_id is None and b.parent_run_id is None
    assert gpu_j(a) == pytest.approx(100.0 + 100.0)  # 1 s alone, 2 s at half
    assert gpu_j(b) == pytest.approx(100.0 + 100.0)
    assert gpu_j(a) + gpu_j(b) == pytest.approx(400.0)  # the GPU's 4 s, once
    assert gpu_j(windows[0]) == pytest.approx(50.0)  # b's half of 2-3 s
    for run in (a, b):
        row = stored(run.id)
        assert row["run"]["parent_run_id"] is None
        assert "overlapping_root_runs" in row["run"]["flags"]
        gpu0 = next(d for d in row["devices"] if d["device_id"] == "gpu:0")
        rules = set(gpu0["share_rule"].split(","))  # alone for a while, then shared
        assert rules == {"visible_devices", "visible_devices+equal_split"}
    total = sum(stored(r.id)["run"]["energy_j"] for r in (a, b))
    assert total == pytest.approx(800.0)  # both GPUs, 4 s, counted once


def test_asyncio_tasks_are_roots_too(fake_nvml: FakeNvml) -> None:
    async def main() -> tuple[greenai.Run, greenai.Run]:
        a_in, b_in, a_out = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def task_a() -> greenai.Run:
            async with greenai.track(name="a") as run:
                a_in.set()
                await b_in.wait()
                fake_nvml.set_time(3.0)
            a_out.set()
            return run

        async def task_b() -> greenai.Run:
            await a_in.wait()
            fake_nvml.set_time(1.0)
            async with greenai.track(name="b") as run:
                b_in.set()
                await a_out.wait()
                fake_nvml.set_time(4.0)
            return run

        return await asyncio.gather(task_a(), task_b())

    a, b = asyncio.run(main())
    assert a.parent_run_id is None and b.parent_run_id is None
    assert gpu_j(a) == pytest.approx(200.0)
    assert gpu_j(b) == pytest.approx(200.0)


def test_an_explicit_parent_nests_across_threads(fake_nvml: FakeNvml, manual_hub: Hub) -> None:
    found: list[greenai.Run] = []
    with greenai.track(name="job") as job:
        fake_nvml.set_time(1.0)

        def worker() -> None:
            with greenai.track(name="part", parent=job) as part:
                fake_nvml.set_time(2.0)
                part.add_tokens(output=10)
            found.append(part)

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        fake_nvml.set_time(3.0)
    (part,) = found
    assert part.parent_run_id == job.id
    assert gpu_j(part) == pytest.approx(100.0)
    assert gpu_j(job) == pytest.approx(300.0)  # a child takes nothing from its root
    assert job.tokens_output == 10
    assert not job.root_span.overlapped


def test_current_run_still_reaches_the_job_from_a_worker_thread() -> None:
    counted: list[object] = []
    with greenai.track() as run:
        thread = threading.Thread(target=lambda: counted.append(greenai.current_run()))
        thread.start()
        thread.join()
    assert counted == [run]


def test_parent_must_be_a_run() -> None:
    with pytest.raises(TypeError, match=r"parent= takes a greenai\.Run"):
        greenai.track(parent="abc")
