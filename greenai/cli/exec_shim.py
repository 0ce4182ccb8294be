"""Become ``greenai run``'s command in a way that dies with greenai: the parent-death signal.

Run as ``python -I -S .../exec_shim.py --parent PID [--default INT,QUIT] -- CMD ARGS...``
(``python -m greenai.cli.exec_shim ...`` works too). In order:

1. On Linux, ask the kernel to send this process SIGTERM when its parent dies
   (``prctl(PR_SET_PDEATHSIG)``, kept across ``execve``), so that a ``greenai run``
   killed even by SIGKILL leaves no child running untracked.
2. Check that the parent is still ``PID``: if it died before step 1, this process is an
   orphan already and the command must not start (it ends as SIGTERM would end it).
3. Reset the ``--default`` signals to their default action: ``greenai run`` ignores
   SIGINT and SIGQUIT while its child runs (the terminal delivers them to the child
   directly), and an ignored signal would stay ignored across ``execve``.
4. ``os.execvp`` the command: same process, pid and process group (terminal reads go on
   working); a command that cannot start is reported as a shell does (127, 126).

Not ``preexec_fn``: that runs Python between ``fork`` and ``exec`` in a parent with
threads. The standard library only, imported as needed, so a start stays cheap.
"""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
USAGE = "usage: exec_shim --parent PID [--default SIG,...] -- CMD [ARGS...]"


def set_parent_death_signal(signum: int) -> bool:
    """Have the kernel send ``signum`` to this process when its parent dies (Linux only).

    Returns:
        Whether it is set.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)) == 0
    except (OSError, AttributeError):  # no libc or no prctl: go on without it
        return False


def parse(argv: list[str]) -> tuple[int, list[signal.Signals], list[str]]:
    """``--parent PID [--default INT,QUIT] -- CMD...`` -> (PID, signals, command).

    Raises:
        ValueError: Anything else.
    """
    if "--" not in argv:
        raise ValueError(USAGE)
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    if not command or len(options) % 2:
        raise ValueError(USAGE)
    values = dict(zip(options[::2], options[1::2], strict=True))
    if set(values) - {"--parent", "--default"} or "--parent" not in values:
        raise ValueError(USAGE)
    defaults = [
        signal.Signals[f"SIG{name}"] for name in values.get("--default", "").split(",") if name
    ]
    return int(values["--parent"]), defaults, command


def main(argv: list[str] | None = None) -> int:
    """Exec the command (returns only when it cannot start: the exit code)."""
    try:
        parent, defaults, command = parse(sys.argv[1:] if argv is None else argv)
    except (ValueError, KeyError) as exc:
        print(f"greenai exec shim: {exc}", file=sys.stderr)
        return 2
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent:  # greenai run is gone already: do not start untracked
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return 128 + signal.SIGTERM
    for signum in defaults:
        signal.signal(signum, signal.SIG_DFL)
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"greenai: error: cannot start {command[0]!r}: {reason}", file=sys.stderr)
        return 126 if isinstance(exc, PermissionError) else 127
    return 127  # not reached: execvp returns only by raising


if __name__ == "__main__":
    sys.exit(main())
