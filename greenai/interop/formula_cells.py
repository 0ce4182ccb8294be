"""CSV cells that a spreadsheet would run as formulas: the OWASP rule, one home.

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
leading ``'`` when written, so a spreadsheet shows it as text instead of evaluating it.
Numbers are never changed (``-2.5`` stays a number). Text that already starts with
apostrophes followed by such a character gets one more, so :func:`restore_text` undoes
:func:`neutralise_text` for every string: an export re-imports to the same values.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet evaluate a cell."""

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _after_quotes_is_formula(text: str) -> bool:
    return text.lstrip("'").startswith(FORMULA_STARTS)


def neutralise_text(text: str) -> str:
    """``text`` as a CSV cell that no spreadsheet evaluates.

    ``=SUM(A1)`` -> ``'=SUM(A1)``; ``'=x`` -> ``''=x``; ``-3.5`` (a number) and ``plain``
    are unchanged.
    """
    if not _after_quotes_is_formula(text):
        return text
    if not text.startswith("'") and _NUMBER.fullmatch(text):
        return text
    return "'" + text


def restore_text(cell: str) -> str:
    """The text that :func:`neutralise_text` turned into ``cell``."""
    if cell.startswith("'") and _after_quotes_is_formula(cell[1:]):
        return cell[1:]
    return cell


def csv_value(value: object) -> object:
    """A value for a CSV writer: text neutralised, anything else (numbers) as it is."""
    return neutralise_text(value) if isinstance(value, str) else value
