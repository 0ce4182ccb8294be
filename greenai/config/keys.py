"""Parsing and checking of each configuration key, whatever the value's origin.

A value may come from code (typed), from TOML (typed) or from the environment (a string);
each parser accepts all three and returns the typed value, or raises ValueError. The
``ACCEPTED`` texts end up in :class:`greenai.errors.ConfigError` messages.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from greenai.errors import ConfigError

__all__ = ["ACCEPTED", "PATH_KEYS", "parse_value", "suggest_key"]

Parser = Callable[[Any], Any]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://\S*")
_NAME = re.compile(r"[^\s]{1,128}")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_TIER = re.compile(r"([1-9][0-9]*)([smhd])")
_TIER_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CSV_TABLE = "an existing CSV file with columns location,intensity_g_per_kwh[,source]"

ACCEPTED: dict[str, str] = {
    "db_url": "an SQLAlchemy URL such as sqlite:////path/ledger.db or "
    "postgresql+psycopg://user@host/db",
    "country": "an ISO 3166-1 alpha-3 code such as FRA, USA, DEU",
    "region": "a region name such as california, quebec, SE3",
    "cloud_provider": "one of aws, azure, gcp",
    "cloud_region": "a cloud region name such as us-central1",
    "pue": "a number >= 1.0 (facility energy / IT energy)",
    "wue": "a number >= 0 (litres of water per kWh of IT energy)",
    "price_per_kwh": "a number >= 0 (price of one kWh of facility energy, in currency)",
    "currency": "an ISO 4217 code of 3 letters such as EUR, USD",
    "intensity_g_per_kwh": "a number >= 0 (gCO2e per kWh)",
    "factors_file": _CSV_TABLE,
    "series_hz": "a number in (0, 100] (samples per second)",
    "power_hz": "a number in (0, 1000] (samples per second)",
    "mode": "process or machine",
    "cpu_tdp_w": "a number > 0 (watts)",
    "powercap_root": "a directory path such as /sys/class/powercap",
    "host_id": "a name without whitespace, 1 to 128 characters",
    "run_id": "a name without whitespace, 1 to 128 characters",
    "hash_identifiers": "true or false (also 1/0, yes/no, on/off)",
    "store_command": "true or false (also 1/0, yes/no, on/off)",
    "timezone": "an IANA time zone name such as UTC or Europe/Paris",
    "heartbeat_s": "a number > 0 (seconds)",
    "stale_after_s": "a number > 0 (seconds)",
    "series_tiers": "tiers such as 1s:7,1m:90,1h:0 (step in s/m/h/d: days kept, 0 = forever;"
    " steps increasing, only the last tier kept forever)",
    "market_factors": "a table of ISO3 or ISO3/region -> gCO2e/kWh >= 0, such as"
    " FRA=20,USA/california=150 (or a JSON object)",
    "market_factors_file": _CSV_TABLE,
}

PATH_KEYS = ("factors_file", "powercap_root", "market_factors_file")
"""Keys holding paths: relative ones are taken from the config file's folder or the cwd."""


