"""Signals reaching a tracked process, and how a run's end is named.

greenai handles SIGTERM and SIGHUP where the job left them at their default (it never
replaces a handler installed outside Python, nor an ignored signal: ``nohup`` stays in
force for the job and the programs it starts). Its handler only records the signal:

- a Python-level handler the job installed before greenai comes first; if it returns,
  the job goes on, its runs flagged ``signal_received``, and they end with the job's own
  exit (an exception it raises ends them as any exception does);
- at the default (the process is to die), the handler wakes the finisher thread, which
  finishes the active runs outside signal context within :data:`FINISH_BUDGET_S`
  (:func:`greenai.tracking.lifecycle.finish_on_signal`); the handler then lets the
  signal take the process, as it would have without greenai. A repeated signal while
  finishing (a process group signalled, then the signal forwarded) is absorbed.

The handler waits for the finisher on the job's main thread so the job's state stays
still while it is read, and so the process dies by the signal from the one thread that
may reset its disposition. SIGINT is left to Python (KeyboardInterrupt).

How a run ended (:class:`Outcome`) is decided here for every path: an exception or
``SystemExit`` in the job, a fatal signal, a child's return code under ``greenai run``.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from greenai.ledger.limits import fit_text

log = logging.getLogger(__name__)

ERROR_CHARS = 520
"""A run's ``error``: the exception's type and the start of its message."""

FINISH_BUDGET_S = 5.0
"""How long finishing the runs after a fatal signal may take before the process dies."""
HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
CRASH_SIGNALS = frozenset(
    {signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGFPE, signal.SIGILL}
)
"""Signals of a program that crashed: its run failed. Any other signal interrupted it."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a run ended.

    Attributes:
        status: completed, failed or interrupted.
        exit_code: The job's exit code where known; ``-N`` for a process killed by signal N.
        error: What ended it (``SystemExit: 3``, ``SIGTERM (signal 15)``), None if nothing.
    """

    status: str
    exit_code: int | None = None
    error: str | None = None


def signal_name(signum: int) -> str:
    """``SIGTERM`` for 15; ``signal 99`` for a number without a name."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def describe_signal(signum: int) -> str:
    """The signal named for a run's ``error``: ``SIGTERM (signal 15)``."""
    return f"{signal_name(signum)} (signal {signum})"


def signal_outcome(signum: int) -> Outcome:
    """A process ended by signal ``signum``: failed for a crash, else interrupted."""
    status = "failed" if signum in CRASH_SIGNALS else "interrupted"
    return Outcome(status, -signum, describe_signal(signum))


def exception_outcome(error: BaseException) -> Outcome:
    """A job ended by an exception: ``SystemExit(0)`` and ``SystemExit(None)`` completed,
    ``SystemExit(n)`` failed with exit code n (a message: 1, as Python exits), a
    KeyboardInterrupt (SIGINT) interrupted, anything else failed."""
    if isinstance(error, SystemExit):
        code = error.code
        if code is None or code == 0:
            return Outcome("completed", 0)
        if isinstance(code, int):
            return Outcome("failed", int(code), f"SystemExit: {code}")
        return Outcome("failed", 1, fit_text(f"SystemExit: {code}", ERROR_CHARS)[0])
    if isinstance(error, KeyboardInterrupt):
        return Outcome("interrupted", None, f"KeyboardInterrupt ({signal_name(signal.SIGINT)})")
    message, _ = fit_text(f"{type(error).__name__}: {error}", ERROR_CHARS)
    return Outcome("failed", None, message)


def returncode_outcome(returncode: int) -> Outcome:
    """A child process's end from its return code (``-N``: killed by signal N)."""
    if returncode == 0:
        return Outcome("completed", 0)
    if returncode > 0:
        return Outcome("failed", returncode)
    return signal_outcome(-returncode)


class SignalWatch:
    """greenai's SIGTERM and SIGHUP handlers and the thread that finishes runs for them.

    Args:
        on_fatal: Finishes the active runs (on the finisher thread), given the signal
            and the seconds it may take.
        on_handled: Called in the handler when the job's own handler took the signal
            (it must only record: no locks, no I/O).
        budget_s: What ``on_fatal`` is given; the handler waits a little longer.
    """

    def __init__(
        self,
        on_fatal: Callable[[int, float], None],
        on_handled: Callable[[int], None],
        budget_s: float = FINISH_BUDGET_S,
    ) -> None:
        self._on_fatal = on_fatal
        self._on_handled = on_handled
        self._budget_s = budget_s
        self._previous: dict[int, Any] = {}
        self._fatal: int | None = None
        self._chained: set[int] = set()  # signals whose job handler is running now
        self._requests: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()

    def install(self) -> None:
        """Handle SIGTERM and SIGHUP where they are at their default or a Python handler
        (main thread only; idempotent), and have a finisher thread ready."""
        self._ensure_finisher()
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in HANDLED_SIGNALS:
            current = signal.getsignal(signum)
            if current == self.handle or current is None or current == signal.SIG_IGN:
                continue  # ours already; installed outside Python; ignored (nohup)
            try:
                signal.signal(signum, self.handle)
            except (ValueError, OSError):  # not allowed here (embedded interpreters)
                continue
            self._previous[signum] = current

    def _ensure_finisher(self) -> None:
        """A finisher thread, started ahead (a new one after ``fork``): starting a
        thread inside a signal handler could wait on a lock the job holds."""
        with self._thread_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._requests, self._done = queue.SimpleQueue(), queue.SimpleQueue()
            self._thread = threading.Thread(
                target=self._finish_loop, name="greenai-signals", daemon=True
            )
            self._thread.start()

    def after_fork_in_child(self) -> None:
        """A forked child has no finisher thread (one starts with its first run) and is
        not going down with its parent."""
        self._thread_lock = threading.Lock()
        self._thread = None
        self._fatal = None
        self._chained.clear()

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The handler: the job's first, else finish the runs and die by the signal."""
        if self._fatal is not None:
            return  # the process is going down already: a repeat changes nothing
        previous = self._previous.get(signum, signal.SIG_DFL)
        if callable(previous) and signum not in self._chained:
            self._on_handled(signum)
            self._chained.add(signum)
            try:
                previous(signum, frame)
            finally:
                self._chained.discard(signum)
            return  # the job took it: its runs go on
        # The default action (or the job's handler passing it back to ours): go down.
        self._fatal = signum
        try:
            thread = self._thread
            if thread is not None and thread.is_alive():
                self._requests.put(signum)  # reentrant: safe in a signal handler
                self._done.get(timeout=self._budget_s + 1.0)
        except Exception as exc:  # queue.Empty: finishing took too long; die anyway
            log.debug("greenai: finishing after %s: %r", signal_name(signum), exc)
        finally:
            die_by(signum)

    def _finish_loop(self) -> None:
        while True:
            signum = self._requests.get()
            try:
                self._on_fatal(signum, self._budget_s)
            except Exception as exc:  # the process dies by the signal whatever happens
                log.error("greenai: finishing runs after %s failed: %s", signal_name(signum), exc)
            finally:
                self._done.put(signum)


def die_by(signum: int) -> None:
    """End this process by ``signum`` at its default action, as if greenai were not there
    (main thread only: the disposition is reset here)."""
    signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)  # not reached: the signal's default action ended the process
