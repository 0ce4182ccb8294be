"""``greenai db upgrade`` and ``greenai sync``: ledger maintenance."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from greenai.cli import options as o

app = typer.Typer(help="Ledger maintenance.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(db: o.DbUrl = None) -> None:
    """Apply the ledger's schema migrations (under a lock; safe from many nodes at once)."""
    from greenai.config import load_settings
    from greenai.ledger import upgrade as do_upgrade

    settings = load_settings({"db_url": db} if db else None)
    revision = do_upgrade(settings.db_url)
    typer.echo(f"ledger at revision {revision}")


def sync(
    db: o.DbUrl = None,
    from_stderr: Annotated[
        Path | None,
        typer.Option(
            "--from-stderr",
            exists=True,
            dir_okay=False,
            help="Also write the 'greenai: unsaved ...' record lines of this file (a job's "
            "stderr log, when even the journal could not be written).",
        ),
    ] = None,
    legacy_spool: Annotated[
        bool,
        typer.Option(
            "--legacy-spool",
            help="Also replay the old spool folder (records of an unknown ledger) into "
            "this ledger.",
        ),
    ] = False,
) -> None:
    """Ship the ledger's journal: the records written while it was unreachable (exactly
    once, and only into the ledger they were written for); then mark the runs of
    killed jobs (heartbeat stale) interrupted, as every greenai process that writes does."""
    from greenai.config import load_settings
    from greenai.ledger import Ledger, Spool, default_spool_dir
    from greenai.ledger.journal import journal_for
    from greenai.ledger.stderr_records import import_stderr_records

    settings = load_settings({"db_url": db} if db else None)
    journal = journal_for(settings.db_url)
    legacy = Spool(default_spool_dir())
    ledger = Ledger.open(settings.db_url)
    try:
        replayed = journal.replay(ledger)
        if legacy_spool:
            replayed += legacy.replay(ledger)
        from_lines = import_stderr_records(from_stderr, ledger) if from_stderr else None
        stale = ledger.mark_stale_runs(stale_after_s=settings.stale_after_s)
    finally:
        ledger.close()
    typer.echo(f"shipped {replayed} journaled record(s); {journal.pending()} pending")
    if stale:
        typer.echo(f"marked {len(stale)} run(s) interrupted (heartbeat stale)")
    if from_lines is not None:
        typer.echo(
            f"wrote {from_lines.runs} run record(s) and {from_lines.series} series batch(es) "
            f"from {from_stderr}; {from_lines.refused} line(s) refused"
        )
    if not legacy_spool and legacy.pending():
        typer.echo(
            f"{legacy.pending()} record(s) wait in the old spool folder {legacy.folder}, "
            "whose ledger is unknown: 'greenai sync --legacy-spool --db URL' replays them "
            "into the ledger you name",
            err=True,
        )
