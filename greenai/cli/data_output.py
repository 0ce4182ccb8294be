"""``--format json`` and ``--format csv``: rows as data for programs, one home.

Values are written as they are held, in base units (J, kg, s, tokens, W) under names
that carry the unit (``energy_j``, ``emissions_kg``); nothing is rounded or formatted
for people (that is the table's job). Timestamps are ISO 8601. In CSV, a dict or list
value is one cell of JSON, and text a spreadsheet would evaluate as a formula is
neutralised (:mod:`greenai.interop.formula_cells`). A lone surrogate (text decoded from
undecodable bytes, such as a path) cannot be written as UTF-8: JSON escapes it, CSV
writes it as ``\udc80``; control characters stay as they are in both (they are data).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal


def json_default(value: object) -> str:
    """What :func:`json.dumps` writes for a value it has no rule for: ISO 8601 for a
    timestamp, else the value's text."""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def json_text(value: object) -> str:
    """``value`` as indented JSON (no trailing newline)."""
    return json.dumps(value, indent=2, default=json_default)


def csv_cell(value: object) -> object:
    """A value for a CSV writer: JSON for a dict or list, ISO 8601 for a timestamp, text
    neutralised against formulas (lone surrogates as escapes), numbers as they are."""
    from greenai.interop.formula_cells import csv_value

    if isinstance(value, dict | list | tuple):
        return csv_value(json.dumps(value, default=json_default, sort_keys=True))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return csv_value(value)


def csv_text(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    extra: Literal["ignore", "raise"] = "ignore",
) -> str:
    """``rows`` as CSV text with a header of ``columns`` (newline-terminated lines).

    Args:
        rows: One mapping per line; a key a row lacks is an empty cell.
        columns: The header, in order.
        extra: A row's keys outside ``columns``: ``ignore`` them, or ``raise``
            ValueError (where ``columns`` must name every key).
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction=extra, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        cells = {key: csv_cell(value) for key, value in row.items()}
        writer.writerow({**dict.fromkeys(columns), **cells})
    return out.getvalue()
