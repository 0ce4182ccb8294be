"""Parsing and checking of each configuration key, whatever the value's origin.

A value may come from code (typed), from TOML (typed) or from the environment (a string);
each parser accepts all three and returns the typed value, or raises ValueError. The
``ACCEPTED`` texts end up in :class:`greenai.errors.ConfigError` messages.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from greenai.config.esrs_keys import ESRS_ACCEPTED, ESRS_PARSERS
from greenai.config.pairs import pairs
from greenai.errors import ConfigError
from greenai.figures.tiers import TIER_PATTERN, tier_seconds
from greenai.ledger.limits import HOST_ID_CHARS, ID_CHARS

__all__ = ["ACCEPTED", "PATH_KEYS", "RANGES", "parse_value", "suggest_key"]

Parser = Callable[[Any], Any]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://\S*")
_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql")
# An identifier the ledger stores: no whitespace, control character or lone surrogate.
_ID = r"[^\s\x00-\x1f\x7f\ud800-\udfff]"
_HOST_ID = re.compile(f"{_ID}{{1,{HOST_ID_CHARS}}}")
_RUN_ID = re.compile(f"{_ID}{{1,{ID_CHARS}}}")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
TIER_MAX_STEP_S = 366 * 86400
TIER_MAX_DAYS = 36500

RANGES: dict[str, tuple[float, float]] = {
    "pue": (1.0, math.inf),
    "wue": (0.0, 100.0),
    "price_per_kwh": (0.0, 1e6),
    "intensity_g_per_kwh": (0.0, 5000.0),
    "series_hz": (0.1, 100.0),
    "power_hz": (1.0, 1000.0),
    "cpu_tdp_w": (1.0, 10000.0),
    "heartbeat_s": (0.5, 1e6),
    "stale_after_s": (1.0, 365 * 86400.0),
}
"""Inclusive bounds of the numeric keys (market factors share ``intensity_g_per_kwh``'s).

A heartbeat under 0.5 s or sampling faster than the rates above costs the job CPU time
for no better figure; the upper bounds keep every interval a timer can wait for.
"""


def _plain(number: float) -> str:
    """``1000000`` rather than ``1e+06``, ``0.5`` as is."""
    return str(int(number)) if number.is_integer() else repr(number)


def _bounds(key: str) -> str:
    low, high = RANGES[key]
    if math.isinf(high):
        return f"a number >= {low!r}"
    return f"a number from {_plain(low)} to {_plain(high)}"


_CSV_TABLE = "an existing CSV file with columns location,intensity_g_per_kwh[,source]"

ACCEPTED: dict[str, str] = {
    "db_url": "an SQLAlchemy URL such as sqlite:////path/ledger.db or "
    "postgresql+psycopg://user@host/db",
    "country": "an ISO 3166-1 alpha-3 code such as FRA, USA, DEU",
    "region": "a region name such as california, quebec, SE3",
    "cloud_provider": "one of aws, azure, gcp",
    "cloud_region": "a cloud region name such as us-central1",
    "pue": f"{_bounds('pue')} (facility energy / IT energy)",
    "wue": f"{_bounds('wue')} (litres of water per kWh of IT energy)",
    "price_per_kwh": f"{_bounds('price_per_kwh')} (price of one kWh of facility energy,"
    " in currency)",
    "currency": "an ISO 4217 code of 3 letters such as EUR, USD",
    "intensity_g_per_kwh": f"{_bounds('intensity_g_per_kwh')} (gCO2e per kWh)",
    "factors_file": _CSV_TABLE,
    "series_hz": f"{_bounds('series_hz')} (samples per second)",
    "power_hz": f"{_bounds('power_hz')} (samples per second)",
    "mode": "process or machine",
    "cpu_tdp_w": f"{_bounds('cpu_tdp_w')} (watts)",
    "powercap_root": "a directory path such as /sys/class/powercap",
    "host_id": f"a name without whitespace or control characters, 1 to {HOST_ID_CHARS} characters",
    "run_id": f"a name without whitespace or control characters, 1 to {ID_CHARS} characters",
    "hash_identifiers": "true or false (also 1/0, yes/no, on/off)",
    "store_command": "true or false (also 1/0, yes/no, on/off)",
    "timezone": "an IANA time zone name such as UTC or Europe/Paris",
    "heartbeat_s": f"{_bounds('heartbeat_s')} (seconds)",
    "stale_after_s": f"{_bounds('stale_after_s')} (seconds)",
    "series_tiers": "tiers such as 1s:7,1m:90,1h:0 (step in s/m/h/d up to 366d: days kept, "
    f"0 = forever, up to {TIER_MAX_DAYS}; steps increasing, only the last tier kept forever)",
    "market_factors": "a table of ISO3 or ISO3/region -> gCO2e/kWh from 0 to "
    f"{_plain(RANGES['intensity_g_per_kwh'][1])}, such as FRA=20,USA/california=150 "
    "(or a JSON object)",
    "market_factors_file": _CSV_TABLE,
    "instruments_file": "an existing CSV file of contractual instruments (columns: id,type,mwh,"
    "location,vintage,g_per_kwh,quality_criteria_met[,source,notes])",
}

ACCEPTED.update(ESRS_ACCEPTED)  # Scope 1, revenue, boundary, sites

PATH_KEYS = ("factors_file", "powercap_root", "market_factors_file", "instruments_file")
"""Keys holding paths: relative ones are taken from the config file's folder or the cwd."""


def _number(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError("not a number")
    try:
        value = float(raw.strip() if isinstance(raw, str) else raw)
    except OverflowError:  # an integer beyond a double (TOML has no limit)
        raise ValueError("not a finite number") from None
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _ranged(key: str) -> Parser:
    """A number within ``RANGES[key]``, bounds included."""
    low, high = RANGES[key]

    def parse(raw: Any) -> float:
        value = _number(raw)
        if not low <= value <= high:
            raise ValueError("out of range")
        return value

    return parse


def _db_url(raw: Any) -> str:
    url: str = _text(_URL)(raw)
    if not url.isprintable():  # NUL, a control character: no driver opens it
        raise ValueError("not printable")
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower()
    if scheme not in _SCHEMES:
        raise ValueError("not a database")
    return url


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


def _instruments_file(raw: Any) -> Path:
    path = _path(raw)
    if not path.is_file():
        raise ValueError("no such file")
    from greenai.emissions.instruments_file import read_instruments

    read_instruments(path)  # raises ConfigError naming the line and the instrument
    return path


def _path(raw: Any) -> Path:
    if isinstance(raw, str) and raw.strip():
        raw = Path(raw.strip())
    if not isinstance(raw, Path):
        raise ValueError("not a path")
    try:
        return raw.expanduser()
    except RuntimeError:  # ~name of an unknown user
        raise ValueError("no such home directory") from None


def _factor_file(key: str) -> Parser:
    def parse(raw: Any) -> Path:
        path = _path(raw)
        if not path.is_file():
            raise ValueError("no such file")
        from greenai.emissions.user_factors import read_factor_table

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


def _tiers(raw: Any) -> tuple[tuple[str, int], ...]:
    tiers: list[tuple[str, int]] = []
    for pair in pairs(raw):
        if len(pair) != 2:
            raise ValueError("not a pair")
        label, days = pair
        match = TIER_PATTERN.fullmatch(str(label).strip())
        if match is None or isinstance(days, bool):
            raise ValueError("bad tier")
        days_int = int(days.strip()) if isinstance(days, str) else days
        if not isinstance(days_int, int) or not 0 <= days_int <= TIER_MAX_DAYS:
            raise ValueError("bad days")
        tiers.append((match.group(0), days_int))
    steps = [tier_seconds(t) for t, _ in tiers]
    if any(step > TIER_MAX_STEP_S for step in steps):
        raise ValueError("step too long")
    if not tiers or any(b <= a for a, b in itertools.pairwise(steps)):
        raise ValueError("steps must increase")
    if any(days == 0 for _, days in tiers[:-1]):
        raise ValueError("only the last tier may be kept forever")
    return tuple(tiers)


def _market_factors(raw: Any) -> Mapping[str, float]:
    from greenai.emissions.location import location_key

    factors: dict[str, float] = {}
    for pair in pairs(raw):
        if len(pair) != 2 or not isinstance(pair[0], str):
            raise ValueError("not a pair")
        key = location_key(pair[0])
        if not re.fullmatch(r"[A-Z]{3}(/.+)?", key):
            raise ValueError("ISO3 or ISO3/region only")
        factors[key] = _ranged("intensity_g_per_kwh")(pair[1])
    return MappingProxyType(factors)


_PARSERS: dict[str, Parser] = {
    "db_url": _optional(_db_url),
    "country": _optional(_plain_text),  # checked against CodeCarbon's table by Settings
    "region": _optional(_plain_text),
    "cloud_provider": _optional(_text(re.compile(r"[A-Za-z]+"), str.casefold)),
    "cloud_region": _optional(_text(re.compile(r"\S+"), str.casefold)),
    "pue": _ranged("pue"),
    "wue": _optional(_ranged("wue")),
    "price_per_kwh": _optional(_ranged("price_per_kwh")),
    "currency": _optional(_text(_CURRENCY, str.upper)),
    "intensity_g_per_kwh": _optional(_ranged("intensity_g_per_kwh")),
    "factors_file": _optional(_factor_file("factors_file")),
    "series_hz": _ranged("series_hz"),
    "power_hz": _ranged("power_hz"),
    "mode": _mode,
    "cpu_tdp_w": _optional(_ranged("cpu_tdp_w")),
    "powercap_root": _path,
    "host_id": _optional(_text(_HOST_ID)),
    "run_id": _optional(_text(_RUN_ID)),
    "hash_identifiers": _bool,
    "store_command": _bool,
    "timezone": _timezone,
    "heartbeat_s": _ranged("heartbeat_s"),
    "stale_after_s": _ranged("stale_after_s"),
    "series_tiers": _tiers,
    "market_factors": _market_factors,
    "market_factors_file": _optional(_factor_file("market_factors_file")),
    "instruments_file": _optional(_instruments_file),
}

_PARSERS.update(ESRS_PARSERS)


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
    except (ValueError, TypeError, KeyError, OSError) as exc:  # OSError: a path too long
        where = f" (from {origin})" if origin else ""
        raise ConfigError(key, _shown(key, raw), ACCEPTED[key] + where) from exc


def _shown(key: str, raw: Any) -> Any:
    """The value as an error message may show it: a database URL's password masked."""
    if key == "db_url" and isinstance(raw, str):
        from greenai.ledger.engine import mask_url  # SQLAlchemy, on this error path only

        return mask_url(raw)
    return raw


def suggest_key(key: str, valid: list[str]) -> str:
    """``did you mean 'pue'?`` for a misspelt key, else an empty string."""
    import difflib

    close = difflib.get_close_matches(key.casefold().replace("-", "_"), valid, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""
