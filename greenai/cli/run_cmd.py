"""``greenai run [OPTIONS] CMD [ARGS]...``: track a child process and its children.

Options are read up to the command's first word, as ``env`` and ``time`` do: ``--`` is
optional, and an option written after the command's name is the command's. An unknown
greenai option, or no command, is a one-line usage error. The per-run settings given as
options (:mod:`greenai.cli.settings_options`) apply to the run and reach the child as
``GREENAI_<KEY>``, so runs it tracks itself share them (``--run-id`` excepted: it names
this run). When the command ends, one line on stderr sums the run up
(:mod:`greenai.cli.summary`; ``--quiet`` or ``GREENAI_QUIET=1`` silence it).

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
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from greenai.cli import exec_shim
from greenai.cli import options as o
from greenai.cli import settings_options as so

log = logging.getLogger(__name__)
_CLICK = sys.modules[typer.BadParameter.__module__]  # the click typer uses (recent: its own copy)

IGNORED = (signal.SIGINT, signal.SIGQUIT)  # the terminal delivers them to the child itself
FORWARDED = (signal.SIGTERM, signal.SIGHUP)


NOT_INHERITED = ("run_id",)
"""Settings given to ``greenai run`` that its child does not inherit: they name this run."""

Command = Annotated[
    list[str] | None,
    typer.Argument(metavar="COMMAND", help="The command to run, and its arguments."),
]
Quiet = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", envvar="GREENAI_QUIET", help="No summary line when the command ends."
    ),
]


class RunCommand(TyperCommand):
    """``greenai run``'s parsing: options up to the command's first word (``env``-like),
    an unknown option or a missing command as one line, exit code 2."""

    allow_interspersed_args = False
    ignore_unknown_options = False

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            rest: list[str] = super().parse_args(ctx, args)
            if not ctx.params.get("command"):
                raise _CLICK.UsageError(
                    "no command to run: give it after the options, "
                    "e.g. greenai run --country FRA python train.py"
                )
        except _CLICK.UsageError as exc:
            message = exc.format_message()
            if isinstance(exc, _CLICK.NoSuchOption):
                message = message.rstrip(".") + (
                    ". greenai run --help lists greenai's options; the command's own go after "
                    "its name"
                )
            print(f"greenai: error: {message}", file=sys.stderr)
            raise typer.Exit(2) from exc
        return rest

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return ["[OPTIONS]", "COMMAND [ARGS]..."]


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
    # per-run settings: read from ctx.params, by key (settings_options.RUN_SETTINGS)
    country: so.Country = None,
    region: so.Region = None,
    cloud_provider: so.CloudProvider = None,
    cloud_region: so.CloudRegion = None,
    intensity_g_per_kwh: so.Intensity = None,
    factors_file: so.FactorsFile = None,
    pue: so.Pue = None,
    wue: so.Wue = None,
    price_per_kwh: so.PricePerKwh = None,
    currency: so.Currency = None,
    mode: so.Mode = None,
    series_hz: so.SeriesHz = None,
    power_hz: so.PowerHz = None,
    cpu_tdp_w: so.CpuTdpW = None,
    powercap_root: so.PowercapRoot = None,
    heartbeat_s: so.HeartbeatS = None,
    stale_after_s: so.StaleAfterS = None,
    series_tiers: so.SeriesTiers = None,
    host_id: so.HostId = None,
    run_id: so.RunId = None,
    hash_identifiers: so.HashIdentifiers = None,
    store_command: so.StoreCommand = None,
    db: o.DbUrl = None,
    quiet: Quiet = False,
    command: Command = None,
) -> None:
    """Run COMMAND as a tracked run; exits with COMMAND's exit code.

    greenai's options come first: they are read up to the command's first word
    (or --), so the command's own options are never taken for greenai's. When
    COMMAND ends, a line on stderr gives the energy by device kind and method,
    the emissions and the emission factor's source, J per output token when
    tokens were counted, and the run id.
    """
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
    overrides = so.setting_overrides(ctx.params, db)
    raise typer.Exit(track_command(list(command or ()), meta, overrides, quiet=quiet))


def track_command(
    command: list[str], meta: dict[str, Any], overrides: dict[str, Any], *, quiet: bool = False
) -> int:
    """Start a run, run the command under it, stop the run; returns the exit code.

    Args:
        command: The command and its arguments.
        meta: The run's metadata.
        overrides: Per-run settings (configuration keys), also given to the child.
        quiet: No summary line on stderr.
    """
    from greenai.tracking import lifecycle
    from greenai.tracking.meta import make_meta
    from greenai.tracking.remote import ENV_EVENTS, ENV_PARENT, apply_events, read_events
    from greenai.tracking.signals import returncode_outcome

    run = lifecycle.start_run(make_meta(meta), overrides, parent=None, command=shlex.join(command))
    folder = Path(tempfile.mkdtemp(prefix="greenai-run-"))
    events = folder / "events.jsonl"
    events.touch(mode=0o600)
    env = dict(os.environ, **child_settings(overrides, run.settings))
    env.update({ENV_PARENT: run.id, ENV_EVENTS: str(events)})
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
        stored = lifecycle.finish(run, outcome.status, None)
        if not quiet:
            _print_summary(run, stored)  # Ctrl-C still ignored: it cannot cut the line
    finally:
        dispositions.restore()  # after the final record: a Ctrl-C now must not cut it
    _cleanup(folder)
    return 128 - code if code < 0 else code


def child_settings(overrides: Mapping[str, Any], settings: Any) -> dict[str, str]:
    """``GREENAI_<KEY>`` for each setting given on the command line, as the run took it
    (paths made absolute, switches as 1 or 0), but those in :data:`NOT_INHERITED`."""
    from greenai.config import ENV_PREFIX
    from greenai.config.keys import PATH_KEYS

    env: dict[str, str] = {}
    for key, given in overrides.items():
        if key in NOT_INHERITED:
            continue
        value = getattr(settings, key) if key in PATH_KEYS else given
        if isinstance(value, bool):
            value = int(value)
        env[ENV_PREFIX + key.upper()] = str(value)
    return env


def _print_summary(run: Any, stored: str | None) -> None:
    """The summary line on stderr; a failure here is logged, never raised."""
    from greenai.cli.summary import summary_line

    if sys.stderr is None:  # closed (2>&-): print would write to stdout, the child's
        return
    try:
        # One write, so a record the shipper prints on stderr meanwhile cannot land
        # inside the line (print writes the text and its newline apart).
        sys.stderr.write(summary_line(run.to_dict(), stored) + "\n")
        sys.stderr.flush()
    except Exception as exc:  # the summary must never change the exit code
        log.debug("no summary line: %s", exc)


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
