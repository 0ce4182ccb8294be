"""Emission factors: which one applies to a run, user factor tables, and the per-version cache.

Precedence, highest first:

1. a forced intensity (``intensity_g_per_kwh`` in the configuration);
2. the user's factor table (``factors_file``), most specific location first:
   ``provider/region``, then ``ISO3/region``, then ``ISO3``;
3. for ``gcp``, CodeCarbon's factor for the cloud region (``cloud_provider`` +
   ``cloud_region``); for ``aws`` and ``azure``, CodeCarbon's factor for the region's location
   in greenai's region map (:mod:`greenai.emissions.cloud_regions`: the US state where
   CodeCarbon has one, else the country), the source naming the mapping;
4. CodeCarbon's factor for the country, or for its region where CodeCarbon has one
   (US states, Canadian and Chinese provinces, Nordic bidding zones); for a cloud region
   outside the map, this is the configured location of its data centre;
5. CodeCarbon's world average, flagged ``unknown_location``, when no location is set.

The factor applies to facility energy (IT energy x PUE), as in CodeCarbon.

User factor tables are CSV files with a header row and the columns ``location`` (``FRA``,
``USA/california``, ``gcp/us-central1``), ``intensity_g_per_kwh`` (gCO2e/kWh, >= 0) and
optionally ``source`` (free text, e.g. ``Utility X 2025 residual mix``); other columns are
ignored, as are blank lines and lines starting with ``#``.

CodeCarbon's data are read through :mod:`greenai.emissions.codecarbon_factors` once per
CodeCarbon version (about a second) and kept as a small JSON file in the per-user cache
directory (``GREENAI_CACHE_DIR`` overrides it); later processes read that file (a few
milliseconds) and never import CodeCarbon.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from greenai.emissions.cloud_regions import mapped_region
from greenai.emissions.codecarbon_factors import TABLE_FORMAT, codecarbon_version
from greenai.emissions.factor_evidence import (
    cloud_evidence,
    country_evidence,
    region_evidence,
    world_evidence,
)
from greenai.emissions.user_factors import user_table_row
from greenai.errors import GreenAIError
from greenai.figures import units
from greenai.figures.evidence import UNKNOWN, FactorEvidence
from greenai.figures.flags import UNKNOWN_LOCATION

if TYPE_CHECKING:
    from greenai.config import Settings

__all__ = [
    "CACHE_DIR_ENV",
    "TABLE_FORMAT",
    "Factor",
    "FactorTable",
    "codecarbon_version",
    "emissions_kg",
    "energy_mix",
    "load_table",
    "resolve_factor",
]

log = logging.getLogger(__name__)

CACHE_DIR_ENV = "GREENAI_CACHE_DIR"
"""Environment variable naming the cache directory (default: the per-user cache dir)."""


UNSTATED = FactorEvidence(UNKNOWN)
"""The evidence of a factor made without any (a test's factor)."""

_TABLES: dict[tuple[str, str], FactorTable] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Factor:
    """The emission factor applied to a run's facility energy.

    Attributes:
        intensity_g_per_kwh: Grid carbon intensity, gCO2e per kWh of facility energy.
        source: Where it comes from, e.g. ``codecarbon 3.3.2: global_energy_mix (FRA)``.
        codecarbon_version: CodeCarbon version whose data gave the factor, else None.
        location: ``FRA``, ``USA/california``, ``gcp/us-central1``, ``world`` or ``unset``.
        flags: Data-quality flags, e.g. ``("unknown_location",)`` for the world average.
        evidence: Its dataset, vintage, basis, GWP set and grid mix
            (:mod:`greenai.figures.evidence`), stored with each run.
    """

    intensity_g_per_kwh: float
    source: str
    codecarbon_version: str | None
    location: str
    flags: tuple[str, ...] = ()
    evidence: FactorEvidence = UNSTATED


class FactorTable:
    """CodeCarbon's factors for one CodeCarbon version (see ``codecarbon_factors``)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        """Wraps a table as built by ``codecarbon_factors.build_table``."""
        self.data = data
        self.codecarbon_version: str = data["codecarbon_version"]

    @property
    def world_g_per_kwh(self) -> float:
        """CodeCarbon's world average, gCO2e/kWh."""
        return float(self.data["world"]["g_per_kwh"])

    def countries(self) -> dict[str, str]:
        """ISO3 code -> country name, for every country CodeCarbon has a factor for."""
        return {iso3: str(row.get("name") or iso3) for iso3, row in self.data["countries"].items()}

    def country(self, iso3: str) -> Mapping[str, Any] | None:
        """The country's entry (``g_per_kwh``, ``name``, ``year``, ``mix``), or None."""
        row: Mapping[str, Any] | None = self.data["countries"].get(iso3.upper())
        return row

    def region_names(self, iso3: str) -> list[str]:
        """Canonical names of the regions CodeCarbon resolves in a country (may be empty)."""
        return list(self.data["regions"].get(iso3.upper(), {}))

    def region(self, iso3: str, canonical: str) -> Mapping[str, Any] | None:
        """A region's entry (``g_per_kwh``, ``dataset``, ``mix``), by canonical name, or None."""
        row: Mapping[str, Any] | None = self.data["regions"].get(iso3.upper(), {}).get(canonical)
        return row

    def canonical_region(self, iso3: str, name: str) -> str | None:
        """CodeCarbon's name for a region spelt ``name`` (any case, aliases), or None."""
        import re

        iso3 = iso3.upper()
        spelling = " ".join(name.split()).casefold()
        suffix = self.data.get("region_suffixes", {}).get(iso3)
        if suffix:
            spelling = re.sub(suffix, "", spelling)
        found: str | None = self.data["region_keys"].get(iso3, {}).get(spelling)
        return found

    def cloud_regions(self, provider: str) -> list[str]:
        """Regions of a cloud provider that have a published factor (may be empty)."""
        return list(self.data["cloud"].get(provider.lower(), {}))

    def cloud(self, provider: str, region: str) -> Mapping[str, Any] | None:
        """A cloud region's entry (``g_per_kwh``, ``country``, ``place``), or None."""
        row: Mapping[str, Any] | None = (
            self.data["cloud"].get(provider.lower(), {}).get(region.lower())
        )
        return row


def cache_dir_default() -> Path:
    """``GREENAI_CACHE_DIR`` if set, else the per-user cache directory of greenai."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("greenai"))


def load_table(cache_dir: Path | None = None) -> FactorTable:
    """CodeCarbon's factors for the installed version: memory, else cache file, else built.

    Args:
        cache_dir: Where the cached table lives (default: :func:`cache_dir_default`).

    Returns:
        The table.

    Raises:
        GreenAIError: CodeCarbon is not installed, or its data could not be read.
    """
    version = codecarbon_version()
    if version is None:
        raise GreenAIError("CodeCarbon is not installed: pip install 'codecarbon>=3.3,<3.4'")
    directory = cache_dir if cache_dir is not None else cache_dir_default()
    key = (str(directory), version)
    table = _TABLES.get(key)
    if table is not None:
        return table
    with _LOCK:
        table = _TABLES.get(key)
        if table is None:
            table = FactorTable(_cached_or_built(directory, version))
            _TABLES[key] = table
    return table


def forget_loaded_tables() -> None:
    """Drops the tables held in memory, so the next call reads the cache file again."""
    with _LOCK:
        _TABLES.clear()


def table_path(directory: Path, version: str) -> Path:
    """The cache file of a CodeCarbon version."""
    safe = "".join(c if c.isalnum() or c in ".-_+" else "_" for c in version)
    return directory / f"factors-codecarbon-{safe}.json"


def _cached_or_built(directory: Path, version: str) -> dict[str, Any]:
    path = table_path(directory, version)
    data = _read_cached(path, version)
    if data is not None:
        return data
    from greenai.emissions.codecarbon_factors import build_table

    try:
        data = build_table(version)
    except Exception as exc:
        raise GreenAIError(
            f"cannot read CodeCarbon {version}'s emission factors: {type(exc).__name__}: {exc}"
        ) from exc
    _write_atomic(path, data)
    return data


def _read_cached(path: Path, version: str) -> dict[str, Any] | None:
    """The cached table if it is readable, of our format and of this CodeCarbon version."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("emission-factor cache %s unreadable (%s); rebuilding it", path, exc)
        return None
    if not isinstance(data, dict):
        return None
    if data.get("format") != TABLE_FORMAT or data.get("codecarbon_version") != version:
        return None
    required = ("world", "countries", "regions", "region_keys", "cloud")
    return data if all(isinstance(data.get(k), dict) for k in required) else None


def _write_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Writes the table through a temporary file and a rename; failures are only logged."""
    import tempfile

    tmp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, sort_keys=True, separators=(",", ":"))
        os.replace(tmp_name, path)
    except OSError as exc:
        log.warning("cannot cache emission factors in %s (%s); using them in memory", path, exc)
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)


def resolve_factor(settings: Settings, *, cache_dir: Path | None = None) -> Factor:
    """The emission factor for the configured location (precedence in the module docstring).

    Args:
        settings: Validated configuration.
        cache_dir: Cache directory of CodeCarbon's table (default: :func:`cache_dir_default`).

    Returns:
        The factor, with its source, CodeCarbon version and flags.

    Raises:
        ConfigError: The user factor table is invalid.
        GreenAIError: CodeCarbon's data could not be read.
    """
    location = _location_label(settings)
    if settings.intensity_g_per_kwh is not None:
        forced = FactorEvidence("forced intensity (configuration)")
        return Factor(settings.intensity_g_per_kwh, "forced intensity (config)", None, location,
                      evidence=forced)  # fmt: skip
    if settings.factors_file is not None:
        mine = user_table_row(settings, settings.factors_file)
        if mine is not None:
            source = f"user table {settings.factors_file}: {mine.location}"
            if mine.source:
                source += f" ({mine.source})"
            stated = FactorEvidence(source, mine.vintage, mine.basis, mine.gwp)
            return Factor(mine.intensity_g_per_kwh, source, None, mine.location, evidence=stated)
    table = load_table(cache_dir)
    prefix = f"codecarbon {table.codecarbon_version}"
    version = table.codecarbon_version
    if settings.cloud_provider and settings.cloud_region:
        row = table.cloud(settings.cloud_provider, settings.cloud_region)
        if row is not None:
            label = f"{prefix}: cloud {location}"
            return Factor(row["g_per_kwh"], label, version, location,
                          evidence=cloud_evidence(table, location))  # fmt: skip
        mapped = _mapped_grid(table, settings.cloud_provider, settings.cloud_region)
        if mapped is not None:
            return Factor(mapped.g_per_kwh, f"{prefix}: {mapped.label}", version, location,
                          evidence=mapped.evidence)  # fmt: skip
    grid = _grid(table, settings.country, settings.region) if settings.country else None
    if grid is not None:
        label, place = grid.label, grid.place
        if settings.cloud_provider and settings.cloud_region:  # a region outside the map
            label += f" for {location} (not in the region map; location from configuration)"
            place = location
        return Factor(grid.g_per_kwh, f"{prefix}: {label}", version, place,
                      evidence=grid.evidence)  # fmt: skip
    world = f"{prefix}: world average (location not set)"
    return Factor(table.world_g_per_kwh, world, version, "world", (UNKNOWN_LOCATION,),
                  world_evidence(table))  # fmt: skip


class Grid(NamedTuple):
    """A place's grid factor: gCO2e/kWh, the label of its dataset and place, the place
    (``FRA``, ``USA/california``) and its evidence."""

    g_per_kwh: float
    label: str
    place: str
    evidence: FactorEvidence


def _grid(table: FactorTable, country: str, region: str | None) -> Grid | None:
    """The grid factor of the region where CodeCarbon has one, else of the country; None
    if CodeCarbon has neither."""
    found = table.region(country, region) if region else None
    if found is not None:
        place = f"{country}/{region}"
        return Grid(float(found["g_per_kwh"]), f"{found['dataset']} ({place})", place,
                    region_evidence(table, country, place, found))  # fmt: skip
    row = table.country(country)
    if row is None:
        return None
    return Grid(float(row["g_per_kwh"]), f"global_energy_mix ({country})", country,
                country_evidence(table, country))  # fmt: skip


def _mapped_grid(table: FactorTable, provider: str, region: str) -> Grid | None:
    """The grid factor of an aws/azure region's mapped location, its label naming the map."""
    entry = mapped_region(provider, region)
    if entry is None:
        return None
    grid = _grid(table, entry.country_iso3, entry.state)
    if grid is None:
        return None
    via = f" via {entry.provider}/{entry.region} (region map: {entry.source})"
    evidence = replace(grid.evidence, dataset=grid.evidence.dataset + via)
    return grid._replace(label=grid.label + via, evidence=evidence)


def _location_label(settings: Settings) -> str:
    if settings.cloud_provider and settings.cloud_region:
        return f"{settings.cloud_provider}/{settings.cloud_region}"
    if settings.country and settings.region:
        return f"{settings.country}/{settings.region}"
    return settings.country or "unset"


def emissions_kg(facility_energy_j: float, factor: Factor) -> float:
    """kgCO2e of an amount of facility energy.

    Args:
        facility_energy_j: Energy drawn from the grid (IT energy x PUE), joules.
        factor: The factor from :func:`resolve_factor`.

    Returns:
        Emissions, kgCO2e.
    """
    return units.emissions_kg(facility_energy_j, factor.intensity_g_per_kwh)


def energy_mix(country_iso3: str, *, cache_dir: Path | None = None) -> dict[str, float] | None:
    """A country's generation mix as shares of its total, from CodeCarbon's country data.

    Args:
        country_iso3: ISO 3166-1 alpha-3 code (any case).
        cache_dir: Cache directory of CodeCarbon's table.

    Returns:
        ``{"fossil": share, "nuclear": share, "renewable": share}`` (shares of
        ``total_TWh``, each in [0, 1]), or None for an unknown country or missing data.
    """
    row = load_table(cache_dir).country(country_iso3.strip())
    if row is None or not row.get("mix"):
        return None
    return {family: float(share) for family, share in row["mix"].items()}
