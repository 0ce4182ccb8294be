"""The public tracking API: ``track`` (decorator, context manager), ``start``, ``current_run``."""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar, cast

from greenai.figures import flags as fl
from greenai.figures.logged import tracker_figures, tracker_tags
from greenai.integrations.sinks import Sinks, sink_names
from greenai.tracking.lifecycle import active_runs, before_final_record, finish, start_run
from greenai.tracking.meta import META_KEYS, make_meta
from greenai.tracking.remote import RemoteRun, remote_run
from greenai.tracking.run import Run

_F = TypeVar("_F", bound=Callable[..., Any])
_CURRENT: contextvars.ContextVar[tuple[Run, ...]] = contextvars.ContextVar(
    "greenai_runs", default=()
)
_TRACK_ONLY = ("tokens", "parent", "log_to")


def _settings_keys() -> tuple[str, ...]:
    from greenai.config import Settings

    return tuple(Settings.keys())


def _context_parent() -> Run | None:
    """The innermost run open in the caller's own context (thread, asyncio task).

    Only the caller's context counts: a run started in another thread or task is not a
    parent, so concurrent requests each get a root run. A run inherited through ``fork``
    is returned too; the new run then becomes its child by id.
    """
    for run in reversed(_CURRENT.get()):
        if not run.stopped:
            return run
    return None


def _explicit_parent(parent: object) -> Run | None:
    if parent is None or isinstance(parent, Run):
        return parent
    raise TypeError(f"parent= takes a greenai.Run, got {type(parent).__name__}")


