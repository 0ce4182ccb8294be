"""Options shared by several commands: those that start runs (``greenai run``, ``greenai
bench``), and ``--format`` of those that print a table."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from greenai.errors import ConfigError

Project = Annotated[str | None, typer.Option(help="Project the run belongs to.")]
Model = Annotated[str | None, typer.Option(help="Model that runs.")]
BaseModel = Annotated[
    str | None, typer.Option("--base-model", help="Model the technique was applied to.")
]
Technique = Annotated[
    str | None, typer.Option(help="baseline, bf16, fp16, fp8, int8, int4, pruning, ...")
]
Precision = Annotated[str | None, typer.Option(help="Numeric precision (fp32, bf16, ...).")]
Phase = Annotated[str | None, typer.Option(help="training, fine-tuning, inference or evaluation.")]
BatchSize = Annotated[int | None, typer.Option("--batch-size", help="Batch size.")]
SeqLen = Annotated[int | None, typer.Option("--seq-len", help="Sequence length, tokens.")]
Name = Annotated[str | None, typer.Option(help="A label for the run.")]
Tag = Annotated[list[str] | None, typer.Option("--tag", help="KEY=VALUE, repeatable.")]
DbUrl = Annotated[
    str | None, typer.Option("--db", help="Ledger URL (default: GREENAI_DB_URL or the local file).")
]


class OutputFormat(StrEnum):
    """How a command that prints a table prints what it found.

    ``table`` is for people: figures formatted and laid out (see
    :mod:`greenai.cli.console`). ``json`` and ``csv`` are for programs: raw numbers in
    base units (J, kg, s, tokens, W) under names that carry the unit (``energy_j``,
    ``emissions_kg``), see :mod:`greenai.cli.data_output`.
    """

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


FormatOpt = Annotated[
    OutputFormat,
    typer.Option("--format", help="table (for people), json or csv (raw numbers, units in names)."),
]

LIMIT_MAX = 10_000_000
"""The most rows a ``--limit`` asks for."""


def check_limit(value: int, key: str = "limit") -> int:
    """A number of rows given on the command line: 1 to :data:`LIMIT_MAX`.

    Raises:
        ConfigError: Outside that range (one line, exit code 2).
    """
    if not 1 <= value <= LIMIT_MAX:
        raise ConfigError(key, value, f"a whole number from 1 to {LIMIT_MAX}")
    return value


def parse_tags(tags: list[str] | None) -> dict[str, str]:
    """``["a=1", "b=2"]`` -> ``{"a": "1", "b": "2"}``; ConfigError on a malformed one."""
    out: dict[str, str] = {}
    for tag in tags or []:
        key, sep, value = tag.partition("=")
        if not sep or not key:
            raise ConfigError("tag", tag, "KEY=VALUE")
        out[key] = value
    return out


def meta_values(**values: Any) -> dict[str, Any]:
    """Drop unset options."""
    return {k: v for k, v in values.items() if v is not None}
