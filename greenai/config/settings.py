"""The validated configuration of greenai (keys documented in :mod:`greenai.config`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from greenai.config.esrs_keys import check_revenue_currency
from greenai.config.keys import parse_value, suggest_key
from greenai.errors import ConfigError

__all__ = ["Settings"]


def _no_market_factors() -> Mapping[str, float]:
    return MappingProxyType({})


def _empty_table() -> Mapping[Any, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Settings:
    """greenai's configuration, checked on creation: an invalid value raises ConfigError.

    Values given as strings (as in the environment) are parsed; locations are normalised to
    CodeCarbon's spelling (``fra`` -> ``FRA``, ``California`` -> ``california``). See
    :mod:`greenai.config` for the meaning and units of each key.

    Ranges, bounds included (:data:`greenai.config.keys.RANGES`); a value outside is
    refused before the job starts:

    - ``pue``: 1.0 or more.
    - ``wue``: 0 to 100 litres per kWh.
    - ``price_per_kwh``: 0 to 1000000 per kWh.
    - ``intensity_g_per_kwh``: 0 to 5000 gCO2e/kWh (and each of ``market_factors``).
    - ``series_hz``: 0.1 to 100 samples per second.
    - ``power_hz``: 1 to 1000 samples per second.
    - ``cpu_tdp_w``: 1 to 10000 W.
    - ``heartbeat_s``: 0.5 to 1000000 s (faster costs the job CPU time for nothing;
      1000000 all but turns the refresh off).
    - ``stale_after_s``: 1 to 31536000 s (365 days).
    - ``series_tiers``: steps up to 366d, days kept up to 36500 (0 = forever).
    - ``run_id``: 1 to 64 characters, ``host_id`` 1 to 128 (their ledger columns),
      without whitespace or control characters.
    """

    db_url: str | None = None
    country: str | None = None
    region: str | None = None
    cloud_provider: str | None = None
    cloud_region: str | None = None
    pue: float = 1.0
    wue: float | None = None
    price_per_kwh: float | None = None
    currency: str | None = None
    intensity_g_per_kwh: float | None = None
    factors_file: Path | None = None
    series_hz: float = 1.0
    power_hz: float = 10.0
    mode: Literal["process", "machine"] = "process"
    cpu_tdp_w: float | None = None
    powercap_root: Path = Path("/sys/class/powercap")
    host_id: str | None = None
    run_id: str | None = None
    hash_identifiers: bool = False
    store_command: bool = False
    timezone: str = "UTC"
    heartbeat_s: float = 5.0
    stale_after_s: float = 60.0
    series_tiers: tuple[tuple[str, int], ...] = (("1s", 7), ("1m", 90), ("1h", 0))
    market_factors: Mapping[str, float] = field(default_factory=_no_market_factors)
    market_factors_file: Path | None = None
    instruments_file: Path | None = None
    # ESRS E1 context (parsed by greenai.config.esrs_keys)
    scope1_tco2e: Mapping[str, float] = field(default_factory=_empty_table)
    scope1_statement: str | None = None
    net_revenue: Mapping[int, float] = field(default_factory=_empty_table)
    high_climate_impact_revenue: Mapping[int, float] = field(default_factory=_empty_table)
    revenue_currency: str | None = None
    consolidation_approach: str | None = None
    organisational_boundary: str | None = None
    base_year: int | None = None
    restatement_policy: str | None = None
    sites: Mapping[str, str] = field(default_factory=_empty_table)
    site_pue: Mapping[str, float] = field(default_factory=_empty_table)

    def __post_init__(self) -> None:
        for key in self.keys():
            value = getattr(self, key)
            parsed = parse_value(key, value)
            if parsed is not value:
                object.__setattr__(self, key, parsed)
        check_revenue_currency(
            self.net_revenue, self.high_climate_impact_revenue, self.revenue_currency
        )
        location = (self.country, self.region, self.cloud_provider, self.cloud_region)
        if any(part is not None for part in location):
            from greenai.emissions.location import normalise_location

            country, region, provider, cloud_region = normalise_location(*location)
            object.__setattr__(self, "country", country)
            object.__setattr__(self, "region", region)
            object.__setattr__(self, "cloud_provider", provider)
            object.__setattr__(self, "cloud_region", cloud_region)

    def __hash__(self) -> int:
        return hash(
            tuple(
                tuple(sorted(value.items())) if isinstance(value, Mapping) else value
                for value in (getattr(self, key) for key in self.keys())
            )
        )

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """Every valid configuration key, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def replace(self, **changes: Any) -> Settings:
        """A copy with some keys changed, checked like a new Settings.

        Raises:
            ConfigError: An unknown key or an invalid value.
        """
        for key, value in changes.items():
            if key not in self.keys():
                raise unknown_key(key, value, "")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain values (paths as strings, tiers as lists), e.g. for JSON."""
        plain: dict[str, Any] = {}
        for key in self.keys():
            value = getattr(self, key)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            elif key == "series_tiers":
                value = [list(tier) for tier in value]
            plain[key] = value
        return plain


def unknown_key(key: str, value: object, where: str) -> ConfigError:
    """The error for a key that is not a configuration key (with a close-match suggestion)."""
    valid = list(Settings.keys())
    place = f" in {where}" if where else ""
    parts = [f"unknown key{place}", suggest_key(key, valid), f"valid keys: {', '.join(valid)}"]
    return ConfigError(key, value, "; ".join(part for part in parts if part))
