"""Whose ledger file it is: greenai writes runs only into a SQLite file of the current user.

A run's records can hold a command line and identities, so they never go into a file
that another user owns, or into a folder another user (not root) controls and could fill
with a file or a SQLite side file (``-wal``, ``-shm``, ``-journal``) of their own. Folders
listed in ``GREENAI_SAFE_DIRS`` (``*``: all) are trusted whatever their owner.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from greenai.config.trust import (
    SAFE_DIRS_ENV,
    SafeDirs,
    current_euid,
    file_owner_problem,
    untrusted_owner_in_chain,
)
from greenai.errors import StorageError

__all__ = ["SIDE_FILE_SUFFIXES", "check_ledger_owner", "ledger_owner_problem"]

SIDE_FILE_SUFFIXES = ("-wal", "-shm", "-journal")
"""Files SQLite keeps beside a database, written with the same content."""


def ledger_owner_problem(
    path: Path, *, euid: int | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """Why runs must not be written into the SQLite file ``path``, or None.

    Args:
        path: The ledger file (it need not exist yet).
        euid: The user who writes (default: the effective user).
        environ: Where ``GREENAI_SAFE_DIRS`` is read (default ``os.environ``).

    Returns:
        One clause naming the file or folder owned by someone else.
    """
    uid = current_euid() if euid is None else euid
    if uid is None:
        return None
    file = Path(path).expanduser().absolute()
    folders = list(dict.fromkeys(_nearest_existing(f) for f in (file.parent, _real_parent(file))))
    if any(SafeDirs.from_environ(environ).covers(folder) for folder in folders):
        return None
    for candidate in (file, *(file.with_name(file.name + s) for s in SIDE_FILE_SUFFIXES)):
        if candidate.exists():
            problem = file_owner_problem(candidate, (uid,))
            if problem is not None:
                return problem
    for folder in folders:
        problem = untrusted_owner_in_chain(folder, uid)
        if problem is not None:
            return problem
    return None


def check_ledger_owner(
    path: Path, *, euid: int | None = None, environ: Mapping[str, str] | None = None
) -> None:
    """Refuses, before a run starts, a ledger file that is not the current user's.

    Args:
        path: The SQLite ledger file.
        euid: The user who writes (default: the effective user).
        environ: Where ``GREENAI_SAFE_DIRS`` is read (default ``os.environ``).

    Raises:
        StorageError: The file, a side file or a folder above it belongs to someone else.
    """
    problem = ledger_owner_problem(path, euid=euid, environ=environ)
    if problem is None:
        return
    raise StorageError(
        f"will not write runs into the ledger {path}: {problem}",
        url=str(path),
        hint=f"use a ledger of your own (GREENAI_DB_URL or GREENAI_DATA_DIR), or list its "
        f"folder in {SAFE_DIRS_ENV} to trust it",
    )


def _real_parent(file: Path) -> Path:
    try:
        return Path(os.path.realpath(file)).parent
    except (OSError, ValueError):
        return file.parent


def _nearest_existing(folder: Path) -> Path:
    """``folder``, or its nearest parent that exists (where missing folders would be made)."""
    for current in (folder, *folder.parents):
        if current.exists():
            return current
    return folder
