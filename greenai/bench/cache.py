"""Trained benchmark models cached in the per-user data folder.

``<data dir>/models/<name>-<key>.pt`` (a state dict) beside ``<name>-<key>.json`` (what it
is, how it was trained, its held-out loss). The data folder is ``data_dir``, else
``$GREENAI_DATA_DIR``, else ``platformdirs.user_data_dir("greenai")``. The key hashes
everything that shapes the weights (architecture, training recipe, corpus, seed), so a
change retrains instead of loading a stale model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from greenai.ledger.paths import data_dir_path, make_private_dirs

log = logging.getLogger(__name__)

MODELS_FOLDER = "models"
FORMAT_VERSION = 1


def models_dir(data_dir: Path | None = None) -> Path:
    """The model cache folder, ``<data dir>/models`` (not created)."""
    return data_dir_path(data_dir) / MODELS_FOLDER


def cache_key(recipe: Mapping[str, Any]) -> str:
    """A short stable hash of a training recipe (JSON with sorted keys)."""
    payload = json.dumps({"format": FORMAT_VERSION, **recipe}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _paths(name: str, key: str, data_dir: Path | None) -> tuple[Path, Path]:
    stem = models_dir(data_dir) / f"{name}-{key}"
    return stem.with_suffix(".pt"), stem.with_suffix(".json")


def load(name: str, key: str, data_dir: Path | None = None) -> tuple[dict[str, Any], Any] | None:
    """A cached model: ``(metadata, state_dict)``, or None when absent or unreadable
    (an unreadable file is logged and then retrained over).
    """
    import torch

    weights, meta = _paths(name, key, data_dir)
    if not weights.exists() or not meta.exists():
        return None
    try:
        info = json.loads(meta.read_text("utf-8"))
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: train again
        log.warning("ignoring unreadable cached model %s: %s", weights, exc)
        return None
    return info, state


def save(
    name: str, key: str, state: Any, info: Mapping[str, Any], data_dir: Path | None = None
) -> Path:
    """Write a model atomically (temporary file, then rename); returns the weights' path.

    Raises:
        OSError: The folder or a file cannot be written.
    """
    import torch

    weights, meta = _paths(name, key, data_dir)
    make_private_dirs(weights.parent)
    for path, write in (
        (weights, lambda handle: torch.save(state, handle)),
        (meta, lambda handle: handle.write(json.dumps(dict(info), indent=2).encode("utf-8"))),
    ):
        fd, tmp = tempfile.mkstemp(dir=weights.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return weights
