"""``greenai runs card ID``: a Hugging Face model card's energy figures from a run.

Prints the ``co2_eq_emissions`` front matter and the energy section (between its
markers, so a card it is pasted into can be updated later), or ``--format json``; with
``--output README.md`` it creates or updates that card in place
(:mod:`greenai.reports.model_card_file`). A resumed training's card counts the
sessions before it, unless ``--this-run-only``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from greenai.cli import options as o
from greenai.cli.data_output import json_text
from greenai.errors import ConfigError


class CardFormat(StrEnum):
    """How ``runs card`` prints a card's figures."""

    MARKDOWN = "markdown"
    JSON = "json"


FormatOpt = Annotated[
    CardFormat,
    typer.Option(
        "--format",
        help="markdown (front matter and section, to paste into a card) or json "
        "(metadata and paragraph).",
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Create or update this model card (README.md): co2_eq_emissions merged into "
        "its front matter, the energy section replaced; the rest kept.",
        dir_okay=False,
    ),
]


ThisRunOnlyOpt = Annotated[
    bool,
    typer.Option(
        "--this-run-only",
        help="Count this run only, not the earlier sessions a resumed training continued "
        "(its resumed_from tags).",
    ),
]


def card(
    run_id: Annotated[str, typer.Argument(help="Run id (a multi-rank job's id: the whole job).")],
    output: OutputOpt = None,
    format: FormatOpt = CardFormat.MARKDOWN,
    this_run_only: ThisRunOnlyOpt = False,
    db: o.DbUrl = None,
) -> None:
    """Model card figures of a run: Hugging Face's co2_eq_emissions and an energy section."""
    if output is not None and format is CardFormat.JSON:
        raise ConfigError("format", format.value, "markdown with --output (a card is Markdown)")
    from greenai.reports.model_card import ModelCardError
    from greenai.reports.model_card_file import (
        card_for_run,
        dump_yaml,
        marked_section,
        update_card_file,
    )

    try:
        found = card_for_run(run_id, url=db, sessions=not this_run_only)
        if output is not None:
            update_card_file(output, found.metadata, found.paragraph)
        else:
            front = dump_yaml(found.metadata)
    except ModelCardError as exc:
        typer.echo(f"greenai: {exc}", err=True)
        raise typer.Exit(1) from exc
    if output is not None:
        typer.echo(f"greenai: {output}: energy figures of run {found.run_id}", err=True)
    elif format is CardFormat.JSON:
        payload: dict[str, Any] = {"run_id": found.run_id, "sessions": list(found.sessions)}
        payload |= {"metadata": found.metadata, "paragraph": found.paragraph}
        typer.echo(json_text(payload))
    else:
        typer.echo(f"---\n{front}---\n\n{marked_section(found.paragraph)}")
