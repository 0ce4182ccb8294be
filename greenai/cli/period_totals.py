"""``greenai runs totals --period 2026-Q3`` and ``greenai runs export --period``: a
period's figures from the figures layer, the numbers the dashboard and the report show.

Both read the period's lines as the report does (:func:`greenai.figures.frame.read_lines`):
root runs split at the period's edges in the configured time zone, node idle energy as
lines of its own. ``totals`` adds them up (runs only and the boundary kept apart);
``export --period`` writes the lines themselves, whose columns add up to those totals.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from greenai.cli import options as o
from greenai.cli.console import table_console
from greenai.cli.data_output import csv_text, json_text

if TYPE_CHECKING:
    import pandas as pd

    from greenai.figures.periods import Period

PeriodOpt = Annotated[
    str | None,
    typer.Option(
        "--period",
        help="2026-Q3, 2026-10, 2026 or 2026-07-01..2026-09-30, in the configured time zone.",
    ),
]
LastOpt = Annotated[
    str | None, typer.Option("--last", help="month, quarter or year: the last complete one.")
]
ProjectOpt = Annotated[
    list[str] | None, typer.Option("--project", help="Only this project (repeatable).")
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Count what the ledger held at this ISO 8601 time."),
]

SHOWN = (  # key of totals() -> label, how it is shown, definition key
    ("energy_j", "IT energy, runs only", "energy", "energy_j"),
    ("boundary_energy_j", "IT energy, boundary", "energy", "boundary_energy_j"),
    ("facility_energy_j", "Facility energy, runs only", "energy", None),
    ("boundary_facility_energy_j", "Facility energy, boundary", "energy", None),
    ("emissions_kg", "Emissions (location-based), runs only", "mass", None),
    ("boundary_emissions_kg", "Emissions (location-based), boundary", "mass", None),
    ("scope2_energy_j", "Scope 2 IT energy (own operations, boundary)", "energy", None),
    ("scope3_cloud_energy_j", "Cloud IT energy (Scope 3 category 1)", "energy", None),
    ("runs", "Root runs", "count", None),
    ("tokens_output", "Output tokens", "count", None),
    ("j_per_output_token", "Energy per output token", "per_token", "j_per_output_token"),
    ("measured_share", "Measured share, runs only", "share", "measured_share"),
)  # fmt: skip
LINE_COLUMNS = (
    "id", "kind", "project", "phase", "model", "technique", "hardware", "host_id",
    "scope", "location", "started_at", "ended_at", "share", "split_method", "energy_it_j",
    "facility_j", "measured_j", "loc_kg", "tokens_input", "tokens_output",
)  # fmt: skip
"""The columns ``export --period`` writes, in base units."""


def _period_lines(
    period: str | None,
    last: str | None,
    project: list[str] | None,
    as_of: str | None,
    db: str | None,
) -> tuple[Period, datetime, pd.DataFrame]:
    from greenai.cli.report_cmd import checked_period
    from greenai.config import load_settings
    from greenai.figures.frame import Selection, read_lines
    from greenai.figures.periods import parse_as_of
    from greenai.ledger import Ledger
    from greenai.ledger.journal import unshipped_note

    settings = load_settings({"db_url": db} if db else None)
    chosen = checked_period(period, last, as_of, settings.timezone)
    moment = parse_as_of(as_of, settings.timezone) if as_of else datetime.now(UTC)
    note = unshipped_note(settings.db_url)
    if note is not None:
        typer.echo(f"greenai: note: {note}; the totals leave them out", err=True)
    ledger = Ledger.open(settings.db_url)
    try:
        lines = read_lines(
            ledger,
            [(chosen.start_utc, chosen.end_utc)],
            settings=settings,
            as_of=moment,
            selection=Selection(projects=tuple(sorted(set(project or ())))),
        )
    finally:
        ledger.close()
    return chosen, moment, lines.period(chosen.start_utc, chosen.end_utc)[0]


def _shown(kind: str, value: float) -> str:
    from greenai.figures import units

    if kind == "energy":
        return units.format_energy(value)
    if kind == "mass":
        return units.format_mass(value)
    if kind == "count":
        return units.format_count(value)
    if kind == "per_token":
        return units.format_joules(None if math.isnan(value) else value, per="token")
    return units.MISSING if math.isnan(value) else f"{value:.1%}"


def totals(
    period: PeriodOpt = None,
    last: LastOpt = None,
    project: ProjectOpt = None,
    as_of: AsOfOpt = None,
    format: o.FormatOpt = o.OutputFormat.TABLE,
    db: o.DbUrl = None,
) -> None:
    """Totals of a period as the dashboard and the report count them: runs only and the
    boundary (with node idle energy), Scope 2 and cloud, tokens."""
    from greenai.figures.definitions import DEFINITIONS, stored
    from greenai.figures.frame import totals as add_up

    chosen, moment, lines = _period_lines(period, last, project, as_of, db)
    figures = add_up(lines)
    head = {
        "period": chosen.label,
        "period_start": chosen.start.isoformat(),
        "period_end": chosen.end.isoformat(),
        "timezone": chosen.timezone,
        "as_of": moment.astimezone(UTC).isoformat(),
    }
    data: dict[str, Any] = {**head, **{key: stored(value) for key, value in figures.items()}}
    if format is o.OutputFormat.JSON:
        typer.echo(json_text(data))
        return
    if format is o.OutputFormat.CSV:
        typer.echo(csv_text([data], list(data)), nl=False)
        return
    from rich.table import Table

    table = Table(title=f"{chosen.label} ({chosen.first_day} to {chosen.last_day}, "
                  f"{chosen.timezone})")  # fmt: skip
    for column in ("Figure", "Value", "Definition"):
        table.add_column(column)
    for key, label, kind, definition in SHOWN:
        text = DEFINITIONS[definition].text if definition else ""
        table.add_row(label, _shown(kind, figures[key]), text)
    table_console().print(table)


def export_lines(
    period: str | None,
    last: str | None,
    project: list[str] | None,
    as_of: str | None,
    fmt: o.OutputFormat,
    db: str | None,
) -> None:
    """Prints the period's lines (each root run's share, node idle energy) as data."""
    _, _, lines = _period_lines(period, last, project, as_of, db)
    rows = [
        {column: _plain(row.get(column)) for column in LINE_COLUMNS}
        for row in lines.to_dict("records")
    ]
    if fmt is o.OutputFormat.CSV:
        typer.echo(csv_text(rows, list(LINE_COLUMNS)), nl=False)
    else:
        typer.echo(json_text(rows))


def _plain(value: object) -> object:
    """A line's value for JSON or CSV: NaN and missing as None (empty), tuples as lists."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, tuple):
        return list(value)
    return value
