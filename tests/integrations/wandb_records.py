"""What an offline W&B run wrote: the records of its ``.wandb`` file, read back.

The file is W&B's transaction log: a 7-byte header (``:W&B``, a 2-byte magic, a version
byte), then LevelDB's log format (32 KiB blocks; each chunk a 4-byte CRC, a 2-byte
length and a type byte: full, first, middle or last) holding one protobuf ``Record``
per entry.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wandb.proto import wandb_internal_pb2 as pb

BLOCK_BYTES = 32768
FILE_HEADER_BYTES = 7
CHUNK_HEADER_BYTES = 7
_FULL, _LAST = 1, 4
WRITTEN_WAIT_S = 30.0
"""How long to wait for W&B's service to write a finished run (a ceiling, not a measure)."""


def records(path: Path) -> Iterator[Any]:
    """The protobuf records of a ``.wandb`` file, in order."""
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B transaction log"
    pos, pending = FILE_HEADER_BYTES, b""
    while pos + CHUNK_HEADER_BYTES <= len(data):
        left_in_block = BLOCK_BYTES - pos % BLOCK_BYTES
        if left_in_block < CHUNK_HEADER_BYTES:  # the block's padding
            pos += left_in_block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + CHUNK_HEADER_BYTES])
        pos += CHUNK_HEADER_BYTES
        if kind == 0:  # zero fill up to the block's end
            pos += left_in_block - CHUNK_HEADER_BYTES
            continue
        if pos + length > len(data):  # still being written
            return
        pending += data[pos : pos + length]
        pos += length
        if kind in (_FULL, _LAST):
            record = pb.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def _key(item: Any) -> str:
    return item.key or "/".join(item.nested_key)


@dataclass
class OfflineRun:
    """An offline run's name, history rows (with ``_step``), config and summary."""

    name: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    exited: bool = False


def read_run(path: Path) -> OfflineRun:
    """The run a ``.wandb`` file holds."""
    run = OfflineRun()
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.name = record.run.display_name
        elif kind == "history":
            run.history.append({_key(i): json.loads(i.value_json) for i in record.history.item})
        elif kind == "config":
            run.config.update({_key(i): json.loads(i.value_json) for i in record.config.update})
        elif kind == "summary":
            run.summary.update({_key(i): json.loads(i.value_json) for i in record.summary.update})
        elif kind == "exit":
            run.exited = True
    return run


def offline_run(wandb_dir: Path, name: str) -> OfflineRun:
    """The one offline run named ``name`` under ``wandb_dir``, once W&B has written its
    exit record (``finish()`` returns before W&B's service has written the file)."""
    deadline = time.monotonic() + WRITTEN_WAIT_S
    while True:
        found = [
            run
            for run in map(read_run, sorted(wandb_dir.glob("wandb/offline-run-*/run-*.wandb")))
            if run.name == name
        ]
        if len(found) == 1 and found[0].exited:
            return found[0]
        assert time.monotonic() < deadline, f"no finished W&B run {name!r} ({len(found)} found)"
        time.sleep(0.05)
