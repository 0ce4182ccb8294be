"""Parsing of the keys that give an ESRS E1 report its context: Scope 1, revenue,
consolidation, base year, restatement policy and sites.

Each parser accepts a typed value (code, TOML) or a string (the environment) and returns
the typed value, or raises ValueError; :mod:`greenai.config.keys` turns that into a
one-line :class:`greenai.errors.ConfigError` with the ``ACCEPTED`` text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from greenai.config.pairs import key_values
from greenai.errors import ConfigError

__all__ = [
    "CONSOLIDATION_APPROACHES",
    "ESRS_ACCEPTED",
    "ESRS_PARSERS",
    "MAX_AMOUNT",
    "MAX_SCOPE1_TCO2E",
    "check_revenue_currency",
]

CONSOLIDATION_APPROACHES = ("financial_control", "operational_control", "equity_share")
"""The GHG Protocol's consolidation approaches (ESRS E1-6 follows the financial statements'
consolidation, with operational control added for what lies outside it)."""
MAX_SCOPE1_TCO2E = 1e9
MAX_AMOUNT = 1e15
"""Largest revenue accepted, in the currency's units (beyond any undertaking's)."""
YEARS = (1900, 2200)
_DAY = r"\d{4}-\d{2}-\d{2}"
_PERIOD_LABEL = re.compile(rf"\d{{4}}(-Q[1-4]|-(0[1-9]|1[0-2]))?|{_DAY}\.\.{_DAY}")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_SITE = re.compile(r"[^\s\x00-\x1f\x7f]{1,128}")

Parser = Callable[[Any], Any]


def _amount(raw: Any, high: float) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError("not a number")
    try:
        value = float(raw.strip() if isinstance(raw, str) else raw)
    except OverflowError:
        raise ValueError("not a finite number") from None
    if not math.isfinite(value) or not 0.0 <= value <= high:
        raise ValueError("out of range")
    return value


def _year(raw: Any) -> int:
    text = str(raw).strip()
    if isinstance(raw, bool) or not (text.isascii() and text.isdigit()):
        raise ValueError("not a year")
    year = int(text)
    if not YEARS[0] <= year <= YEARS[1]:
        raise ValueError("year out of range")
    return year


def _by_year(raw: Any) -> Mapping[int, float]:
    """A year -> amount table (an undertaking's net revenue per calendar year)."""
    return MappingProxyType({_year(k): _amount(v, MAX_AMOUNT) for k, v in key_values(raw)})


def _scope1(raw: Any) -> Mapping[str, float]:
    """A period label (``2026``, ``2026-Q3``, ``2026-10``) -> tCO2e table."""
    out: dict[str, float] = {}
    for key, value in key_values(raw):
        label = str(key).strip().upper()
        if not _PERIOD_LABEL.fullmatch(label):
            raise ValueError("not a period label")
        out[label] = _amount(value, MAX_SCOPE1_TCO2E)
    return MappingProxyType(out)


def _sites(raw: Any) -> Mapping[str, str]:
    """A host id -> site (data centre) name table."""
    out: dict[str, str] = {}
    for key, value in key_values(raw):
        if not isinstance(value, str):
            raise ValueError("a site name is text")
        host, site = str(key).strip(), value.strip()
        if not _SITE.fullmatch(host) or not site or not site.isprintable() or len(site) > 128:
            raise ValueError("not a host -> site pair")
        out[host] = site
    return MappingProxyType(out)


def _site_pue(raw: Any) -> Mapping[str, float]:
    """A site (or host) -> PUE table, PUE >= 1."""
    out: dict[str, float] = {}
    for key, value in key_values(raw):
        site = str(key).strip()
        if not site or not site.isprintable():
            raise ValueError("not a site")
        pue = _amount(value, math.inf)
        if pue < 1.0:
            raise ValueError("PUE below 1")
        out[site] = pue
    return MappingProxyType(out)


def _text(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("empty")
    return " ".join(raw.split())


def _choice(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError("not a text")
    word = "_".join(raw.strip().casefold().replace("-", " ").split())
    if word not in CONSOLIDATION_APPROACHES:
        raise ValueError("unknown approach")
    return word


def _currency(raw: Any) -> str:
    if not isinstance(raw, str) or not _CURRENCY.fullmatch(raw.strip()):
        raise ValueError("not a currency")
    return raw.strip().upper()


def _optional(parser: Parser) -> Parser:
    def parse(raw: Any) -> Any:
        return None if raw is None else parser(raw)

    return parse


_TABLE_FORM = "(KEY:VALUE,KEY:VALUE, a JSON object or a TOML table)"
ESRS_ACCEPTED: dict[str, str] = {
    "scope1_tco2e": "a table of period labels (2026, 2026-Q3, 2026-10) -> Scope 1 tCO2e "
    f"from 0 to {MAX_SCOPE1_TCO2E:.0e} {_TABLE_FORM}",
    "scope1_statement": "a non-empty text (the Scope 1 statement printed in the report)",
    "net_revenue": "a table of calendar years -> net revenue from 0 to "
    f"{MAX_AMOUNT:.0e}, such as 2026:1200000000 {_TABLE_FORM}",
    "high_climate_impact_revenue": "a table of calendar years -> net revenue from activities "
    f"in high climate impact sectors, from 0 to {MAX_AMOUNT:.0e} {_TABLE_FORM}",
    "revenue_currency": "an ISO 4217 code of 3 letters such as EUR, USD",
    "consolidation_approach": "one of " + ", ".join(CONSOLIDATION_APPROACHES),
    "organisational_boundary": "a non-empty text describing the organisational boundary",
    "base_year": f"a year from {YEARS[0]} to {YEARS[1]}",
    "restatement_policy": "a non-empty text (when and how figures are restated)",
    "sites": "a table of host ids -> site (data centre) names such as "
    f"gpu-01:paris-dc1 {_TABLE_FORM}",
    "site_pue": f"a table of site names (or host ids) -> PUE >= 1.0 {_TABLE_FORM}",
}
"""What each ESRS context key accepts, in words (for the ConfigError message)."""

ESRS_PARSERS: dict[str, Parser] = {
    "scope1_tco2e": _scope1,
    "scope1_statement": _optional(_text),
    "net_revenue": _by_year,
    "high_climate_impact_revenue": _by_year,
    "revenue_currency": _optional(_currency),
    "consolidation_approach": _optional(_choice),
    "organisational_boundary": _optional(_text),
    "base_year": _optional(_year),
    "restatement_policy": _optional(_text),
    "sites": _sites,
    "site_pue": _site_pue,
}
"""The parser of each ESRS context key."""


def check_revenue_currency(
    net_revenue: Mapping[int, float],
    high_climate_impact_revenue: Mapping[int, float],
    revenue_currency: str | None,
) -> None:
    """Revenue without its currency is refused: an intensity needs its unit.

    Raises:
        ConfigError: ``net_revenue`` or ``high_climate_impact_revenue`` is set without
            ``revenue_currency``.
    """
    if (net_revenue or high_climate_impact_revenue) and revenue_currency is None:
        raise ConfigError(
            "revenue_currency",
            None,
            "an ISO 4217 code such as EUR, needed with net_revenue or high_climate_impact_revenue",
        )
