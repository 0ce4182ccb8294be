"""Starting and finishing runs: checks before the job, records, heartbeats, signals.

Configuration mistakes (bad location, bad PUE, a foreign ledger file) raise before the
job starts. From then on nothing raises: monitoring failures become flags.

A fatal signal (:mod:`greenai.tracking.signals`) finishes the active runs on the
finisher thread (:func:`finish_on_signal`), never inside the handler, and never waits
for good on a lock the job's thread may hold or on a driver call that hangs.
"""

from __future__ import annotations

import atexit
import getpass
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from greenai.figures import flags as fl
from greenai.tracking import spawned
from greenai.tracking.hub import Hub, HubKey, get_hub
from greenai.tracking.meta import RunMeta
from greenai.tracking.record import build_record
from greenai.tracking.recorder import Recorder
from greenai.tracking.remote import RemoteRun, remote_run
from greenai.tracking.run import FINAL_WRITE_WAIT_S, Run
from greenai.tracking.signals import SignalWatch, exception_outcome, signal_outcome
from greenai.tracking.spans import Span
from greenai.tracking.writer import Writer, get_writer

log = logging.getLogger(__name__)

_ACTIVE: list[Run] = []
_RECORDERS: dict[str, Recorder] = {}  # of the active runs, by id
_ACTIVE_LOCK = threading.RLock()
_FORKED_FROM: list[str] = []  # in a forked child: the parent's runs active at fork
_BEFORE_FINAL: dict[str, list[Callable[[Run], None]]] = {}  # of the active runs, by id


def active_runs() -> list[Run]:
    """Runs started and not yet stopped in this process, oldest first."""
    with _ACTIVE_LOCK:
        return list(_ACTIVE)


def before_final_record(run: Run, hook: Callable[[Run], None]) -> None:
    """Call ``hook(run)`` when :func:`finish` has stopped ``run``, before its final record
    is made: the run's figures are final there, and the flags the hook adds are recorded.

    Not called after a fatal signal (the runs must be finished within a budget) nor in
    a forked worker. A hook that raises is logged; the run is finished all the same.
    """
    with _ACTIVE_LOCK:
        _BEFORE_FINAL.setdefault(run.id, []).append(hook)


def _run_hooks(run: Run, hooks: list[Callable[[Run], None]]) -> None:
    for hook in hooks:
        try:
            hook(run)
        except Exception as exc:  # never harm the job
            log.error("greenai: finishing run %s: %s", run.id, exc)


def _identity(settings: Any) -> dict[str, Any]:
    from greenai import __version__

    host = settings.host_id or socket.gethostname()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    if settings.hash_identifiers:
        from greenai.tracking.pseudonyms import hashed_names

        host, user = hashed_names(_writer_of(settings), [host, user])
    return {"host_id": host, "user_id": user, "greenai_version": __version__}


def _writer_of(settings: Any) -> Writer:
    """The background writer of the run's ledger, with its maintenance settings."""
    return get_writer(
        settings.db_url,
        stale_after_s=settings.stale_after_s,
        series_tiers=tuple(settings.series_tiers),
    )


def start_run(
    meta: RunMeta,
    overrides: Mapping[str, Any],
    *,
    parent: Run | None,
    command: str | None = None,
) -> Run:
    """Validate, then start measuring and write the run's first record."""
    from greenai.config import load_settings
    from greenai.emissions import resolve_factor
    from greenai.ledger import default_ledger_path
    from greenai.tracking.precheck import check_url

    settings = load_settings(dict(overrides))
    factor = resolve_factor(settings)
    check_url(settings.db_url, default_ledger_path())
    forked_from = _forked_parent_id(parent)
    if forked_from is not None:
        parent = None  # a run of the parent process: nest by id, measure this process
    remote = remote_run() if parent is None and forked_from is None else None
    parent_id = forked_from or (remote.id if remote else None)
    if parent is None and parent_id is None:
        parent_id = spawned.enclosing_run_id()  # a worker spawned by a tracked job
    command = command if settings.store_command else None
    rank_run = (
        _rank_run(meta, settings, factor, command) if parent is None and parent_id is None else None
    )
    run = rank_run or Run(
        meta,
        settings,
        factor,
        parent=parent,
        parent_run_id=parent_id,
        run_id=settings.run_id if parent is None and parent_id is None else None,
        command=command,
    )
    run.remote = remote
    run.finisher = finish
    recorder = Recorder(run, _writer_of(settings), _identity(settings))
    run.mark_running(_open_hub(run, settings))
    with _ACTIVE_LOCK:
        _ACTIVE.append(run)
        _RECORDERS[run.id] = recorder
    if parent is None:  # a top run here (a rank's part too): what processes started nest in
        spawned.announce(run.id)
    _SIGNALS.install()
    _HEARTBEAT.add(recorder)
    _write(recorder, wait_s=None)
    return run


