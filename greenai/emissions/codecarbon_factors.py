"""The one module of greenai that imports CodeCarbon: builds greenai's emission-factor table.

It also tells which CodeCarbon is installed, without importing it (:func:`codecarbon_version`).

CodeCarbon's emission classes are internal (hence the narrow version range in pyproject.toml),
so everything greenai needs from them is gathered here, once per CodeCarbon version, into a
plain JSON-ready table that :mod:`greenai.emissions.factors` caches on disk. Every entry is
computed through CodeCarbon's own functions for 1 kWh (``Emissions.get_private_infra_emissions``
per country and region, ``Emissions.get_cloud_emissions`` per cloud region), so the table gives
exactly what CodeCarbon gives. Building it imports CodeCarbon (which initialises NVML and loads
pandas) and takes about a second; that cost is paid once per CodeCarbon version and machine.

Table layout (format :data:`TABLE_FORMAT`), every intensity in gCO2e per kWh:

- ``world``: ``{"g_per_kwh"}``, CodeCarbon's world average (its fallback for unknown places).
- ``countries``: ISO3 -> ``{"g_per_kwh", "name", "year", "mix"}``, from
  ``global_energy_mix.json``; ``mix`` holds the fossil / nuclear / renewable shares of
  generation (``fossil_TWh``, ``nuclear_TWh``, ``renewables_TWh`` over ``total_TWh``) or null.
- ``regions``: ISO3 -> canonical region name -> ``{"g_per_kwh", "dataset", "mix"}`` for the
  regions CodeCarbon resolves itself: US states (EPA eGRID), Canadian provinces (energy mix),
  Chinese provinces (MEE/NBS) and the Nordic bidding zones; ``mix`` is the region's own
  generation mix where the data hold one (Canadian provinces), else null.
- ``region_keys``: ISO3 -> normalised spelling (lower case, single spaces) -> canonical name,
  aliases included; ``region_suffixes``: ISO3 -> a regular expression of suffixes CodeCarbon
  strips before matching (``province``, ``municipality``, ... for China).
- ``cloud``: provider -> region -> ``{"g_per_kwh", "country", "place"}`` from ``impact.csv``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

TABLE_FORMAT = 2
"""Version of the table layout; a cached table of another format is rebuilt."""


def codecarbon_version() -> str | None:
    """The installed CodeCarbon version, without importing CodeCarbon; None if absent.

    Reads the ``Version`` of the ``codecarbon-*.dist-info`` next to the package (what
    ``importlib.metadata.version`` returns, without the ~30 ms import of importlib.metadata),
    and falls back to ``importlib.metadata`` for any other layout.
    """
    import importlib.util

    spec = importlib.util.find_spec("codecarbon")
    if spec is None:
        return None
    for folder in spec.submodule_search_locations or ():
        infos = list(Path(folder).parent.glob("codecarbon-*.dist-info"))
        if len(infos) == 1:
            version = _metadata_version(infos[0] / "METADATA")
            if version:
                return version
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("codecarbon")
    except PackageNotFoundError:
        return None


def _metadata_version(path: Path) -> str | None:
    try:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.startswith("Version:"):
                    return line.partition(":")[2].strip() or None
                if not line.strip():
                    break  # end of the headers
    except OSError:
        return None
    return None


_NORDIC_FALLBACK = {
    "SWE": ("SE1", "SE2", "SE3", "SE4"),
    "NOR": ("NO1", "NO2", "NO3", "NO4", "NO5"),
    "FIN": ("FI",),
}


def build_table(codecarbon_version: str) -> dict[str, Any]:
    """Computes greenai's factor table from the installed CodeCarbon's data.

    Args:
        codecarbon_version: The installed CodeCarbon version, stored in the table as its key.

    Returns:
        The table described in the module docstring, ready for ``json.dump``.
    """
    from codecarbon.core.emissions import Emissions
    from codecarbon.input import DataSource

    cc_logger = logging.getLogger("codecarbon")
    level = cc_logger.level
    cc_logger.setLevel(logging.CRITICAL)  # fallbacks are detected here, not logged there
    try:
        data_source: Any = DataSource  # untyped constructor
        source = data_source()
        emissions = Emissions(source)
        regions = _Regions()
        _add_usa_canada(emissions, source, regions)
        _add_nordic(emissions, source, regions)
        _add_china(emissions, source, regions)
        return {
            "format": TABLE_FORMAT,
            "codecarbon_version": codecarbon_version,
            "world": {"g_per_kwh": _world_g_per_kwh(source)},
            "countries": _countries(emissions, source),
            "regions": regions.regions,
            "region_keys": regions.keys,
            "region_suffixes": regions.suffixes,
            "cloud": _cloud(emissions, source),
        }
    finally:
        cc_logger.setLevel(level)


def _one_kwh() -> Any:
    from codecarbon.core.units import Energy

    return Energy.from_energy(kWh=1.0)


def _geo(iso3: str, region: str | None = None) -> Any:
    from codecarbon.external.geography import GeoMetadata

    return GeoMetadata(country_iso_code=iso3, region=region)


def _world_g_per_kwh(source: Any) -> float:
    """CodeCarbon's world average, converted the way its fallback converts it."""
    from codecarbon.core.units import EmissionsPerKWh

    g = source.get_carbon_intensity_per_source_data()["world_average"]
    kg = EmissionsPerKWh.from_g_per_kWh(g).kgs_per_kWh * _one_kwh().kWh
    return _g(kg)


