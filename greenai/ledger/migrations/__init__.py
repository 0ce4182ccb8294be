"""Alembic migrations of the ledger (run through :mod:`greenai.ledger.migrate`)."""