def _forked_parent_id(parent: Run | None) -> str | None:
    """The id of the parent process's run a forked worker's run belongs to, if any."""
    if parent is not None:
        return parent.id if parent.forked_away else None
    return _FORKED_FROM[-1] if _FORKED_FROM else None


def _rank_run(meta: RunMeta, settings: Any, factor: Any, command: str | None) -> Run | None:
    """One rank of a multi-rank job (torchrun, Slurm, MPI): its part of the job's run."""
    from greenai.fleet.ranks import detect_rank

    rank = detect_rank(run_id=settings.run_id)
    if rank is None:
        return None
    from greenai.fleet.rank_run import RankRun

    return RankRun(rank, meta, settings, factor, command=command)


def hub_key(settings: Any) -> HubKey:
    """The hub a run with these settings is measured by."""
    return HubKey(
        mode=settings.mode,
        powercap_root=settings.powercap_root,
        cpu_tdp_w=settings.cpu_tdp_w,
        series_hz=settings.series_hz,
        power_hz=settings.power_hz,
    )


def _open_hub(run: Run, settings: Any) -> Hub | None:
    try:
        return get_hub(hub_key(settings))
    except Exception as exc:  # no measurement, but the job runs and the run is recorded
        log.warning("greenai: measurement unavailable: %s", exc)
        run.flag(fl.monitoring_error(exc))
        return None


def _write(recorder: Recorder, wait_s: float | None) -> str:
    """Write the run's full record; where it went (see :func:`finish`)."""
    try:
        return recorder.write(wait_s)
    except Exception as exc:  # never harm the job
        log.error("greenai: could not record run %s: %s", recorder.run.id, exc)
        return "failed"


def finish(run: Run, status: str, error: BaseException | None) -> str | None:
    """Stop a run, write its final record and forget it (idempotent, never raises).

    ``error``: the exception that ended it, which then decides the status (see
    :func:`~greenai.tracking.signals.exception_outcome`: ``SystemExit(0)`` completed).

    Returns:
        Where the final record went: ``"ledger"``; ``"spool"`` (journaled: the ledger
        refused it or is down); ``"queued"`` (journaled, still on its way: the ledger is
        slow); ``"unjournaled"`` (on its way, but the journal refused it: the ledger
        or, at exit, stderr takes it); ``"stderr"`` (printed as a JSON line: not even the
        journal took it);
        ``"failed"`` (not made at all, logged). None when the run was stopped already.
    """
    if run.stopped:
        return None
    if error is not None:
        outcome = exception_outcome(error)
        status, run.error = outcome.status, outcome.error
        if outcome.exit_code is not None:
            run.exit_code = outcome.exit_code
    if status == "interrupted":
        run.flag(fl.INTERRUPTED)
    stale_before = _stale_snapshots(run)
    try:
        run.mark_stopped(status)
    except Exception as exc:  # pragma: no cover - mark_stopped guards itself; last resort
        log.error("greenai: stopping run %s failed: %s", run.id, exc)
    if _stale_snapshots(run) > stale_before:  # a bounded wait ended it at the last snapshot
        run.flag(fl.LAST_SNAPSHOT)
    with _ACTIVE_LOCK:
        if run in _ACTIVE:
            _ACTIVE.remove(run)
        recorder = _RECORDERS.pop(run.id, None)
        hooks = _BEFORE_FINAL.pop(run.id, [])
    spawned.withdraw(run.id)
    _report_tokens(run)
    if recorder is not None:
        _HEARTBEAT.discard(recorder)
    _run_hooks(run, hooks)
    if recorder is None:
        return None
    return _write(recorder, wait_s=FINAL_WRITE_WAIT_S)


