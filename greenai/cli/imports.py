"""``greenai import codecarbon FILE.csv``: CodeCarbon rows become runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from greenai.cli import options as o

app = typer.Typer(help="Import runs recorded by other tools.", no_args_is_help=True)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


@app.command("codecarbon")
def codecarbon(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="emissions.csv")],
    db: o.DbUrl = None,
) -> None:
    """Import CodeCarbon's emissions.csv, all rows or none (re-importing the same rows
    changes nothing). A refused file names the line and column of each problem."""
    import sqlalchemy as sa

    from greenai.cli.import_progress import import_progress
    from greenai.config import load_settings
    from greenai.interop.codecarbon_import import import_codecarbon, known_countries
    from greenai.interop.problems import CsvImportError
    from greenai.ledger import Ledger

    settings = load_settings({"db_url": db} if db else None)
    countries = known_countries()
    ledger = Ledger.open(settings.db_url)
    try:
        with import_progress(file.name, file.stat().st_size) as on_progress:
            saved = import_codecarbon(file, ledger, countries=countries, on_progress=on_progress)
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
    typer.echo(f"imported {rows} as {runs} from {file}")
