"""``greenai run -- CMD``: track a child process and its children.

stdin, stdout and stderr are the child's own, and so is greenai's process group: the
terminal's reads and its Ctrl-C (SIGINT) and Ctrl-\\ (SIGQUIT) reach the child directly,
so greenai ignores those two while the child runs (passing them on too would deliver
them twice). SIGTERM and SIGHUP sent to greenai are passed on. If greenai dies, even by
SIGKILL, the child gets SIGTERM: it starts through :mod:`greenai.cli.exec_shim`, which
sets the parent-death signal and then becomes the command. greenai exits with the
child's exit code (128 + N when a signal N killed it); the run is completed, failed
(a non-zero code, or a crash: SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL) or
interrupted (any other signal), the signal named.

The child finds the run through ``GREENAI_PARENT_RUN_ID`` and reports tokens through
the file named in ``GREENAI_EVENTS_FILE`` (see :mod:`greenai.tracking.remote`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import typer

from greenai.cli import exec_shim
from greenai.cli import options as o

IGNORED = (signal.SIGINT, signal.SIGQUIT)  # the terminal delivers them to the child itself
FORWARDED = (signal.SIGTERM, signal.SIGHUP)


def run(
    ctx: typer.Context,
    project: o.Project = None,
    model: o.Model = None,
    base_model: o.BaseModel = None,
    technique: o.Technique = None,
    precision: o.Precision = None,
    phase: o.Phase = None,
    batch_size: o.BatchSize = None,
    seq_len: o.SeqLen = None,
    name: o.Name = None,
    tag: o.Tag = None,
    db: o.DbUrl = None,
) -> None:
    """Run CMD (after --) as a tracked run; exits with CMD's exit code."""
    command = list(ctx.args)
    if not command:
        raise typer.BadParameter("give the command after --, e.g. greenai run -- python train.py")
    meta = o.meta_values(
        project=project,
        model=model,
        base_model=base_model,
        technique=technique,
        precision=precision,
        phase=phase,
        batch_size=batch_size,
        seq_len=seq_len,
        name=name,
        tags=o.parse_tags(tag) or None,
    )
    overrides = {"db_url": db} if db else {}
    raise typer.Exit(track_command(command, meta, overrides))


def track_command(command: list[str], meta: dict[str, Any], overrides: dict[str, Any]) -> int:
    """Start a run, run the command under it, stop the run; returns the exit code."""
    from greenai.tracking import lifecycle
    from greenai.tracking.meta import make_meta
    from greenai.tracking.remote import ENV_EVENTS, ENV_PARENT, apply_events, read_events
    from greenai.tracking.signals import returncode_outcome

    run = lifecycle.start_run(make_meta(meta), overrides, parent=None, command=shlex.join(command))
    folder = Path(tempfile.mkdtemp(prefix="greenai-run-"))
    events = folder / "events.jsonl"
    events.touch(mode=0o600)
    env = dict(os.environ, **{ENV_PARENT: run.id, ENV_EVENTS: str(events)})
    dispositions = ChildSignals()
    try:
        child = _start(command, env, dispositions)
    except OSError as exc:
        dispositions.restore()
        run.exit_code = 127
        lifecycle.finish(run, "failed", exc)
        print(
            f"greenai: error: cannot start {command[0]!r}: {exc.strerror or exc}", file=sys.stderr
        )
        _cleanup(folder)
        return 127
    try:
        offset = 0
        while True:
            try:
                code = child.wait(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                new, offset = read_events(events, offset)
                apply_events(run, new)
        new, offset = read_events(events, offset)
        apply_events(run, new)
        outcome = returncode_outcome(code)
        run.exit_code, run.error = outcome.exit_code, outcome.error
        lifecycle.finish(run, outcome.status, None)
    finally:
        dispositions.restore()  # after the final record: a Ctrl-C now must not cut it
    _cleanup(folder)
    return 128 - code if code < 0 else code


def _start(
    command: list[str], env: dict[str, str], dispositions: ChildSignals
) -> subprocess.Popen[bytes]:
    """Start the command through the exec shim, in greenai's own process group.

    Raises:
        OSError: The command cannot start (not found, not executable).
    """
    if _executable(command[0], env) is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), command[0])
    defaults = dispositions.take()
    argv = command
    if sys.executable:
        argv = [
            sys.executable, "-I", "-S", exec_shim.__file__, "--parent", str(os.getpid()),
            "--default", ",".join(signal.Signals(s).name[3:] for s in defaults), "--", *command,
        ]  # fmt: skip
    child = subprocess.Popen(argv, env=env)
    dispositions.started(child)
    return child


def _executable(name: str, env: dict[str, str]) -> str | None:
    """Where ``execvp`` would find ``name`` (None: nowhere, or not executable)."""
    if os.sep in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    return shutil.which(name, path=env.get("PATH", os.defpath))


class ChildSignals:
    """greenai's dispositions while its child runs: SIGINT and SIGQUIT ignored (the
    terminal signals the whole process group), SIGTERM and SIGHUP passed on (one that
    comes before the child exists is passed on once it does)."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self._pending: list[int] = []
        self._previous: dict[int, Any] = {}

    def take(self) -> list[int]:
        """Install them (main thread only); returns the signals the child must reset to
        their default: the ignored ones greenai itself did not find ignored."""
        if threading.current_thread() is not threading.main_thread():
            return []
        reset: list[int] = []
        for signum in IGNORED:
            self._previous[signum] = signal.signal(signum, signal.SIG_IGN)
            if self._previous[signum] != signal.SIG_IGN:
                reset.append(signum)
        for signum in FORWARDED:
            self._previous[signum] = signal.signal(signum, self._forward)
        return reset

    def _forward(self, signum: int, _frame: FrameType | None) -> None:
        child = self.child
        if child is None:
            self._pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    def started(self, child: subprocess.Popen[bytes]) -> None:
        """The child exists: pass on what came before."""
        self.child = child
        pending, self._pending = self._pending, []
        for signum in pending:
            self._forward(signum, None)

    def restore(self) -> None:
        """Back to greenai's own dispositions."""
        for signum, handler in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        self._previous.clear()


def _cleanup(folder: Path) -> None:
    for path in folder.iterdir():
        path.unlink(missing_ok=True)
    folder.rmdir()
