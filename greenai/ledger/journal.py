"""The write-ahead journal of one ledger: where its records wait until they are shipped.

Each ledger has its own folder, ``<data dir>/journal/<key>``, where the key is a hash of
the ledger's identity: the SQLite file's real path, or the server's backend, user, host,
port and database (never the password, so a changed password keeps the journal). A
``LEDGER`` file in the folder names that identity, for people. The records themselves
are :class:`~greenai.ledger.spool.Spool` files: fsync'd JSON written under a temporary
name and renamed, replayed newest-per-run. A journal only ever ships into the ledger it
was written for.

No SQLAlchemy at import: the tracker writes the journal on the job's thread.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from greenai.ledger.paths import (
    data_dir_path,
    default_ledger_path,
    make_private_dirs,
    sqlite_file_of,
)
from greenai.ledger.spool import FileOps, Spool

__all__ = ["JOURNAL_FOLDER", "LABEL_FILE", "journal_for", "ledger_identity", "unshipped_note"]

JOURNAL_FOLDER = "journal"
LABEL_FILE = "LEDGER"
KEY_CHARS = 24
_DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "mysql": 3306, "mariadb": 3306}


def ledger_identity(url: str | None, data_dir: Path | None = None) -> str:
    """What names a ledger whatever its URL's spelling: the real path of a SQLite file,
    else ``backend://user@host:port/database`` (no driver, no password, no options)."""
    if url is None:
        return "sqlite:" + os.path.realpath(default_ledger_path(data_dir))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    backend = parts.scheme.split("+", 1)[0].lower()
    if backend == "sqlite":
        path = sqlite_file_of(url)
        return url if path is None else "sqlite:" + os.path.realpath(path)
    host = (parts.hostname or "").lower() or ",".join(parse_qs(parts.query).get("host", []))
    port = port or _DEFAULT_PORTS.get(backend)
    database = parts.path.lstrip("/")
    return f"{backend}://{parts.username or ''}@{host}:{port}/{database}"


def journal_for(
    url: str | None, data_dir: Path | None = None, *, ops: FileOps | None = None
) -> Spool:
    """The journal of the ledger at ``url`` (None: the default SQLite ledger).

    Args:
        url: The ledger URL.
        data_dir: The per-user data folder (default: ``GREENAI_DATA_DIR``, else the
            platform's).
        ops: File operations (tests inject failures such as a full disk).
    """
    identity = ledger_identity(url, data_dir)
    key = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:KEY_CHARS]
    folder = data_dir_path(data_dir) / JOURNAL_FOLDER / key
    return Spool(folder, ops=ops, on_create=lambda: _write_label(folder, identity))


def _write_label(folder: Path, label: str) -> None:
    """Names the ledger in the journal's folder (once; best effort)."""
    path = folder / LABEL_FILE
    if path.exists():
        return
    make_private_dirs(folder)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(label + "\n")


def unshipped_note(url: str | None, data_dir: Path | None = None) -> str | None:
    """What readers of the ledger print when this machine's journal of it holds records
    not shipped yet (the ledger's figures miss them), else None. Never raises."""
    try:
        pending = journal_for(url, data_dir).pending()
    except (OSError, ValueError):
        return None
    if not pending:
        return None
    return (
        f"{pending} record(s) in this machine's journal of the ledger are not shipped yet "
        "(the ledger was unreachable); 'greenai sync' ships them"
    )
