"""Checks a configured location against CodeCarbon's factor data (the cached table).

Accepted locations: a country as an ISO 3166-1 alpha-3 code that CodeCarbon has a factor for;
a region of that country where CodeCarbon resolves regions (US states, Canadian and Chinese
provinces, the Nordic bidding zones SE1-SE4, NO1-NO5 and FI); a cloud provider and one of its
regions: for ``gcp`` a region with a factor in CodeCarbon's cloud table, for ``aws`` and
``azure`` a region of greenai's region map (:mod:`greenai.emissions.cloud_regions`), or any
region name when ``country`` is set too (the run then takes that country's factor).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from greenai.emissions.cloud_regions import MAPPED_PROVIDERS, mapped_region, mapped_regions
from greenai.emissions.factors import FactorTable, load_table
from greenai.errors import ConfigError

__all__ = [
    "CLOUD_PROVIDERS",
    "location_key",
    "normalise_location",
    "validate_location",
]

CLOUD_PROVIDERS = ("aws", "azure", "gcp")
"""Cloud providers accepted: ``gcp`` regions take CodeCarbon's cloud factors, ``aws`` and
``azure`` regions the grid factor of their mapped location."""

_ISO3 = re.compile(r"[A-Za-z]{3}")

Location = tuple[str | None, str | None, str | None, str | None]


def location_key(text: str) -> str:
    """Normalises a location written in a factor table or a ``market_factors`` key.

    ``fra`` -> ``FRA``; ``USA/California`` -> ``USA/california``; ``GCP/US-Central1`` ->
    ``gcp/us-central1``. Only the spelling is checked, not that CodeCarbon knows the place.

    Raises:
        ValueError: Not ``ISO3``, ``ISO3/region`` or ``provider/region``.
    """
    head, slash, tail = text.strip().partition("/")
    head, tail = head.strip(), " ".join(tail.split())
    if slash and not tail:
        raise ValueError(f"location {text!r} has nothing after '/'")
    if slash and head.casefold() in CLOUD_PROVIDERS:
        return f"{head.casefold()}/{tail.casefold()}"
    if not _ISO3.fullmatch(head):
        accepted = "ISO3, ISO3/region or provider/region (provider: aws, azure, gcp)"
        raise ValueError(f"location {text!r} is not {accepted}")
    return f"{head.upper()}/{tail.casefold()}" if slash else head.upper()


def normalise_location(
    country: str | None,
    region: str | None,
    cloud_provider: str | None,
    cloud_region: str | None,
    *,
    cache_dir: Path | None = None,
) -> Location:
    """Validates a location and returns it in canonical form.

    Country codes become upper case, regions CodeCarbon's own names (``California`` ->
    ``california``, ``se1`` -> ``SE1``, ``Guangdong Province`` -> ``guangdong``), cloud
    names lower case. Nothing is loaded when no location is set.

    Returns:
        ``(country, region, cloud_provider, cloud_region)``.

    Raises:
        ConfigError: Naming the first invalid key and what it accepts.
    """
    country = _blank_to_none(country)
    region = _blank_to_none(region)
    provider = _blank_to_none(cloud_provider)
    cloud_region = _blank_to_none(cloud_region)
    if country is None and region is None and provider is None and cloud_region is None:
        return None, None, None, None
    if region is not None and country is None:
        raise ConfigError("region", region, "needs country (ISO3) to be set as well")
    if (provider is None) != (cloud_region is None):
        key, value = (
            ("cloud_region", cloud_region) if provider is None else ("cloud_provider", provider)
        )
        raise ConfigError(key, value, "cloud_provider and cloud_region go together; set both")
    if provider is not None and provider.casefold() not in CLOUD_PROVIDERS:
        raise ConfigError("cloud_provider", provider, f"one of {', '.join(CLOUD_PROVIDERS)}")
    table = load_table(cache_dir)
    if country is not None:
        country = _check_country(table, country)
    if country is not None and region is not None:
        region = _check_region(table, country, region)
    if provider is not None and cloud_region is not None:
        provider, cloud_region = _check_cloud(table, provider, cloud_region, country)
    return country, region, provider, cloud_region


def validate_location(
    country: str | None,
    region: str | None,
    cloud_provider: str | None,
    cloud_region: str | None,
    *,
    cache_dir: Path | None = None,
) -> None:
    """Raises ConfigError if the location is not one CodeCarbon has factors for.

    See :func:`normalise_location`, which also returns the canonical spelling.
    """
    normalise_location(country, region, cloud_provider, cloud_region, cache_dir=cache_dir)


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    return f"; did you mean {', '.join(close)}?" if close else ""


def _check_country(table: FactorTable, country: str) -> str:
    iso3 = country.upper()
    if _ISO3.fullmatch(country) and table.country(iso3) is not None:
        return iso3
    names = table.countries()
    by_name = {name.casefold(): code for code, name in names.items()}
    close = difflib.get_close_matches(country.casefold(), list(by_name), n=1, cutoff=0.75)
    if close:
        hint = f"; did you mean {by_name[close[0]]} ({names[by_name[close[0]]]})?"
    elif len(iso3) == 2 and iso3.isalpha():  # an alpha-2 code: offer the codes it starts
        starts = sorted(code for code in names if code.startswith(iso3))[:3]
        hint = f"; did you mean {', '.join(starts)}?" if starts else ""
    else:
        hint = _suggest(iso3, list(names)) if _ISO3.fullmatch(country) else ""
    accepted = (
        f"an ISO 3166-1 alpha-3 code that CodeCarbon {table.codecarbon_version} has a factor for"
        f" ({len(names)} countries, e.g. FRA, USA, DEU){hint}"
    )
    raise ConfigError("country", country, accepted)


def _check_region(table: FactorTable, country: str, region: str) -> str:
    names = table.region_names(country)
    version = table.codecarbon_version
    if not names:
        with_regions = sorted(c for c in table.data["regions"] if table.region_names(c))
        accepted = (
            f"CodeCarbon {version} has regional factors only for {', '.join(with_regions)};"
            f" leave region unset for {country}"
        )
        raise ConfigError("region", region, accepted)
    canonical = table.canonical_region(country, region)
    if canonical is not None:
        return canonical
    hint = _suggest(" ".join(region.split()).casefold(), list(table.data["region_keys"][country]))
    accepted = (
        f"a region of {country} known to CodeCarbon {version}{hint} (one of: {', '.join(names)})"
    )
    raise ConfigError("region", region, accepted)


def _check_cloud(
    table: FactorTable, provider: str, region: str, country: str | None
) -> tuple[str, str]:
    provider, region = provider.casefold(), region.strip()
    if provider in MAPPED_PROVIDERS:
        return provider, _check_mapped_region(provider, region, country)
    regions = table.cloud_regions(provider)
    if table.cloud(provider, region) is not None:
        return provider, region.casefold()
    hint = _suggest(region.casefold(), regions)
    accepted = (
        f"a {provider} region with a factor in CodeCarbon {table.codecarbon_version}{hint}"
        f" (one of: {', '.join(regions)})"
    )
    raise ConfigError("cloud_region", region, accepted)


def _check_mapped_region(provider: str, region: str, country: str | None) -> str:
    """An aws/azure region: one of the region map, or any name when ``country`` is set."""
    if mapped_region(provider, region) is not None or country is not None:
        return region.casefold()
    regions = sorted(mapped_regions(provider))
    hint = _suggest(region.casefold(), regions)
    accepted = (
        f"a region of {provider} in greenai's region map{hint} (one of: {', '.join(regions)});"
        " for a region not in the map, set country (and region) to its location"
    )
    raise ConfigError("cloud_region", region, accepted)
