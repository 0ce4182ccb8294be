"""Alembic environment of the ledger.

greenai passes its own connection (``config.attributes["connection"]``) already inside a
transaction, under the upgrade lock. Run by hand with ``alembic -c alembic.ini -x
url=...`` it connects to that URL instead (for writing new revisions).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context

from greenai.ledger.schema import metadata


def _configure(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    """Runs the migrations on greenai's connection, or on the ``-x url=...`` database."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    engine = sa.create_engine(str(url))
    with engine.connect() as conn:
        _configure(conn)
    engine.dispose()


run()
