"""``greenai import codecarbon FILE.csv``: CodeCarbon rows become runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from greenai.cli import options as o

app = typer.Typer(help="Import runs recorded by other tools.", no_args_is_help=True)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


TimezoneOpt = Annotated[
    str | None,
    typer.Option(
        "--timezone",
        help="IANA time zone of timestamps written without offset (CodeCarbon writes the"
        " tracking machine's local time); default: the configured timezone.",
    ),
]


def _settings(db: str | None, timezone: str | None) -> Any:
    """The settings with ``--db`` and ``--timezone``; a bad value exits 2 in one line."""
    from greenai.config import load_settings
    from greenai.errors import ConfigError

    overrides = {k: v for k, v in (("db_url", db), ("timezone", timezone)) if v is not None}
    try:
        return load_settings(overrides or None)
    except ConfigError as exc:
        typer.echo(f"greenai: error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command("codecarbon")
def codecarbon(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="emissions.csv")],
    timezone: TimezoneOpt = None,
    db: o.DbUrl = None,
) -> None:
    """Import CodeCarbon's emissions.csv, all rows or none: one run per CodeCarbon run
    (its last cumulative row, so flushed and update-mode files count once), re-importing
    the same or a grown file changes nothing else, and greenai's own exports coming back
    are recognised. A refused file names the line and column of each problem."""
    import sqlalchemy as sa

    from greenai.cli.import_progress import import_progress
    from greenai.figures.periods import zone
    from greenai.interop.codecarbon_import import import_codecarbon, known_countries
    from greenai.interop.problems import CsvImportError
    from greenai.ledger import Ledger

    settings = _settings(db, timezone)
    local = zone(settings.timezone)
    countries = known_countries()
    ledger = Ledger.open(settings.db_url)
    try:
        with import_progress(file.name, file.stat().st_size) as on_progress:
            saved = import_codecarbon(
                file, ledger, countries=countries, zone=local, on_progress=on_progress
            )
    except CsvImportError as exc:
        for line in exc.lines():
            typer.echo(f"greenai: error: {line}", err=True)
        raise typer.Exit(2) from None
    except sa.exc.SQLAlchemyError as exc:
        reason = str(exc).splitlines()[0]
        message = f"the ledger refused the import: {reason}; nothing imported"
        typer.echo(f"greenai: error: {message}", err=True)
        raise typer.Exit(2) from None
    finally:
        ledger.close()
    rows, runs = _plural(saved.rows, "row"), _plural(saved.runs, "run")
    known = f"; {_plural(saved.known, 'run')} already in the ledger" if saved.known else ""
    typer.echo(f"imported {rows} as {runs} from {file}{known}")
