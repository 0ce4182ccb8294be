"""Host and user names hashed with the ledger's key, also while the ledger is down.

The key lives in the ledger (:func:`~greenai.ledger.identifiers.hash_identifier`). Once
read, a copy is kept beside the ledger's journal (mode 0600, the user's own folder), so
a run that starts while the ledger is unreachable still stores the same pseudonyms as
every other run. Only a machine that never reached the ledger stores ``redacted``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from greenai.ledger.identifiers import ledger_hash_key, pseudonym
from greenai.ledger.paths import make_private_dirs

log = logging.getLogger(__name__)

KEY_FILE = "HASH_KEY"
REDACTED = "redacted"
KEY_WAIT_S = 5.0


def hashed_names(writer: Any, names: list[str]) -> list[str]:
    """``names`` hashed with the key of ``writer``'s ledger (``redacted`` without one)."""
    key = _ledger_key(writer) or _cached_key(writer.journal.folder)
    return [pseudonym(key, name) if key else REDACTED for name in names]


def _ledger_key(writer: Any) -> str | None:
    found: list[str] = []

    def work(sink: Any) -> None:
        sink.to_ledger(lambda ledger: found.append(ledger_hash_key(ledger)))

    writer.call(work, wait_s=KEY_WAIT_S)
    if not found:
        return None
    _keep(writer.journal.folder, found[0])
    return found[0]


def _keep(folder: Path, key: str) -> None:
    path = folder / KEY_FILE
    try:
        if path.is_file() and path.read_text(encoding="utf-8").strip() == key:
            return
        make_private_dirs(folder)
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(key + "\n")
    except OSError as exc:
        log.debug("cannot keep the ledger's hashing key in %s: %s", folder, exc)


def _cached_key(folder: Path) -> str | None:
    try:
        return (folder / KEY_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None
