"""Where configuration values come from: arguments, environment, a TOML file, defaults."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from greenai.config.keys import PATH_KEYS, parse_value
from greenai.config.settings import Settings, unknown_key
from greenai.config.toml_file import read_toml
from greenai.config.trust import (
    SAFE_DIRS_ENV,
    SafeDirs,
    config_file_problem,
    current_euid,
    foreign_folder,
)
from greenai.errors import ConfigError

__all__ = ["CONFIG_ENV", "ENV_PREFIX", "find_config_file", "load_settings"]

ENV_PREFIX = "GREENAI_"
CONFIG_ENV = "GREENAI_CONFIG"
"""Environment variable naming the configuration file (skips the search)."""

_KEYS = Settings.keys()
_MENTION_BYTES = 1 << 20
_GREENAI_TABLE = re.compile(rb"(?m)^[ \t]*\[?[ \t]*tool[ \t]*\.[ \t]*\"?greenai\b")

log = logging.getLogger(__name__)


def load_settings(
    overrides: Mapping[str, object] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Loads the configuration: overrides > ``GREENAI_<KEY>`` > config file > defaults.

    Args:
        overrides: Values given in code or on the command line; a None value counts as
            not given, so unset options can be passed through as they are.
        environ: The environment (default ``os.environ``); empty variables are ignored.
        cwd: Where the search for a config file starts, and the folder relative paths of
            the environment and the overrides are taken from (default: the process cwd).
            ``GREENAI_CACHE_DIR`` (the factor cache used to check locations) is read from
            the process environment, not from ``environ``.

    Returns:
        Validated settings.

    Raises:
        ConfigError: A value is invalid, a key unknown, or the config file unreadable.
    """
    env = os.environ if environ is None else environ
    base = Path.cwd() if cwd is None else Path(cwd).absolute()
    values: dict[str, Any] = {}
    found = find_config_file(env, base)
    if found is not None:
        values.update(_file_values(*found))
    values.update(_env_values(env, base))
    values.update(_override_values(overrides or {}, base))
    return Settings(**values)


def find_config_file(
    environ: Mapping[str, str], cwd: Path, *, euid: int | None = None
) -> tuple[Path, bool] | None:
    """The configuration file in use, and whether it is a ``pyproject.toml``.

    ``GREENAI_CONFIG`` names it, else the nearest ``greenai.toml``, or ``pyproject.toml``
    with a ``[tool.greenai]`` table, from ``cwd`` upwards; in one folder ``greenai.toml``
    wins. The search ends at the home directory (included), the filesystem root, or a
    folder owned by another user than the current one or root. A file found there that
    cannot be trusted (see :mod:`greenai.config.trust`) is ignored with a warning naming
    it; the file ``GREENAI_CONFIG`` names is used anyway, with a warning.

    Args:
        environ: The environment (``GREENAI_CONFIG``, ``GREENAI_SAFE_DIRS``, ``HOME``).
        cwd: Where the search starts.
        euid: The user whose files are trusted (default: the effective user).

    Raises:
        ConfigError: ``GREENAI_CONFIG`` names no file.
    """
    uid = current_euid() if euid is None else euid
    safe = SafeDirs.from_environ(environ)
    named = environ.get(CONFIG_ENV, "").strip()
    if named:
        return _named_file(named, cwd, uid, safe)
    home = _home(environ)
    folder = cwd.absolute()
    while True:
        found = _trusted_in(folder, uid, safe)
        if found is not None:
            return found
        if folder in (home, folder.parent):
            return None
        if foreign_folder(folder, uid) and not safe.covers(folder):
            return None
        folder = folder.parent


def _named_file(named: str, cwd: Path, uid: int | None, safe: SafeDirs) -> tuple[Path, bool]:
    """The file ``GREENAI_CONFIG`` names: used even when untrusted, with a warning."""
    try:
        path = Path(named).expanduser()
    except (RuntimeError, ValueError):  # ~name of an unknown user, a NUL in the name
        path = Path(named)
    path = path if path.is_absolute() else cwd / path
    try:
        found = path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL
        found = False
    if not found:
        raise ConfigError(CONFIG_ENV, named, "the path of an existing TOML file")
    problem = config_file_problem(path, uid, safe)
    if problem is not None:
        log.warning(
            "using the greenai configuration file %s because %s names it, although %s; "
            "fix that, or list its folder in %s",
            path,
            CONFIG_ENV,
            problem,
            SAFE_DIRS_ENV,
        )
    return path, path.name == "pyproject.toml"


