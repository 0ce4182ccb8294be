"""Where AWS and Azure regions are: region -> country (and US state), from the providers.

CodeCarbon 3.3 publishes cloud-region factors for ``gcp`` only. A run in an AWS or Azure
region therefore takes the grid factor of the region's location from CodeCarbon's country
and regional data, and keeps its ``cloud_provider``: purchased cloud services stay the
customer's Scope 3, category 1 (:func:`greenai.figures.scope.scope_of`).

The map is the data file ``data/cloud_regions.csv`` shipped with greenai (its header names
the providers' publications it was taken from). It is read once, on first use.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

__all__ = ["MAPPED_PROVIDERS", "MappedRegion", "mapped_region", "mapped_regions"]

MAPPED_PROVIDERS = ("aws", "azure")
"""Providers whose regions are located through the region map (not CodeCarbon's cloud table)."""

_DATA_FILE = "cloud_regions.csv"


@dataclass(frozen=True)
class MappedRegion:
    """A cloud region and the place the provider publishes for it.

    Attributes:
        provider: ``aws`` or ``azure``.
        region: The provider's region name, lower case (``us-east-1``, ``westus2``).
        country_iso3: ISO 3166-1 alpha-3 code of the region's country (``USA``, ``FRA``).
        state: For a US region, the state as CodeCarbon's regional table names it
            (``virginia``); None elsewhere.
        source: The publication the location comes from (``AWS Regions documentation``).
    """

    provider: str
    region: str
    country_iso3: str
    state: str | None
    source: str


def mapped_region(provider: str, region: str) -> MappedRegion | None:
    """The mapped location of a region (any case), or None if the map lacks it."""
    return _region_map().get(provider.strip().casefold(), {}).get(region.strip().casefold())


def mapped_regions(provider: str) -> list[str]:
    """The regions of a provider in the map, in the file's order (empty if none)."""
    return list(_region_map().get(provider.strip().casefold(), {}))


@functools.cache
def _region_map() -> dict[str, dict[str, MappedRegion]]:
    """provider -> region -> location, read from the data file shipped with greenai."""
    import csv
    from importlib.resources import files

    text = files("greenai.emissions").joinpath("data", _DATA_FILE).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    by_provider: dict[str, dict[str, MappedRegion]] = {}
    for row in csv.DictReader(lines):
        entry = MappedRegion(
            provider=row["provider"].strip().casefold(),
            region=row["region"].strip().casefold(),
            country_iso3=row["country_iso3"].strip().upper(),
            state=row["state"].strip().casefold() or None,
            source=row["source"].strip(),
        )
        by_provider.setdefault(entry.provider, {})[entry.region] = entry
    return by_provider
