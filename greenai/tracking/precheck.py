"""Ledger checks cheap enough for a run's start: a bad URL or a foreign file fails early."""

from __future__ import annotations

from pathlib import Path

from greenai.errors import ConfigError, StorageError
from greenai.ledger.paths import is_sqlite_file, sqlite_file_of

_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql")


def check_url(url: str | None, default_file: Path | None = None) -> None:
    """Fail before the job starts on a malformed URL or a file that is not a SQLite database.

    Args:
        url: The configured ledger URL, or None for the default file.
        default_file: The default ledger file (checked when ``url`` is None).

    Raises:
        ConfigError: The URL is not a database URL.
        StorageError: The SQLite file exists and is not a SQLite database, or it (or a
            folder above it) belongs to another user.
    """
    if url is not None:
        scheme = url.split("://", 1)[0].split("+", 1)[0].lower() if "://" in url else ""
        if scheme not in _SCHEMES:
            raise ConfigError(
                "db_url",
                url,
                "a SQLAlchemy URL such as sqlite:////path/ledger.db or "
                "postgresql+psycopg://user@host/db",
            )
        path = sqlite_file_of(url) if scheme == "sqlite" else None
    else:
        path = default_file
    if path is None:
        return
    from greenai.ledger.owner import check_ledger_owner

    try:
        check_ledger_owner(path)
        if not path.is_file():
            return
    except OSError as exc:  # a name too long for the file system, a path through a file
        hint = f"a path this machine can hold ({exc.strerror})"
        raise ConfigError("db_url", str(path), hint) from None

    if not is_sqlite_file(path):
        raise StorageError(
            f"{path} is not a SQLite database",
            url=str(path),
            hint="move the file away or point GREENAI_DB_URL at another ledger",
        )