def _g(kg_for_one_kwh: float) -> float:
    """kg for 1 kWh -> g/kWh, to 12 significant digits (drops ``475.00000000000006`` noise)."""
    return float(f"{float(kg_for_one_kwh) * 1000.0:.12g}")


def _countries(emissions: Any, source: Any) -> dict[str, dict[str, Any]]:
    countries: dict[str, dict[str, Any]] = {}
    for iso3, row in source.get_global_energy_mix_data().items():
        kg = emissions.get_private_infra_emissions(_one_kwh(), _geo(iso3))
        countries[iso3.upper()] = {
            "g_per_kwh": _g(kg),
            "name": row.get("country_name"),
            "year": row.get("year"),
            "mix": _mix(row),
        }
    return countries


def _mix(row: dict[str, Any]) -> dict[str, float] | None:
    """Shares of generation by family, or None where CodeCarbon's row lacks them."""
    try:
        total = float(row["total_TWh"])
        parts = {
            "fossil": float(row["fossil_TWh"]),
            "nuclear": float(row["nuclear_TWh"]),
            "renewable": float(row["renewables_TWh"]),
        }
    except (KeyError, TypeError, ValueError):
        return None
    if not (total > 0 and math.isfinite(total)):
        return None
    return {family: twh / total for family, twh in parts.items()}


_PROVINCE_FAMILIES = {
    "fossil": ("naturalGas", "petroleum", "coal"),
    "nuclear": ("nuclear",),
    "renewable": ("hydro", "wind", "solar", "biomass", "tidal"),
}
"""Sources of ``canada_energy_mix.json`` (percent of generation) by family; ``other``
belongs to none (its share stays unknown)."""


def _province_mix(row: dict[str, Any]) -> dict[str, float] | None:
    """A Canadian province's shares of generation by family, or None."""
    try:
        total = float(row["total"])
        mix = {
            family: sum(float(row.get(source) or 0.0) for source in sources) / total
            for family, sources in _PROVINCE_FAMILIES.items()
        }
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not all(0.0 <= share <= 1.0 for share in mix.values()) or sum(mix.values()) > 1.0 + 1e-9:
        return None
    return mix


def _regional_g_per_kwh(emissions: Any, iso3: str, region: str) -> float | None:
    """CodeCarbon's figure for a region, or None where CodeCarbon would not use regional data.

    ``get_private_infra_emissions`` falls back to the country silently when a region fails;
    comparing it with ``get_region_emissions`` (which raises instead) keeps only regions that
    CodeCarbon really resolves.
    """
    try:
        regional = emissions.get_region_emissions(_one_kwh(), _geo(iso3, region))
    except Exception:
        return None
    used = emissions.get_private_infra_emissions(_one_kwh(), _geo(iso3, region))
    if used != regional:
        return None
    return _g(used)


class _Regions:
    """Accumulates the ``regions``, ``region_keys`` and ``region_suffixes`` parts of the table."""

    def __init__(self) -> None:
        self.regions: dict[str, dict[str, dict[str, Any]]] = {}
        self.keys: dict[str, dict[str, str]] = {}
        self.suffixes: dict[str, str] = {}

    def add(
        self,
        iso3: str,
        canonical: str,
        g_per_kwh: float,
        dataset: str,
        mix: dict[str, float] | None = None,
    ) -> None:
        """Adds a region under its canonical name (CodeCarbon's spelling)."""
        entry = {"g_per_kwh": g_per_kwh, "dataset": dataset, "mix": mix}
        self.regions.setdefault(iso3, {})[canonical] = entry
        self.alias(iso3, canonical, canonical)

    def alias(self, iso3: str, spelling: str, canonical: str) -> None:
        """Lets ``spelling`` (any case and spacing) name the region ``canonical``."""
        self.keys.setdefault(iso3, {})[" ".join(spelling.split()).casefold()] = canonical