def _trusted_in(folder: Path, uid: int | None, safe: SafeDirs) -> tuple[Path, bool] | None:
    """The trusted configuration file of one folder; untrusted ones are warned about."""
    toml = folder / "greenai.toml"
    if toml.is_file():
        problem = config_file_problem(toml, uid, safe)
        if problem is None:
            return toml, False
        _warn_ignored(toml, problem)
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        problem = config_file_problem(pyproject, uid, safe)
        if problem is None and _has_greenai_table(pyproject):
            return pyproject, True
        if problem is not None and _mentions_greenai(pyproject):
            _warn_ignored(pyproject, problem)
    return None


def _warn_ignored(path: Path, problem: str) -> None:
    log.warning(
        "ignored the greenai configuration file %s: %s; fix that, or list its folder in %s "
        "to trust it",
        path,
        problem,
        SAFE_DIRS_ENV,
    )


def _mentions_greenai(pyproject: Path) -> bool:
    """Whether an untrusted pyproject.toml seems to hold greenai settings (not parsed)."""
    try:
        with pyproject.open("rb") as stream:
            head = stream.read(_MENTION_BYTES)
    except OSError:
        return False
    return _GREENAI_TABLE.search(head) is not None


def _home(environ: Mapping[str, str]) -> Path | None:
    home = environ.get("HOME")
    try:
        return Path(home).absolute() if home else Path.home().absolute()
    except RuntimeError:  # no home directory at all
        return None


def _has_greenai_table(pyproject: Path) -> bool:
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if "greenai" not in text:  # cheap test before parsing someone else's pyproject
        return False
    return _table(pyproject, True) is not None


def _table(path: Path, pyproject: bool) -> dict[str, Any] | None:
    """The greenai table of a TOML file (top level, or ``[tool.greenai]`` of a pyproject)."""
    document = read_toml(path)
    if not pyproject:
        return document
    tool = document.get("tool")
    table = tool.get("greenai") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigError("config", str(path), "a [tool.greenai] table")
    return table


def _file_values(path: Path, pyproject: bool) -> dict[str, Any]:
    table = _table(path, pyproject) or {}
    where = f"{path} [tool.greenai]" if pyproject else str(path)
    values: dict[str, Any] = {}
    for raw_key, raw in table.items():
        key = raw_key.replace("-", "_")
        if key not in _KEYS:
            raise unknown_key(raw_key, raw, where)
        value = _absolute(raw, path.parent) if key in PATH_KEYS and isinstance(raw, str) else raw
        values[key] = parse_value(key, value, where)
    return values


def _env_values(environ: Mapping[str, str], cwd: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in _KEYS:
        name = ENV_PREFIX + key.upper()
        raw: Any = environ.get(name, "").strip()
        if not raw:
            continue
        if key in PATH_KEYS:
            raw = _absolute(raw, cwd)
        values[key] = parse_value(key, raw, name)
    return values


def _override_values(overrides: Mapping[str, object], cwd: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for raw_key, raw in overrides.items():
        key = raw_key.replace("-", "_")
        if key not in _KEYS:
            raise unknown_key(raw_key, raw, "")
        if raw is None:
            continue
        value = _absolute(raw, cwd) if key in PATH_KEYS and isinstance(raw, str | Path) else raw
        values[key] = parse_value(key, value, "arguments")
    return values


def _absolute(raw: str | Path, base: Path) -> str | Path:
    """A relative path taken from ``base``; anything else unchanged (parsed later)."""
    if isinstance(raw, str) and not raw.strip():
        return raw
    try:
        path = Path(raw).expanduser() if isinstance(raw, Path) else Path(raw.strip()).expanduser()
    except (RuntimeError, ValueError):  # ~name of an unknown user, a NUL: the parser refuses
        return raw
    return path if path.is_absolute() else base / path
