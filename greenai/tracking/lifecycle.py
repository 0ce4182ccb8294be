"""Starting and finishing runs: checks before the job, records, heartbeats, signals.

Configuration mistakes (bad location, bad PUE, a foreign ledger file) raise before the
job starts. From then on nothing raises: monitoring failures become flags.
"""

from __future__ import annotations

import atexit
import getpass
import logging
import os
import signal
import socket
import threading
from collections.abc import Mapping
from types import FrameType
from typing import Any

from greenai.tracking import flags as fl
from greenai.tracking.hub import Hub, HubKey, get_hub
from greenai.tracking.meta import RunMeta
from greenai.tracking.recorder import Recorder
from greenai.tracking.remote import RemoteRun, remote_run
from greenai.tracking.run import FINAL_WRITE_WAIT_S, Run
from greenai.tracking.writer import Writer, get_writer

log = logging.getLogger(__name__)

_ACTIVE: list[Run] = []
_RECORDERS: dict[str, Recorder] = {}  # of the active runs, by id
_ACTIVE_LOCK = threading.RLock()
_FORKED_FROM: list[str] = []  # in a forked child: the parent's runs active at fork


def active_runs() -> list[Run]:
    """Runs started and not yet stopped in this process, oldest first."""
    with _ACTIVE_LOCK:
        return list(_ACTIVE)


def _identity(settings: Any) -> dict[str, Any]:
    from greenai import __version__

    host = settings.host_id or socket.gethostname()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    if settings.hash_identifiers:
        host, user = _hashed(settings, host), _hashed(settings, user)
    return {"host_id": host, "user_id": user, "greenai_version": __version__}


def _hashed(settings: Any, value: str) -> str:
    result: list[str] = []

    def work(_sink: Any) -> None:
        from greenai.ledger import Ledger, hash_identifier

        ledger = Ledger.open(settings.db_url)
        try:
            result.append(hash_identifier(ledger, value))
        finally:
            ledger.close()

    _writer_of(settings).call(work, wait_s=5.0)
    return result[0] if result else "redacted"


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
    _install_signal_handlers()
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


def _write(recorder: Recorder, wait_s: float | None) -> None:
    try:
        recorder.write(wait_s)
    except Exception as exc:  # never harm the job
        log.error("greenai: could not record run %s: %s", recorder.run.id, exc)


def finish(run: Run, status: str, error: BaseException | None) -> None:
    """Stop a run, write its final record and forget it (idempotent, never raises)."""
    if run.stopped:
        return
    if error is not None:
        interrupted = isinstance(error, KeyboardInterrupt)
        status = "interrupted" if interrupted else "failed"
        run.error = f"{type(error).__name__}: {str(error)[:500]}"
    if status == "interrupted":
        run.flag(fl.INTERRUPTED)
    try:
        run.mark_stopped(status)
    except Exception as exc:  # pragma: no cover - mark_stopped guards itself; last resort
        log.error("greenai: stopping run %s failed: %s", run.id, exc)
    with _ACTIVE_LOCK:
        if run in _ACTIVE:
            _ACTIVE.remove(run)
        recorder = _RECORDERS.pop(run.id, None)
    remote: RemoteRun | None = run.remote
    if remote is not None and (run.tokens_input or run.tokens_output):
        remote.add_tokens(input=run.tokens_input, output=run.tokens_output)
    if recorder is not None:
        _HEARTBEAT.discard(recorder)
        _write(recorder, wait_s=FINAL_WRITE_WAIT_S)


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


_SIGNALS_INSTALLED = False


def _install_signal_handlers() -> None:
    """On SIGTERM (and SIGINT), mark active runs interrupted, then chain to the old handler."""
    global _SIGNALS_INSTALLED
    if _SIGNALS_INSTALLED or threading.current_thread() is not threading.main_thread():
        return
    _SIGNALS_INSTALLED = True
    for signum in (signal.SIGTERM, signal.SIGHUP):
        previous = signal.getsignal(signum)
        try:
            signal.signal(signum, _make_handler(signum, previous))
        except (ValueError, OSError):  # not allowed here (embedded interpreters)
            continue


def _make_handler(signum: int, previous: Any) -> Any:
    def handler(sig: int, frame: FrameType | None) -> None:
        for run in reversed(active_runs()):
            finish(run, "interrupted", None)
        if callable(previous):
            previous(sig, frame)
            return
        if previous == signal.SIG_IGN:
            return
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    return handler


@atexit.register
def _interrupt_active_runs() -> None:
    """At interpreter exit, runs never stopped are recorded as interrupted."""
    for run in reversed(active_runs()):
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
    inherited = list(_ACTIVE)
    _ACTIVE.clear()
    _RECORDERS.clear()
    for run in inherited:
        run.forked_away = True
        run.hub = None
    _FORKED_FROM[:] = [run.id for run in inherited]
    _HEARTBEAT = _Heartbeat()


os.register_at_fork(
    before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
)
