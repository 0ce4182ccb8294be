"""The spool: records kept as JSON lines while the ledger cannot be reached.

One file per record, named ``<run id>.<sequence>.<pid>.jsonl`` (series rows:
``_series.<sequence>.<pid>.jsonl``), written to a temporary name and renamed, so a
reader never sees half a record. Replay is exactly-once in effect: a run record is an
idempotent upsert, only the newest record of each run is written (it supersedes the
older ones), and a file is deleted only after its transaction committed.

No SQLAlchemy at import: the tracking code loads this module on its light path.
"""

from __future__ import annotations

import dataclasses
import decimal
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenai.ledger.paths import make_private_dirs

if TYPE_CHECKING:
    from greenai.ledger.ledger import Ledger

log = logging.getLogger(__name__)

SUFFIX = ".jsonl"
REJECTED_SUFFIX = ".rejected"
SERIES_STEM = "_series"
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
_CHILD_KEYS = {"devices": "run_devices", "windows": "windows", "metrics": "metrics"}


def json_default(value: Any) -> Any:
    """JSON for what ``json`` cannot write: datetimes as ISO 8601, the rest as best it can."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def to_json(payload: Any) -> str:
    """One line of JSON (never raises for odd values: they become strings)."""
    return json.dumps(payload, default=json_default, separators=(",", ":"), ensure_ascii=False)


class _Sequence:
    """Increasing numbers (nanoseconds since the epoch, made strictly increasing)."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(time.time_ns(), self._last + 1)
            return self._last


_SEQUENCE = _Sequence()


def next_sequence() -> int:
    """A number above every one handed out before in this process (records' ``seq``)."""
    return _SEQUENCE.next()


def record_seq(record: Mapping[str, Any]) -> int | None:
    """The sequence number a run record carries (``run.record_seq``), if any."""
    value = record.get("run", {}).get("record_seq") if isinstance(record, Mapping) else None
    return value if isinstance(value, int) else None


@dataclasses.dataclass(frozen=True)
class _Entry:
    path: Path
    sequence: tuple[int, int]


def _stem_of(run_id: str) -> str:
    """A file-name-safe stem for a run id (a hash when the id has other characters)."""
    if _SAFE_ID.fullmatch(run_id):
        return run_id
    return "x" + hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:32]


def _sequence_of(path: Path) -> tuple[int, int]:
    parts = path.name[: -len(SUFFIX)].split(".")
    try:
        return int(parts[-2]), int(parts[-1])
    except (IndexError, ValueError):
        return (0, 0)


@dataclasses.dataclass(frozen=True)
class FileOps:
    """The low-level writes of a spool file (tests make them fail: a full disk)."""

    write: Callable[[int, bytes], int] = os.write
    fsync: Callable[[int], None] = os.fsync