def _split(kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """Metadata, settings overrides and the tokens callable; TypeError on unknown keys."""
    settings_keys = _settings_keys()
    unknown = sorted(set(kwargs) - set(META_KEYS) - set(settings_keys) - set(_TRACK_ONLY))
    if unknown:
        valid = ", ".join((*META_KEYS, *_TRACK_ONLY, *settings_keys))
        raise TypeError(f"greenai.track() got unknown keyword(s) {unknown}; valid: {valid}")
    meta = {k: v for k, v in kwargs.items() if k in META_KEYS}
    overrides = {k: v for k, v in kwargs.items() if k in settings_keys}
    return meta, overrides, kwargs.get("tokens")


def _log_to(run: Run, names: tuple[str, ...]) -> None:
    """Open the trackers of ``log_to=`` for a started run; its final figures and tags
    go to them just before its final record (see :func:`_final_log`).

    In a multi-rank job only global rank 0 logs (its own part: each rank's is in the
    ledger), so the ranks do not start a tracker run each.
    """
    if not names or _rank_of(run).get("rank", 0) != 0:
        return
    sinks = Sinks(names, run.meta.name or f"greenai-{run.id[:8]}")
    _flag_problems(run, sinks)
    before_final_record(run, lambda stopped: _final_log(stopped, sinks))


def _final_log(run: Run, sinks: Sinks) -> None:
    """Tag, log the final figures (no step) and close; a problem is a warning and the
    ``tracker_log_failed`` flag, in the run's final record."""
    try:
        record = {**run.to_dict(), **_rank_of(run)}
        sinks.tag(tracker_tags(record))
        sinks.log(tracker_figures(record))
    except Exception as exc:  # never harm the job
        sinks.problems.append(f"could not make the figures for the trackers: {exc!r}")
    sinks.close()
    _flag_problems(run, sinks)


def _rank_of(run: Run) -> dict[str, int]:
    """A rank's part of a multi-rank job: its rank and the job's number of ranks."""
    rank = getattr(run, "rank", None)  # a RankRun's RankInfo (greenai.fleet)
    return {} if rank is None else {"rank": rank.rank, "world_size": rank.world_size}


def _flag_problems(run: Run, sinks: Sinks) -> None:
    for problem in sinks.take_problems():
        run.misuse(fl.TRACKER_LOG_FAILED, problem)


def current_run() -> Run | RemoteRun | None:
    """The innermost active run of this context, else of this process, else the
    enclosing ``greenai run`` (from a child process); None outside any run."""
    stack = _CURRENT.get()
    for run in reversed(stack):
        if not run.stopped:
            return run
    active = active_runs()
    if active:
        return active[-1]
    return remote_run()


def start(**kwargs: Any) -> Run:
    """Start a run explicitly; call ``run.stop()`` when done.

    Keywords are the metadata (project, model, base_model, technique, precision, phase,
    batch_size, seq_len, tags, name), per-run settings (country, region, pue, ...) and
    ``log_to`` (see :class:`track`).

    Raises:
        TypeError: An unknown keyword (the message lists the valid ones).
        greenai.ConfigError: An invalid value, before anything starts.
    """
    meta, overrides, tokens = _split(kwargs)
    if tokens is not None:
        raise TypeError("tokens= applies to the decorator only; call run.add_tokens() instead")
    names = sink_names(kwargs.get("log_to"))
    parent = _explicit_parent(kwargs.get("parent")) or _context_parent()
    run = start_run(make_meta(meta), overrides, parent=parent)
    _push(run)
    _log_to(run, names)
    return run


def _push(run: Run) -> None:
    """Put ``run`` on this context's stack, dropping the runs stopped since: a run from
    :func:`start` is stopped where it may not be popped (another thread, ``run.stop()``),
    and a long-lived caller would otherwise keep every run it ever started."""
    _CURRENT.set((*(r for r in _CURRENT.get() if not r.stopped), run))


def _pop(run: Run) -> None:
    stack = _CURRENT.get()
    if run in stack:
        _CURRENT.set(tuple(r for r in stack if r is not run))


def _count_result(run: Run, tokens: Callable[[Any], Any] | None, result: Any) -> None:
    """Apply the decorator's ``tokens=`` callable to the return value."""
    if tokens is None:
        return
    try:
        counted = tokens(result)
    except Exception as exc:  # the callable's bug must not change the result
        run.misuse(fl.TOKENS_CALLBACK, f"tokens= callable failed: {exc!r}")
        return
    if isinstance(counted, Mapping):
        run.add_tokens(input=counted.get("input", 0), output=counted.get("output", 0))
    elif isinstance(counted, tuple) and len(counted) == 2:
        run.add_tokens(input=counted[0], output=counted[1])
    else:
        run.add_tokens(output=counted)


class track:  # noqa: N801 - used as a function: @greenai.track(...), with greenai.track()
    """Track a job as a decorator or a context manager.

    A run started where the caller (its thread or asyncio task) has no run open is a
    root, whatever else runs in the process; inside an open run it is that run's child.
    ``parent=run`` nests it explicitly, across threads and executors.

    As a decorator (sync and async functions, generators), each call is its own run;
    ``tokens=`` receives the return value and returns output tokens, a tuple
    ``(input, output)`` or a dict ``{"input": .., "output": ..}``. As a context manager
    (``with`` or ``async with``) it yields the :class:`~greenai.Run`.

    ``log_to="mlflow"`` (or ``"wandb"``, ``"trackio"``, several as a list or
    ``"mlflow,wandb"``) sends the run's final figures
    (:mod:`greenai.figures.logged`) and tags to each tracker's active run, else to a
    run it starts and ends. A tracker that is missing or fails is a warning and the
    run's ``tracker_log_failed`` flag, never an exception into the job. In a
    multi-rank job only global rank 0 logs, its own part of the job.

    Raises:
        TypeError: An unknown keyword (the message lists the valid ones).
        greenai.ConfigError: An invalid value, before the job starts.
    """

    def __init__(self, **kwargs: Any) -> None:
        self._meta, self._overrides, self._tokens = _split(kwargs)
        self._parent = _explicit_parent(kwargs.get("parent"))
        self._log_to = sink_names(kwargs.get("log_to"))
        make_meta(self._meta)  # fail now on bad metadata, before any job runs
        self._runs: list[Run] = []

    def _start(self) -> Run:
        parent = self._parent or _context_parent()
        run = start_run(make_meta(self._meta), self._overrides, parent=parent)
        _push(run)
        _log_to(run, self._log_to)
        return run

    def _finish(self, run: Run, error: BaseException | None) -> None:
        _pop(run)
        finish(run, "completed", error)

    # -- context manager ---------------------------------------------------------

    def __enter__(self) -> Run:
        run = self._start()
        self._runs.append(run)
        return run

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runs:
            self._finish(self._runs.pop(), exc)

    async def __aenter__(self) -> Run:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    # -- decorator ---------------------------------------------------------------

    def __call__(self, fn: _F) -> _F:
        if inspect.isasyncgenfunction(fn):
            return cast(_F, self._wrap_async_gen(fn))
        if inspect.iscoroutinefunction(fn):
            return cast(_F, self._wrap_async(fn))
        if inspect.isgeneratorfunction(fn):
            return cast(_F, self._wrap_gen(fn))
        return cast(_F, self._wrap_sync(fn))

    def _wrap_sync(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            run = self._start()
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                self._finish(run, exc)
                raise
            _count_result(run, self._tokens, result)
            self._finish(run, None)
            return result

        return wrapper

    def _wrap_async(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            run = self._start()
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                self._finish(run, exc)
                raise
            _count_result(run, self._tokens, result)
            self._finish(run, None)
            return result

        return wrapper

    def _wrap_gen(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            run = self._start()
            try:
                result = yield from fn(*args, **kwargs)
            except BaseException as exc:
                self._finish(run, None if isinstance(exc, GeneratorExit) else exc)
                raise
            _count_result(run, self._tokens, result)
            self._finish(run, None)
            return result

        return wrapper

    def _wrap_async_gen(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            run = self._start()
            try:
                async for item in fn(*args, **kwargs):
                    yield item
            except BaseException as exc:
                self._finish(run, None if isinstance(exc, GeneratorExit) else exc)
                raise
            self._finish(run, None)

        return wrapper