def _dataset_label(source: Any, config_key: str, fallback: str) -> str:
    """``usa_emissions 2023`` from CodeCarbon's ``data/private_infra/2023/usa_emissions.json``."""
    path = source.config.get(config_key)
    if not path:
        return fallback
    pure = PurePosixPath(path)
    return f"{pure.stem} {pure.parent.name}" if pure.parent.name.isdigit() else pure.stem


def _add_usa_canada(
    emissions: Any,
    source: Any,
    regions: _Regions,
) -> None:
    """US states (EPA eGRID, lbs/MWh) and Canadian provinces (generation mix)."""
    loaders: list[tuple[str, Callable[[str], dict[str, Any]], str]] = [
        ("USA", source.get_country_emissions_data, "usa_emissions_data_path"),
        ("CAN", source.get_country_energy_mix_data, "can_energy_mix_data_path"),
    ]
    for iso3, load, config_key in loaders:
        try:
            data = load(iso3.lower())
        except Exception:
            continue
        label = _dataset_label(source, config_key, iso3.lower())
        meta = data.get("_source")
        if isinstance(meta, dict) and "eGRID" in str(meta.get("name", "")) and meta.get("year"):
            label = f"eGRID {meta['year']}"
        for name in data:
            if name.startswith("_"):
                continue
            g = _regional_g_per_kwh(emissions, iso3, name)
            if g is not None:
                mix = _province_mix(data[name]) if iso3 == "CAN" else None
                regions.add(iso3, name, g, label, mix)


def _add_nordic(
    emissions: Any,
    source: Any,
    regions: _Regions,
) -> None:
    """Swedish, Norwegian and Finnish bidding zones (SE1..SE4, NO1..NO5, FI)."""
    from codecarbon.core import emissions as cc_emissions

    zones_by_country = getattr(cc_emissions, "_NORDIC_REGIONS_BY_COUNTRY", _NORDIC_FALLBACK)
    data = source.get_nordic_country_energy_mix_data().get("data", {})
    for iso3, zones in zones_by_country.items():
        for zone in sorted(zones):
            if zone not in data:
                continue
            g = _regional_g_per_kwh(emissions, iso3, zone)
            year = data[zone].get("year")
            label = f"nordic_emissions {year}" if year else "nordic_emissions"
            if g is not None:
                regions.add(iso3, zone, g, label)


def _add_china(
    emissions: Any,
    source: Any,
    regions: _Regions,
) -> None:
    """Chinese provinces (official MEE/NBS factors), with their alternative names."""
    from codecarbon.core import emissions as cc_emissions

    getter = getattr(source, "get_china_provincial_emissions_data", None)
    if getter is None:
        return
    china = getter()
    year = china.get("metadata", {}).get("year")
    label = f"china_provincial_emissions {year}" if year else "china_provincial_emissions"
    for province in china.get("data", {}).values():
        names = tuple(province.get("names", ()))
        if not names:
            continue
        g = _regional_g_per_kwh(emissions, "CHN", names[0])
        if g is not None:
            regions.add("CHN", names[0], g, label)
            for alias in names[1:]:
                regions.alias("CHN", alias, names[0])
    pattern = getattr(cc_emissions, "_CHINA_REGION_SUFFIX", None)
    if isinstance(pattern, re.Pattern):
        regions.suffixes["CHN"] = pattern.pattern


def _cloud(emissions: Any, source: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """Cloud regions with a published factor (CodeCarbon's ``impact.csv``)."""
    from codecarbon.external.geography import CloudMetadata

    frame = source.get_cloud_emissions_data()
    pairs = frame.groupby(["provider", "region"]).size()
    cloud: dict[str, dict[str, dict[str, Any]]] = {}
    for row in frame.itertuples(index=False):
        provider, region = str(row.provider), str(row.region)
        if pairs[(provider, region)] != 1:
            continue  # CodeCarbon's lookup needs exactly one row; it falls back otherwise
        kg = emissions.get_cloud_emissions(_one_kwh(), CloudMetadata(provider, region))
        place = next((str(p) for p in (row.state, row.city) if isinstance(p, str) and p), None)
        cloud.setdefault(provider.lower(), {})[region.lower()] = {
            "g_per_kwh": _g(kg),
            "country": str(row.countryIsoCode),
            "place": place,
        }
    return cloud