def _number(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError("not a number")
    value = float(raw.strip() if isinstance(raw, str) else raw)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _float(low: float, high: float = math.inf, *, low_open: bool = False) -> Parser:
    def parse(raw: Any) -> float:
        value = _number(raw)
        if value < low or (low_open and value == low) or value > high:
            raise ValueError("out of range")
        return value

    return parse


def _optional(parser: Parser) -> Parser:
    def parse(raw: Any) -> Any:
        return None if raw is None else parser(raw)

    return parse


def _text(pattern: re.Pattern[str], transform: Callable[[str], str] = str) -> Parser:
    def parse(raw: Any) -> str:
        if not isinstance(raw, str) or not pattern.fullmatch(raw.strip()):
            raise ValueError("wrong form")
        return transform(raw.strip())

    return parse


def _plain_text(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("empty")
    return " ".join(raw.split())


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    word = raw.strip().casefold() if isinstance(raw, str) else None
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise ValueError("not a boolean")


def _path(raw: Any) -> Path:
    if isinstance(raw, Path):
        return raw.expanduser()
    if isinstance(raw, str) and raw.strip():
        return Path(raw.strip()).expanduser()
    raise ValueError("not a path")


def _factor_file(key: str) -> Parser:
    def parse(raw: Any) -> Path:
        path = _path(raw)
        if not path.is_file():
            raise ValueError("no such file")
        from greenai.emissions.factors import read_factor_table

        read_factor_table(path, key)  # raises ConfigError naming the line
        return path

    return parse


def _mode(raw: Any) -> str:
    if isinstance(raw, str) and raw.strip().casefold() in ("process", "machine"):
        return raw.strip().casefold()
    raise ValueError("unknown mode")


def _timezone(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("empty")
    if raw.strip() == "UTC":  # the default: no time zone database lookup (3 ms)
        return "UTC"
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(raw.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError("unknown time zone") from exc
    return raw.strip()


def _pairs(raw: Any) -> list[tuple[Any, ...]]:
    """``a:1,b:2`` / ``a=1,b=2`` / a mapping / a list of pairs -> a list of pairs."""
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("{"):
            loaded = json.loads(text)
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


def _tiers(raw: Any) -> tuple[tuple[str, int], ...]:
    tiers: list[tuple[str, int]] = []
    for pair in _pairs(raw):
        if len(pair) != 2:
            raise ValueError("not a pair")
        label, days = pair
        match = _TIER.fullmatch(str(label).strip())
        if match is None or isinstance(days, bool):
            raise ValueError("bad tier")
        days_int = int(days.strip()) if isinstance(days, str) else days
        if not isinstance(days_int, int) or days_int < 0:
            raise ValueError("bad days")
        tiers.append((match.group(0), days_int))
    steps = [int(t[:-1]) * _TIER_S[t[-1]] for t, _ in tiers]
    if not tiers or any(b <= a for a, b in itertools.pairwise(steps)):
        raise ValueError("steps must increase")
    if any(days == 0 for _, days in tiers[:-1]):
        raise ValueError("only the last tier may be kept forever")
    return tuple(tiers)


def _market_factors(raw: Any) -> Mapping[str, float]:
    from greenai.emissions.location import location_key

    factors: dict[str, float] = {}
    for pair in _pairs(raw):
        if len(pair) != 2 or not isinstance(pair[0], str):
            raise ValueError("not a pair")
        key = location_key(pair[0])
        if not re.fullmatch(r"[A-Z]{3}(/.+)?", key):
            raise ValueError("ISO3 or ISO3/region only")
        factors[key] = _float(0.0)(pair[1])
    return MappingProxyType(factors)


_PARSERS: dict[str, Parser] = {
    "db_url": _optional(_text(_URL)),
    "country": _optional(_plain_text),  # checked against CodeCarbon's table by Settings
    "region": _optional(_plain_text),
    "cloud_provider": _optional(_text(re.compile(r"[A-Za-z]+"), str.casefold)),
    "cloud_region": _optional(_text(re.compile(r"\S+"), str.casefold)),
    "pue": _float(1.0),
    "wue": _optional(_float(0.0)),
    "price_per_kwh": _optional(_float(0.0)),
    "currency": _optional(_text(_CURRENCY, str.upper)),
    "intensity_g_per_kwh": _optional(_float(0.0)),
    "factors_file": _optional(_factor_file("factors_file")),
    "series_hz": _float(0.0, 100.0, low_open=True),
    "power_hz": _float(0.0, 1000.0, low_open=True),
    "mode": _mode,
    "cpu_tdp_w": _optional(_float(0.0, low_open=True)),
    "powercap_root": _path,
    "host_id": _optional(_text(_NAME)),
    "run_id": _optional(_text(_NAME)),
    "hash_identifiers": _bool,
    "store_command": _bool,
    "timezone": _timezone,
    "heartbeat_s": _float(0.0, low_open=True),
    "stale_after_s": _float(0.0, low_open=True),
    "series_tiers": _tiers,
    "market_factors": _market_factors,
    "market_factors_file": _optional(_factor_file("market_factors_file")),
}


def parse_value(key: str, raw: Any, origin: str = "") -> Any:
    """Parses and checks one value.

    Args:
        key: A configuration key (see :data:`ACCEPTED`).
        raw: The value: typed, or a string from the environment.
        origin: Where the value came from (``GREENAI_PUE``, a file), for the message.

    Returns:
        The typed, normalised value.

    Raises:
        ConfigError: Naming the key, the value and what is accepted.
    """
    try:
        return _PARSERS[key](raw)
    except ConfigError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        where = f" (from {origin})" if origin else ""
        raise ConfigError(key, raw, ACCEPTED[key] + where) from exc


def suggest_key(key: str, valid: list[str]) -> str:
    """``did you mean 'pue'?`` for a misspelt key, else an empty string."""
    import difflib

    close = difflib.get_close_matches(key.casefold().replace("-", "_"), valid, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""
