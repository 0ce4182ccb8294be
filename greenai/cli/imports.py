"""``greenai import codecarbon FILE.csv``: CodeCarbon rows become runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from greenai.cli import options as o

app = typer.Typer(help="Import runs recorded by other tools.", no_args_is_help=True)


@app.command("codecarbon")
def codecarbon(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="emissions.csv")],
    db: o.DbUrl = None,
) -> None:
    """Import CodeCarbon's emissions.csv (re-importing the same rows changes nothing)."""
    from greenai.config import load_settings
    from greenai.interop.codecarbon_csv import read_codecarbon_csv
    from greenai.ledger import Ledger

    records = read_codecarbon_csv(file)
    settings = load_settings({"db_url": db} if db else None)
    ledger = Ledger.open(settings.db_url)
    try:
        for record in records:
            ledger.save_run(record)
    finally:
        ledger.close()
    typer.echo(f"imported {len(records)} run(s) from {file}")
