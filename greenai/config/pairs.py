"""Tables written as text or data: ``a:1,b:2``, ``a=1``, a JSON object, a mapping, a list
of pairs; the parsers of :mod:`greenai.config.keys` and :mod:`greenai.config.esrs_keys`."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any


def pairs(raw: Any) -> list[tuple[Any, ...]]:
    """``a:1,b:2`` / ``a=1,b=2`` / a mapping / a list of pairs -> a list of pairs."""
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("{"):
            try:
                loaded = json.loads(text)
            except RecursionError:
                raise ValueError("nested too deeply") from None
            if not isinstance(loaded, dict):
                raise ValueError("not an object")
            return list(loaded.items())
        items = [item.strip() for item in text.split(",") if item.strip()]
        return [tuple(re.split(r"\s*[:=]\s*", item, maxsplit=1)) for item in items]
    if isinstance(raw, Mapping):
        return list(raw.items())
    if isinstance(raw, list | tuple):
        return [tuple(pair) for pair in raw]
    raise ValueError("not a table")


def key_values(raw: Any) -> list[tuple[Any, Any]]:
    """:func:`pairs`, each exactly a key and a value (else ``ValueError``)."""
    found = pairs(raw)
    if any(len(pair) != 2 for pair in found):
        raise ValueError("not a pair")
    return [(pair[0], pair[1]) for pair in found]
