"""``greenai db upgrade`` and ``greenai sync``: ledger maintenance."""

from __future__ import annotations

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


def sync(db: o.DbUrl = None) -> None:
    """Write the run records spooled while the ledger was unreachable (exactly once)."""
    from greenai.config import load_settings
    from greenai.ledger import Ledger, Spool, default_spool_dir

    settings = load_settings({"db_url": db} if db else None)
    spool = Spool(default_spool_dir())
    ledger = Ledger.open(settings.db_url)
    try:
        replayed = spool.replay(ledger)
    finally:
        ledger.close()
    typer.echo(f"replayed {replayed} spooled record(s); {spool.pending()} pending")
