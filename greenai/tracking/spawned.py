"""The run a spawned worker belongs to: the parent process's active run, by environment.

A worker started by multiprocessing's ``spawn`` or ``forkserver`` method (the default on
macOS, and on Linux from Python 3.14) is a fresh interpreter: of the parent's greenai
state it has only the environment it was started with. While a run with no parent in
its own process is active, this process's environment names it in
``GREENAI_ENCLOSING_RUN_ID`` (the latest such run still active; the previous value comes
back when it stops), so a run started in a spawned worker, or in any process started
meanwhile, nests under it by id: the parent's process tree already holds the worker's
pid, and a root there would count the worker twice. The worker's run measures the
worker itself (its own sampler and process tree), like a forked worker's.

With several such runs active in threads at once, a worker nests under the latest one
started: the environment is the process's, not a thread's.
"""

from __future__ import annotations

import os
import threading

ENV_ENCLOSING = "GREENAI_ENCLOSING_RUN_ID"

_INHERITED: list[str | None] = [os.environ.get(ENV_ENCLOSING) or None]  # at start-up
_OWN: list[str] = []  # this process's announced runs, oldest first
_LOCK = threading.Lock()


def enclosing_run_id() -> str | None:
    """The run of the process that started this one, active when it did; else None."""
    return _INHERITED[0]


def _publish() -> None:
    value = _OWN[-1] if _OWN else _INHERITED[0]
    if value is None:
        os.environ.pop(ENV_ENCLOSING, None)
    else:
        os.environ[ENV_ENCLOSING] = value


def announce(run_id: str) -> None:
    """Name ``run_id`` to the processes started from now on (a run with no parent here)."""
    with _LOCK:
        _OWN.append(run_id)
        _publish()


def withdraw(run_id: str) -> None:
    """``run_id`` stopped: name the previous run again (or the inherited one, or none)."""
    with _LOCK:
        if run_id in _OWN:
            _OWN.remove(run_id)
            _publish()


def _after_fork_in_child() -> None:
    """A forked child's runs nest through the fork (see the lifecycle); the parent's run
    is what its own children inherit until it announces runs of its own."""
    _LOCK.release()
    _OWN.clear()
    _INHERITED[0] = os.environ.get(ENV_ENCLOSING) or None


os.register_at_fork(
    before=_LOCK.acquire, after_in_parent=_LOCK.release, after_in_child=_after_fork_in_child
)