def _stale_snapshots(run: Run) -> int:
    return run.hub.sampler.stale_snapshots if run.hub is not None else 0


def _report_tokens(run: Run) -> None:
    """A run under ``greenai run`` hands its work to the parent's run too."""
    remote: RemoteRun | None = run.remote
    if remote is not None and (run.tokens_input or run.tokens_output):
        remote.add_tokens(input=run.tokens_input, output=run.tokens_output)


# -- a process going down ---------------------------------------------------------------

LOCK_PROBE_S = 0.25
"""How long the finisher waits for a run's lock before taking it as held by the job."""
READ_WAIT_S = 0.5
"""How long the finisher waits for the devices once the process is going down."""


def finish_on_signal(signum: int, budget_s: float) -> None:
    """Finish every active run after fatal signal ``signum`` (the finisher thread).

    A run none of whose locks another thread holds is finished as usual, its devices
    read one last time within :data:`READ_WAIT_S` (else its last snapshot, flagged).
    A run whose lock is held (the job's thread, stopped by the handler inside a window
    boundary or a sampler read) is abandoned: it keeps the energy charged up to the
    last snapshot, flagged, and its final record is written as it stands. Within
    about ``budget_s`` either way; the handler waits no longer.
    """
    deadline = time.monotonic() + budget_s
    outcome = signal_outcome(signum)
    runs = list(_ACTIVE)  # as it stands: the job's thread may hold _ACTIVE_LOCK
    for run in runs:
        _BEFORE_FINAL.pop(run.id, None)  # no time for hooks (trackers) on the way down
        if run.hub is not None:
            run.hub.sampler.bound_waits(READ_WAIT_S)
    for run in reversed(runs):  # children before their parents
        if run.stopped:
            continue
        run.exit_code, run.error = outcome.exit_code, outcome.error
        if _locks_free(run):
            finish(run, outcome.status, None)
        else:
            _abandon(run, outcome.status, max(deadline - time.monotonic(), 0.0))


def _locks_free(run: Run) -> bool:
    """Whether no other thread holds a lock that finishing ``run`` takes (probed); a
    frozen hub's lock is held for good."""
    if run.hub is not None and run.hub.frozen:
        return False
    locks = [run.lock, _ACTIVE_LOCK]
    if run.hub is not None:
        locks.append(run.hub.lock)
    for lock in locks:
        if not lock.acquire(timeout=LOCK_PROBE_S):
            return False
        lock.release()
    return True


def _abandon(run: Run, status: str, wait_s: float) -> None:
    """End ``run`` without its locks: at the last snapshot, its record as it stands."""
    log.warning("greenai: run %s ends at its last snapshot (its job thread is held)", run.id)
    if run.hub is not None:
        run.hub.freeze()
    for window in run.windows:
        if not window.closed:
            window.closed = True
            _end_unlocked(run, window.span)
    _end_unlocked(run, run.root_span)
    run.status = status
    if status == "interrupted":
        run.flag(fl.INTERRUPTED)
    run.flag(fl.LAST_SNAPSHOT)
    recorder = _RECORDERS.get(run.id)
    if recorder is not None:
        _write_as_it_stands(recorder, wait_s)
    _report_tokens(run)


def _end_unlocked(run: Run, span: Span) -> None:
    if run.hub is not None:
        run.hub.abandon(span)
        return
    span.end_s = max(run.now_s(), span.start_s or 0.0)
    started = span.started_at or datetime.now(UTC)
    span.ended_at = started + timedelta(seconds=span.duration_s(span.end_s))


