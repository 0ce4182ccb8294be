"""``greenai run -- CMD``: track a child process and its children.

stdin, stdout and stderr are the child's own; SIGINT, SIGTERM and SIGHUP are passed on
to it; greenai exits with the child's exit code (128 + N when a signal N killed it).
The child finds the run through ``GREENAI_PARENT_RUN_ID`` and reports tokens through
the file named in ``GREENAI_EVENTS_FILE`` (see :mod:`greenai.tracking.remote`).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import typer

from greenai.cli import options as o


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

    run = lifecycle.start_run(make_meta(meta), overrides, parent=None, command=shlex.join(command))
    folder = Path(tempfile.mkdtemp(prefix="greenai-run-"))
    events = folder / "events.jsonl"
    events.touch(mode=0o600)
    env = dict(os.environ, **{ENV_PARENT: run.id, ENV_EVENTS: str(events)})
    try:
        child = subprocess.Popen(command, env=env)
    except OSError as exc:
        lifecycle.finish(run, "failed", exc)
        print(f"greenai: error: cannot start {command[0]!r}: {exc}", file=sys.stderr)
        return 127
    previous = _forward_signals(child)
    offset = 0
    try:
        while True:
            try:
                code = child.wait(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                new, offset = read_events(events, offset)
                apply_events(run, new)
    finally:
        _restore_signals(previous)
    new, offset = read_events(events, offset)
    apply_events(run, new)
    run.exit_code = code
    status = "completed" if code == 0 else ("interrupted" if code < 0 else "failed")
    lifecycle.finish(run, status, None)
    _cleanup(folder)
    return 128 - code if code < 0 else code


def _forward_signals(child: subprocess.Popen[bytes]) -> dict[int, Any]:
    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        previous[signum] = signal.signal(signum, forward)
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _cleanup(folder: Path) -> None:
    for path in folder.iterdir():
        path.unlink(missing_ok=True)
    folder.rmdir()
