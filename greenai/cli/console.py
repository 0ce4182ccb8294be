"""The one place that makes the command line's rich consoles.

On a terminal rich does as it always does: the terminal's width, its colours, live
progress bars. Anywhere else (a pipe, a file, ``make demo > log``, a CI log, a test's
captured output) rich's own default is 80 columns, and an 80-column console squeezes a
wide table into cells wrapped over several lines and cut with ``…``, unreadable in a
log and impossible to grep. So when the output is not a terminal the console gets:

- the width in ``COLUMNS`` when it is set (the user asked for that width; rich, click
  and :func:`shutil.get_terminal_size` read it too);
- otherwise :data:`UNWRAPPED_WIDTH`, wider than any table the CLI prints, so that rich
  lays each table out at its natural width (a table that does not expand takes only
  the width its cells need: nothing is padded out to 10,000 columns) and long lines of
  text stay whole. Measuring each table before printing would do the same at every
  print; one wide console does it once, for tables and text alike;
- no colour, no styles and no cursor movement: ``color_system=None`` and
  ``force_terminal=False``, even under ``FORCE_COLOR`` (which CI systems often set):
  what lands in a file is plain text. Markup such as ``[bold]`` is still read, and
  dropped.

Whether the output is a terminal is asked of the file itself (``isatty``), not of rich,
since ``FORCE_COLOR`` makes rich call any file a terminal of 80 columns.
"""

from __future__ import annotations

import os
import sys
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

UNWRAPPED_WIDTH = 10_000
"""Columns of a console that does not write to a terminal and has no ``COLUMNS``."""


def is_terminal(file: IO[str]) -> bool:
    """Whether ``file`` is a terminal (False for a closed or file-like object)."""
    try:
        return file.isatty()
    except (AttributeError, OSError, ValueError):
        return False


def piped_width_columns() -> int:
    """Columns when not writing to a terminal: ``COLUMNS`` if it is a whole number above
    zero, else :data:`UNWRAPPED_WIDTH`."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return UNWRAPPED_WIDTH


def table_console(file: IO[str] | None = None, *, stderr: bool = False) -> Console:
    """A console for the CLI's tables and messages (see the module's docstring).

    Args:
        file: Where to write; default standard output (or standard error with
            ``stderr``), looked up when printing, as rich does, so that a test runner
            that swaps ``sys.stdout`` still captures it.
        stderr: Write to standard error (messages and progress bars that must keep
            standard output for data such as ``--format json``).

    Returns:
        rich's own console on a terminal; else a wide console of plain text.
    """
    from rich.console import Console

    target = file if file is not None else (sys.stderr if stderr else sys.stdout)
    if is_terminal(target):
        return Console(file=file, stderr=stderr)
    return Console(
        file=file,
        stderr=stderr,
        width=piped_width_columns(),
        color_system=None,
        force_terminal=False,
        force_interactive=False,
        legacy_windows=False,
    )
