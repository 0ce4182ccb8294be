"""Drivers that run each step of a test on the thread or asyncio task it names, one step
at a time, so a test decides the interleaving."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable


class Driver:
    """Runs each step on the named thread, one at a time, in the order given."""

    def __init__(self, names: list[str]) -> None:
        self._turn: dict[str, threading.Event] = {n: threading.Event() for n in names}
        self._done = threading.Event()
        self._work: dict[str, Callable[[], None] | None] = {}
        self.errors: list[BaseException] = []
        self._threads = [threading.Thread(target=self._loop, args=(n,)) for n in names]
        for thread in self._threads:
            thread.start()

    def _loop(self, name: str) -> None:
        while True:
            self._turn[name].wait()
            self._turn[name].clear()
            work = self._work.pop(name)
            if work is None:
                self._done.set()
                return
            try:
                work()
            except BaseException as exc:  # reported by the test
                self.errors.append(exc)
            self._done.set()

    def step(self, name: str, work: Callable[[], None] | None) -> None:
        self._done.clear()
        self._work[name] = work
        self._turn[name].set()
        assert self._done.wait(10.0), f"step on {name} did not finish"

    def close(self) -> None:
        for name in self._turn:
            self.step(name, None)
        for thread in self._threads:
            thread.join()


class TaskDriver:
    """Runs each step on the named asyncio task, one at a time, in the order given.

    The tasks share one event loop, on a thread of its own; each task has its own copy
    of the context, as tasks created by ``asyncio.create_task`` do.
    """

    def __init__(self, names: list[str]) -> None:
        self.errors: list[BaseException] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever)
        self._thread.start()
        self._queues: dict[str, asyncio.Queue[tuple[Callable[[], None] | None, threading.Event]]]
        self._queues = asyncio.run_coroutine_threadsafe(self._start(names), self._loop).result()

    async def _start(
        self, names: list[str]
    ) -> dict[str, asyncio.Queue[tuple[Callable[[], None] | None, threading.Event]]]:
        queues: dict[str, asyncio.Queue[tuple[Callable[[], None] | None, threading.Event]]]
        queues = {name: asyncio.Queue() for name in names}
        self._tasks = [asyncio.create_task(self._lane(queues[name])) for name in names]
        return queues

    async def _lane(
        self, queue: asyncio.Queue[tuple[Callable[[], None] | None, threading.Event]]
    ) -> None:
        while True:
            work, done = await queue.get()
            try:
                if work is None:
                    return
                work()
            except BaseException as exc:  # reported by the test
                self.errors.append(exc)
            finally:
                done.set()

    def step(self, name: str, work: Callable[[], None] | None) -> None:
        done = threading.Event()
        self._loop.call_soon_threadsafe(self._queues[name].put_nowait, (work, done))
        assert done.wait(10.0), f"step on {name} did not finish"

    def close(self) -> None:
        for name in self._queues:
            self.step(name, None)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
