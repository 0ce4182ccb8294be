"""Ledger checks cheap enough for a run's start: a bad URL or a foreign file fails early."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

from greenai.errors import ConfigError, StorageError

_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql")


def _sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///path`` URL (None for memory databases and URI forms)."""
    rest = url.split("://", 1)[1]
    path = rest[1:] if rest.startswith("/") else rest
    path, _, query = path.partition("?")
    if any(k == "uri" and v.lower() in ("true", "1") for k, v in parse_qsl(query)):
        return None
    if not path or path == ":memory:":
        return None
    return Path(path)


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
        path = _sqlite_file(url) if scheme == "sqlite" else None
    else:
        path = default_file
    if path is None:
        return
    from greenai.ledger.owner import check_ledger_owner
    from greenai.ledger.paths import is_sqlite_file

    check_ledger_owner(path)
    if not path.is_file():
        return

    if not is_sqlite_file(path):
        raise StorageError(
            f"{path} is not a SQLite database",
            url=str(path),
            hint="move the file away or point GREENAI_DB_URL at another ledger",
        )
