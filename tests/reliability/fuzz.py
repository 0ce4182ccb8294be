"""What the fuzz tests of the reliability suite share: hostile text, hypothesis settings,
and ``greenai`` run in this process with the rule its output must follow.

The rule for a command (:func:`assert_handled`), whatever it was given:

- nothing escapes but ``SystemExit`` (typer's exits) or a :class:`GreenAIError`, which
  ``greenai.cli.main.main`` prints as one line ``greenai: error: ...`` with exit code 2
  (this module prints it the same way, so the output is what a user sees);
- no ``Traceback`` in the output;
- exit code 0, or a refusal: click's usage error (exit code 2, ``Usage:`` and typer's
  boxed ``Error`` panel, the one multi-line form allowed, as typer draws it for every
  command), or stderr lines that are each a greenai message (``greenai: ...``), the
  refusal itself being ``max_error_lines`` lines at most (1 by default; an import that
  names each of its first problems gives more) after any ``greenai: note:`` lines.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from greenai.errors import GreenAIError
from tests.reliability.figures import sized

__all__ = [
    "ARGV_TEXT",
    "MARKUP",
    "TEXT",
    "Outcome",
    "assert_handled",
    "fuzz_settings",
    "huge",
    "invoke",
]

MARKUP = [
    "<script>alert(1)</script>",
    "<b onmouseover=x>",
    "'; DROP TABLE runs; --",
    "\x00",
    "[/]",  # rich markup: a closing tag with nothing to close
    "[bold red]x[/bold red]",
    "[link=javascript:alert(1)]x",
    "\x1b[31mred\x1b[0m",  # a terminal escape
    "=cmd|' /C calc'!A0",  # a spreadsheet formula
    "-1e400",
    "9" * 400,
    "\u202egnp.exe",  # right-to-left override
    "line\nbreak\r\n",
]


def huge(seed: str) -> str:
    """``seed`` repeated to 100 kB."""
    return (seed * (100_000 // len(seed) + 1))[:100_000]


TEXT = st.one_of(
    st.text(),
    st.text(st.characters(codec=None, categories=None), max_size=50),  # surrogates included
    st.sampled_from(MARKUP),
    st.text(min_size=1, max_size=8).map(huge),
    st.text(max_size=20).map(lambda s: s + "\x00" + s),
)
"""Any Python text: unicode, lone surrogates, NUL, markup, 100 kB."""

ARGV_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(MARKUP),
    st.binary(max_size=30).map(os.fsdecode),  # bytes that are not UTF-8, as argv holds them
    st.text(min_size=1, max_size=4).map(huge),
    st.text(max_size=10).map(lambda s: s + "\x00" + s),
)
"""Text as a command line gives it: surrogate-escaped bytes rather than any surrogate.
A real argv cannot hold NUL, but the same values reach the same parsers from config
files and the API, so NUL is tried too."""


def fuzz_settings(ci: int, full: int) -> settings:
    """Hypothesis settings of a fuzz test: ``ci`` examples in ``make test``, ``full``
    under ``make reliability``; no deadline (2 shared cores), fixtures shared by the
    examples of one test (each test says why that is safe); a failure is shrunk but not
    explained (that phase reruns it for minutes here)."""
    return settings(
        max_examples=sized(ci, full),
        deadline=None,
        phases=[p for p in Phase if p is not Phase.explain],  # minutes on 2 cores
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


@dataclass(frozen=True)
class Outcome:
    """What ``greenai ARGS`` did in this process, as a user would see it."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str


def invoke(args: Sequence[str], env: Mapping[str, str] | None = None) -> Outcome:
    """Runs ``greenai ARGS`` through typer's test runner, as ``greenai.cli.main.main``
    would (a GreenAIError becomes its one line and exit code 2).

    Raises:
        AssertionError: Another exception escaped the command (its traceback shown).
    """
    from typer.testing import CliRunner

    from greenai.cli.main import app

    result = CliRunner().invoke(app, list(args), env=dict(env) if env is not None else None)
    escaped = result.exception
    stdout, stderr, code = result.stdout, result.stderr, result.exit_code
    if isinstance(escaped, GreenAIError):
        stderr += f"greenai: error: {escaped}\n"
        code = 2
    elif escaped is not None and not isinstance(escaped, SystemExit):
        assert result.exc_info is not None
        shown = "".join(traceback.format_exception(*result.exc_info))
        raise AssertionError(f"greenai {list(args)!r} raised:\n{shown}")
    return Outcome(tuple(args), code, stdout, stderr)


def assert_handled(outcome: Outcome, *, max_error_lines: int = 1) -> None:
    """The command worked, or refused with a usage error or greenai's own message
    (the rule in the module docstring)."""
    shown = f"greenai {list(outcome.args)!r}: exit {outcome.exit_code}\n{outcome.stderr}"
    assert "Traceback" not in outcome.stdout + outcome.stderr, shown
    if outcome.exit_code == 0:
        return
    assert outcome.exit_code in (1, 2), shown
    if outcome.exit_code == 2 and "Usage:" in outcome.stderr:
        assert "Error" in outcome.stderr, shown
        return
    lines = outcome.stderr.splitlines()
    assert lines, shown
    assert all(line.startswith("greenai: ") for line in lines), shown
    refusal = [line for line in lines if not line.startswith("greenai: note: ")]
    assert 1 <= len(refusal) <= max_error_lines, shown


def assert_one_line(exc: BaseException) -> None:
    """The refusal reads as one line once the command line prints it (``greenai: error:``)."""
    message = f"greenai: error: {exc}"
    assert len(message.splitlines()) == 1, message[:2000]