class Spool:
    """A folder of records waiting for the ledger.

    Args:
        folder: The folder (created 0700 on first write).
        ops: File writes (default: the operating system's).
        on_create: Called before the first write of this object (e.g. to label the folder).
    """

    def __init__(
        self,
        folder: Path,
        *,
        ops: FileOps | None = None,
        on_create: Callable[[], None] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self._ops = ops if ops is not None else FileOps()
        self._on_create = on_create

    def write(self, record: Mapping[str, Any]) -> Path:
        """Spools a run record (see :meth:`~greenai.ledger.Ledger.save_run`).

        Returns:
            The file written.

        Raises:
            OSError: The spool cannot be written.
            KeyError: The record has no run id.
        """
        run_id = str(record["run"]["id"])
        payload = {"kind": "run", "run_id": run_id, "record": record}
        return self._write(_stem_of(run_id), payload, record_seq(record))

    def write_series(self, rows: Sequence[Mapping[str, Any]]) -> Path:
        """Spools power series rows (see :meth:`~greenai.ledger.Ledger.add_series`)."""
        return self._write(SERIES_STEM, {"kind": "series", "rows": list(rows)})

    def _write(self, stem: str, payload: dict[str, Any], sequence: int | None = None) -> Path:
        payload["spooled_at"] = datetime.now(UTC).isoformat()
        data = (to_json(payload) + "\n").encode("utf-8")
        make_private_dirs(self.folder)
        if self._on_create is not None:
            self._on_create()
            self._on_create = None
        number = sequence if sequence is not None else _SEQUENCE.next()
        name = f"{stem}.{number:020d}.{os.getpid()}{SUFFIX}"
        final = self.folder / name
        tmp = self.folder / f".{name}.tmp"
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            try:
                while data:
                    data = data[self._ops.write(fd, data) :]
                self._ops.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return final

    def _entries(self) -> list[_Entry]:
        try:
            paths = [
                p
                for p in self.folder.iterdir()
                if p.name.endswith(SUFFIX) and not p.name.startswith(".")
            ]
        except FileNotFoundError:
            return []
        return sorted((_Entry(p, _sequence_of(p)) for p in paths), key=lambda e: e.sequence)

    def pending(self) -> int:
        """How many records wait in the spool."""
        return len(self._entries())

    def discard_run(self, run_id: str, up_to: int | None = None) -> int:
        """Deletes the spooled records of a run (a newer record reached the ledger).

        Args:
            run_id: The run.
            up_to: Only records with a sequence number up to this one (None: all).

        Returns:
            How many files were deleted.
        """
        count = 0
        stem = _stem_of(run_id)
        for entry in self._entries():
            if up_to is not None and entry.sequence[0] > up_to:
                continue
            if entry.path.name.startswith(stem + ".") and _load(entry.path).get("run_id") == run_id:
                entry.path.unlink(missing_ok=True)
                count += 1
        return count

    def replay(self, ledger: Ledger) -> int:
        """Writes the spooled records to ``ledger``, oldest first, then deletes them.

        Only the newest record of each run is written; older ones are deleted with it.
        A record the ledger refuses (malformed) is renamed ``*.rejected`` and kept.

        Returns:
            How many records were written.

        Raises:
            Exception: The ledger became unreachable; what was written is deleted, the
                rest stays for the next replay.
        """
        runs: dict[str, list[_Entry]] = {}
        order: list[tuple[str, Any]] = []
        for entry in self._entries():
            payload = _load(entry.path)
            if payload.get("kind") == "run" and isinstance(payload.get("run_id"), str):
                run_id = payload["run_id"]
                if run_id not in runs:
                    runs[run_id] = []
                    order.append(("run", run_id))
                runs[run_id].append(entry)
            elif payload.get("kind") == "series":
                order.append(("series", (entry, payload)))
            elif entry.path.exists():  # else shipped and deleted meanwhile by its writer
                _reject(entry.path, "not a spooled record")
        written = 0
        for kind, item in order:
            if kind == "run":
                written += _replay_run(ledger, runs[item])
            else:
                entry, payload = item
                written += _apply(
                    ledger,
                    entry.path,
                    lambda p=payload: ledger.add_series(
                        [decode_row("series", r) for r in p["rows"]]
                    ),
                )
        return written


def _load(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _reject(path: Path, why: str) -> None:
    log.warning(
        "spooled record %s rejected (%s); kept as %s%s", path, why, path.name, REJECTED_SUFFIX
    )
    try:
        path.rename(path.with_name(path.name + REJECTED_SUFFIX))
    except OSError as exc:
        log.warning("cannot rename %s: %s", path, exc)


def _is_transient(exc: BaseException) -> bool:
    """Whether the ledger failed (retry later) rather than the record (reject it)."""
    import sqlalchemy as sa

    from greenai.errors import StorageError

    transient = (
        sa.exc.OperationalError,
        sa.exc.InterfaceError,
        sa.exc.InternalError,
        sa.exc.DisconnectionError,
        sa.exc.TimeoutError,
        StorageError,
        OSError,
    )
    return isinstance(exc, transient)


def _apply(ledger: Ledger, path: Path, write: Any) -> int:
    """Runs ``write``; deletes ``path`` after it committed. Returns 1 when written."""
    try:
        write()
    except Exception as exc:
        if _is_transient(exc):
            raise
        _reject(path, f"{type(exc).__name__}: {exc}")
        return 0
    path.unlink(missing_ok=True)
    return 1


def _save(ledger: Ledger, record: Mapping[str, Any]) -> None:
    """A run record into the ledger; a rank's part with its job's row recomputed."""
    run = record.get("run") or {}
    if run.get("rank") is not None and run.get("parent_run_id"):
        from greenai.ledger.ranks import save_part

        save_part(ledger, record)
    else:
        ledger.save_run(record)


def _replay_run(ledger: Ledger, entries: list[_Entry]) -> int:
    """Writes the newest readable record of a run; deletes it and every older one."""
    for position in range(len(entries) - 1, -1, -1):
        entry = entries[position]
        payload = _load(entry.path)
        if not payload:
            continue  # deleted meanwhile by another replay
        record = payload.get("record")
        if _apply(ledger, entry.path, lambda r=record: _save(ledger, decode_record(r))):
            for older in entries[:position]:
                older.path.unlink(missing_ok=True)
            return 1
    return 0


def decode_row(table_name: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A row read back from JSON, with its timestamp columns as aware datetimes again."""
    from greenai.ledger import schema

    table = schema.metadata.tables[table_name]
    out = dict(row)
    for column in table.columns:
        value = out.get(column.name)
        if isinstance(value, str) and isinstance(column.type, schema.UtcDateTime):
            out[column.name] = schema.to_utc(value)
    return out


def decode_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A run record read back from JSON (timestamps as aware datetimes).

    Raises:
        ValueError: The record is not a dict with a run.
    """
    if not isinstance(record, Mapping) or not isinstance(record.get("run"), Mapping):
        raise ValueError("a spooled run record must be a dict with a 'run' dict")
    out: dict[str, Any] = {"run": decode_row("runs", record["run"])}
    for key, table_name in _CHILD_KEYS.items():
        rows: Iterable[Mapping[str, Any]] = record.get(key) or ()
        out[key] = [decode_row(table_name, row) for row in rows]
    return out