def _write_as_it_stands(recorder: Recorder, wait_s: float) -> None:
    """The run's full record, made and queued without the recorder's or the run's lock
    (a heartbeat may be stuck holding one, waiting for the other)."""
    run = recorder.run
    try:
        record = build_record(run, recorder.identity)
        rank = getattr(run, "rank", None)
        if rank is None:
            writer = recorder.writer
            writer.wait_for(writer.queue_run(record), wait_s)
            return
        from greenai.fleet.rank_run import part_record, submit_part

        part = part_record(rank, record)
        stale_s = run.settings.stale_after_s
        submit_part(recorder.writer, part, stale_after_s=stale_s, wait_s=wait_s)
    except Exception as exc:  # never harm the job (its last heartbeat stays)
        log.error("greenai: could not record run %s: %s", run.id, exc)


def _signal_received(signum: int) -> None:
    """The job's own handler took a signal (in the handler: only flags, no locks)."""
    del signum
    for run in list(_ACTIVE):
        run.flag(fl.SIGNAL_RECEIVED)


_SIGNALS = SignalWatch(on_fatal=finish_on_signal, on_handled=_signal_received)


class _Heartbeat:
    """Refreshes running runs' records every few seconds, so a killed job keeps its energy."""

    def __init__(self) -> None:
        self._recorders: list[Recorder] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, recorder: Recorder) -> None:
        if recorder.run.parent is not None:
            return
        with self._lock:
            self._recorders.append(recorder)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="greenai-heartbeat", daemon=True
                )
                self._thread.start()

    def discard(self, recorder: Recorder) -> None:
        with self._lock:
            if recorder in self._recorders:
                self._recorders.remove(recorder)

    def _loop(self) -> None:
        while True:
            with self._lock:
                recorders = list(self._recorders)
            if not recorders:
                return
            period_s = min(float(r.run.settings.heartbeat_s) for r in recorders)
            self._wake.wait(period_s)
            for recorder in recorders:
                self.beat(recorder)

    @staticmethod
    def beat(recorder: Recorder) -> None:
        """Write what changed in the running run (its energy is settled at every tick)."""
        try:
            recorder.beat()
        except Exception as exc:  # never harm the job
            log.debug("heartbeat of %s failed: %s", recorder.run.id, exc)


_HEARTBEAT = _Heartbeat()


def beat_once(run: Run) -> None:
    """One heartbeat of a running run, now (what the heartbeat thread does)."""
    with _ACTIVE_LOCK:
        recorder = _RECORDERS.get(run.id)
    if recorder is not None:
        _Heartbeat.beat(recorder)


@atexit.register
def _interrupt_active_runs() -> None:
    """At interpreter exit, runs never stopped are recorded as interrupted (no driver
    that hangs holds the exit: the devices are waited for :data:`READ_WAIT_S` at most)."""
    runs = active_runs()
    for run in runs:
        if run.hub is not None:
            run.hub.sampler.bound_waits(READ_WAIT_S)
    for run in reversed(runs):
        finish(run, "interrupted", None)


def _before_fork() -> None:
    _ACTIVE_LOCK.acquire()


def _after_fork_in_parent() -> None:
    _ACTIVE_LOCK.release()


def _after_fork_in_child() -> None:
    """A forked worker measures itself: the parent's runs are its parents, by id.

    They are not this process's to finish (nor to write at exit); a run started here is
    their child (see :func:`start_run`), so the parent's total is not counted twice.
    """
    global _HEARTBEAT
    _ACTIVE_LOCK.release()
    _SIGNALS.after_fork_in_child()
    inherited = list(_ACTIVE)
    _ACTIVE.clear()
    _RECORDERS.clear()
    _BEFORE_FINAL.clear()
    for run in inherited:
        run.forked_away = True
        run.hub = None
    _FORKED_FROM[:] = [run.id for run in inherited]
    _HEARTBEAT = _Heartbeat()


os.register_at_fork(
    before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
)
