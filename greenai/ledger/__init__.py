"""The run ledger: SQLite by default, PostgreSQL for fleets; the spool; migrations.

Light to import: :class:`Spool`, :class:`RecordSink` and the path helpers load no
SQLAlchemy; :class:`Ledger` and the migration helpers load it on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "HEAD_REVISION",
    "Ledger",
    "RecordSink",
    "Spool",
    "current_revision",
    "default_ledger_path",
    "default_spool_dir",
    "hash_identifier",
    "upgrade",
]

if TYPE_CHECKING:
    from greenai.ledger.identifiers import hash_identifier
    from greenai.ledger.ledger import Ledger
    from greenai.ledger.migrate import HEAD_REVISION, current_revision, upgrade
    from greenai.ledger.paths import default_ledger_path, default_spool_dir
    from greenai.ledger.sink import RecordSink
    from greenai.ledger.spool import Spool

_LAZY = {
    "HEAD_REVISION": "greenai.ledger.migrate",
    "Ledger": "greenai.ledger.ledger",
    "RecordSink": "greenai.ledger.sink",
    "Spool": "greenai.ledger.spool",
    "current_revision": "greenai.ledger.migrate",
    "default_ledger_path": "greenai.ledger.paths",
    "default_spool_dir": "greenai.ledger.paths",
    "hash_identifier": "greenai.ledger.identifiers",
    "upgrade": "greenai.ledger.migrate",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'greenai.ledger' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
