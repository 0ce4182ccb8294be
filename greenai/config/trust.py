"""Which files greenai trusts: who owns them and who else could change them.

A configuration file decides where runs are written and what they store, so a file that
another user could have put in place is not trusted:

- the file must be owned by the current (effective) user or by root, and writable by
  nobody else: not by everyone, and not by its group unless that group is the owner's
  private group with no other member (the usual ``umask 002`` setup);
- every folder from the file up to ``/`` must be owned by the current user or by root,
  and writable by nobody else unless it has the sticky bit (``/tmp``), where only a
  file's owner can rename or replace it;
- the upward search for a configuration file stops at a folder owned by another user
  than the current one or root: nothing at or below it is read.

``GREENAI_SAFE_DIRS`` lists folders (``os.pathsep``-separated absolute paths) whose files,
and those of every folder below them, are trusted whatever their owner; ``*`` trusts
every folder. On platforms without user ids (Windows) every file is trusted.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "SAFE_DIRS_ENV",
    "SafeDirs",
    "config_file_problem",
    "current_euid",
    "file_owner_problem",
    "foreign_folder",
    "owner_name",
    "untrusted_owner_in_chain",
]

SAFE_DIRS_ENV = "GREENAI_SAFE_DIRS"
"""Environment variable listing folders trusted whatever their owner (``*``: all)."""

ROOT_UID = 0


def current_euid() -> int | None:
    """The effective user id, or None where the platform has none (then all is trusted)."""
    geteuid = getattr(os, "geteuid", None)
    return geteuid() if geteuid is not None else None


@dataclass(frozen=True)
class SafeDirs:
    """Folders trusted whatever their owner, as ``GREENAI_SAFE_DIRS`` lists them.

    Attributes:
        folders: Real absolute paths; each covers itself and every folder below it.
        everything: ``*`` was listed: every folder is trusted.
    """

    folders: tuple[str, ...] = ()
    everything: bool = False

    @classmethod
    def parse(cls, raw: str) -> SafeDirs:
        """Reads an ``os.pathsep``-separated list; relative or unusable entries are skipped."""
        folders: list[str] = []
        for raw_entry in raw.split(os.pathsep):
            entry = raw_entry.strip()
            if entry == "*":
                return cls(everything=True)
            folder = _expanded(entry)
            real = _real(folder) if folder is not None and folder.is_absolute() else None
            if real is not None:
                folders.append(real)
        return cls(tuple(folders))

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> SafeDirs:
        """The safe folders of ``environ`` (default ``os.environ``)."""
        env = os.environ if environ is None else environ
        return cls.parse(env.get(SAFE_DIRS_ENV, ""))

    def covers(self, folder: Path) -> bool:
        """Whether ``folder`` is one of the safe folders or lies below one."""
        if self.everything:
            return True
        real = _real(folder)
        if real is None:
            return False
        return any(_within(real, safe) for safe in self.folders)


def owner_name(uid: int) -> str:
    """``alice (uid 1000)``, or ``uid 1000`` for an id without a user name."""
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def foreign_folder(folder: Path, euid: int | None) -> bool:
    """Whether ``folder`` belongs to another user than ``euid`` and root (the search stops).

    A folder that cannot be examined counts as foreign: nothing above it is read.
    """
    if euid is None:
        return False
    try:
        uid = os.stat(folder).st_uid
    except (OSError, ValueError):
        return True
    return uid not in (euid, ROOT_UID)


def config_file_problem(path: Path, euid: int | None, safe: SafeDirs) -> str | None:
    """Why the configuration file ``path`` cannot be trusted, or None when it can.

    Args:
        path: An existing file (a symbolic link is judged by its target too).
        euid: The effective user id (None: trust everything).
        safe: The folders trusted whatever their owner.

    Returns:
        One clause naming the offending file or folder, e.g.
        ``/tmp/x/greenai.toml is owned by uid 1000, not by you or root``.
    """
    if euid is None:
        return None
    absolute = Path(os.path.abspath(path))
    real = _real(absolute)
    if real is None:
        return f"{path} cannot be examined"
    folders = _unique([absolute.parent, Path(real).parent])
    if any(safe.covers(folder) for folder in folders):
        return None
    problem = file_owner_problem(absolute, (euid, ROOT_UID)) or _writable_problem(absolute, False)
    for folder in folders:
        problem = problem or untrusted_owner_in_chain(folder, euid) or _writable_in_chain(folder)
    return problem


def file_owner_problem(path: Path, owners: Iterable[int]) -> str | None:
    """Why ``path`` (followed if a link) is not owned by one of ``owners``, or None."""
    try:
        uid = os.stat(path).st_uid
    except (OSError, ValueError) as exc:
        return f"{path} cannot be examined ({_reason(exc)})"
    allowed = tuple(owners)
    if uid in allowed:
        return None
    whom = "you or root" if ROOT_UID in allowed and len(set(allowed)) > 1 else "you"
    return f"{path} is owned by {owner_name(uid)}, not by {whom}"


def untrusted_owner_in_chain(folder: Path, euid: int) -> str | None:
    """Why ``folder`` or a folder above it belongs to someone else than ``euid`` or root."""
    for current in (folder, *folder.parents):
        try:
            uid = os.stat(current).st_uid
        except (OSError, ValueError) as exc:
            return f"{current} cannot be examined ({_reason(exc)})"
        if uid not in (euid, ROOT_UID):
            return f"the folder {current} is owned by {owner_name(uid)}, not by you or root"
    return None


def _writable_in_chain(folder: Path) -> str | None:
    for current in (folder, *folder.parents):
        problem = _writable_problem(current, True)
        if problem:
            return problem
    return None


def _writable_problem(path: Path, is_folder: bool) -> str | None:
    """Why others than the owner could change ``path`` (a folder: replace its files)."""
    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:
        return f"{path} cannot be examined ({_reason(exc)})"
    if is_folder and info.st_mode & stat.S_ISVTX:
        return None
    what = f"the folder {path}" if is_folder else str(path)
    tail = " without the sticky bit" if is_folder else ""
    if info.st_mode & stat.S_IWOTH:
        return f"{what} is writable by everyone{tail}"
    if info.st_mode & stat.S_IWGRP and not _private_group(info.st_uid, info.st_gid):
        return f"{what} is writable by its group ({_group_name(info.st_gid)}){tail}"
    return None


def _private_group(uid: int, gid: int) -> bool:
    """Whether ``gid`` is the primary group of ``uid`` with no other listed member."""
    try:
        import grp
        import pwd

        user = pwd.getpwuid(uid)
        members = grp.getgrgid(gid).gr_mem
    except (ImportError, KeyError):
        return False
    return user.pw_gid == gid and all(member == user.pw_name for member in members)


def _group_name(gid: int) -> str:
    try:
        import grp

        return f"{grp.getgrgid(gid).gr_name}, gid {gid}"
    except (ImportError, KeyError):
        return f"gid {gid}"


def _real(path: Path) -> str | None:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):  # a NUL byte, a loop on some platforms
        return None


def _expanded(entry: str) -> Path | None:
    if not entry:
        return None
    try:
        return Path(entry).expanduser()
    except (RuntimeError, ValueError):  # ~name of an unknown user, a NUL in the name
        return None


def _within(real: str, safe: str) -> bool:
    return real == safe or real.startswith(safe.rstrip(os.sep) + os.sep)


def _unique(folders: list[Path]) -> list[Path]:
    return list(dict.fromkeys(folders))


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
