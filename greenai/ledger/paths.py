"""Where the ledger and the spool live, and how their files are created (owner only).

No SQLAlchemy here: the tracking code imports this module on its light path.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import parse_qsl

log = logging.getLogger(__name__)

DATA_DIR_ENV = "GREENAI_DATA_DIR"
LEDGER_FILE = "ledger.db"
SPOOL_FOLDER = "spool"

# Filesystem types on which SQLite's WAL cannot work (it needs shared memory between
# every process that opens the file, which a network filesystem cannot give).
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smb2",
        "smb3",
        "smbfs",
        "fuse.sshfs",
        "sshfs",
        "9p",
        "afs",
        "ncpfs",
        "coda",
        "lustre",
        "gpfs",
        "ceph",
        "fuse.ceph",
        "fuse.cephfs",
        "glusterfs",
        "fuse.glusterfs",
        "beegfs",
        "fuse.s3fs",
        "fuse.gcsfuse",
        "fuse.rclone",
        "davfs",
        "fuse.davfs2",
    }
)


def data_dir_path(data_dir: Path | None = None) -> Path:
    """The per-user data folder: ``data_dir``, else ``$GREENAI_DATA_DIR``, else platformdirs'.

    Args:
        data_dir: An explicit folder (tests, configuration).

    Returns:
        The folder (not created).
    """
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("greenai"))


def default_ledger_path(data_dir: Path | None = None) -> Path:
    """The default SQLite ledger: ``<data dir>/ledger.db``.

    Args:
        data_dir: Overrides the data folder (else ``$GREENAI_DATA_DIR``, else
            ``platformdirs.user_data_dir("greenai")``).

    Returns:
        The file's path (neither it nor its folder is created here).
    """
    return data_dir_path(data_dir) / LEDGER_FILE


def default_spool_dir(data_dir: Path | None = None) -> Path:
    """The spool folder: ``<data dir>/spool``, beside the default ledger."""
    return data_dir_path(data_dir) / SPOOL_FOLDER


def make_private_dirs(folder: Path) -> None:
    """Creates ``folder`` and any missing parents with mode 0700 (existing ones untouched).

    Raises:
        OSError: A folder cannot be created.
    """
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask


def create_private_file(path: Path) -> bool:
    """Creates ``path`` empty with mode 0600 unless it exists; parents get 0700.

    Returns:
        True when the file was created by this call.

    Raises:
        OSError: The folder or the file cannot be created.
    """
    make_private_dirs(path.parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, 0o600)  # the umask may have removed bits; never add group/other
    finally:
        os.close(fd)
    return True


def _unescape_mount(field: str) -> str:
    """Decodes the octal escapes of /proc/mounts (``\\040`` is a space)."""
    out: list[str] = []
    i = 0
    while i < len(field):
        chunk = field[i + 1 : i + 4]
        if field[i] == "\\" and len(chunk) == 3 and all(c in "01234567" for c in chunk):
            out.append(chr(int(chunk, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def filesystem_type(path: Path, mounts_file: Path = Path("/proc/mounts")) -> str | None:
    """The filesystem type of the mount that holds ``path`` (the longest matching mount point).

    Args:
        path: A file or folder (need not exist yet: its nearest existing parent is used).
        mounts_file: The mount table to read (tests inject their own).

    Returns:
        The type (``ext4``, ``nfs4``, ...), or None when the table cannot be read.
    """
    try:
        text = mounts_file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        log.debug("cannot read %s: %s", mounts_file, exc)
        return None
    target = Path(os.path.realpath(path))
    best: tuple[int, str] | None = None
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = Path(_unescape_mount(fields[1]))
        if target == mount_point or mount_point in target.parents:
            depth = len(mount_point.parts)
            if best is None or depth >= best[0]:
                best = (depth, fields[2])
    return None if best is None else best[1]


def is_network_filesystem(path: Path, mounts_file: Path = Path("/proc/mounts")) -> bool:
    """Whether ``path`` lies on a network filesystem (NFS, SMB, sshfs, Lustre, ...)."""
    fstype = filesystem_type(path, mounts_file)
    return fstype is not None and fstype.lower() in NETWORK_FILESYSTEMS


def sqlite_file_of(url: str) -> Path | None:
    """The file of a ``sqlite:///path`` URL, as written (None for memory databases and
    URI forms)."""
    rest = url.split("://", 1)[1] if "://" in url else ""
    path = rest[1:] if rest.startswith("/") else rest
    path, _, query = path.partition("?")
    if any(k == "uri" and v.lower() in ("true", "1") for k, v in parse_qsl(query)):
        return None
    if not path or path == ":memory:":
        return None
    return Path(path)


def is_sqlite_file(path: Path) -> bool:
    """Whether an existing file is a SQLite database (an empty file counts as one).

    The file is read through SQLite itself, never with a plain open/close: on Linux,
    closing any descriptor of a file drops every POSIX lock this process holds on it,
    including the locks of SQLite connections already open on the ledger, and a write
    could then be lost. SQLite's own VFS keeps its descriptors while locks are held.
    """
    import sqlite3
    from urllib.parse import quote

    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return True  # unreadable now: the engine's own open reports it
    try:
        conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        return "not a database" not in str(exc) and "encrypted" not in str(exc)
    finally:
        conn.close()
    return True
