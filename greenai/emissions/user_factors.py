"""Your own emission-factor table (``factors_file``): a CSV of locations and factors that
wins over CodeCarbon's data for the locations it lists.

Columns: ``location`` (``FRA``, ``USA/california``, ``gcp/us-central1``,
``aws/eu-west-3``), ``intensity_g_per_kwh`` (gCO2e/kWh, >= 0) and the optional ``source``,
``vintage`` (the year the factor describes), ``basis`` (``life-cycle``, ``combustion``) and
``gwp`` (the GWP set of its CO2e, e.g. ``AR5``): the report states them as given and
``unknown`` where a row leaves them empty.
Lines starting with ``#`` are comments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from greenai.emissions.config_csv import read_table
from greenai.errors import ConfigError
from greenai.figures.evidence import BASES, UNKNOWN

if TYPE_CHECKING:
    from greenai.config import Settings


@dataclass(frozen=True)
class TableFactor:
    """One row of a user factor table.

    Attributes:
        location: Normalised location key (``FRA``, ``USA/california``, ``gcp/us-central1``).
        intensity_g_per_kwh: gCO2e per kWh.
        source: The row's ``source`` column, or an empty string.
        vintage: The row's ``vintage`` year, or None.
        basis: The row's ``basis`` (``life-cycle``, ``combustion``), or ``unknown``.
        gwp: The row's ``gwp`` set, or ``unknown``.
    """

    location: str
    intensity_g_per_kwh: float
    source: str
    vintage: int | None = None
    basis: str = UNKNOWN
    gwp: str = UNKNOWN


def read_factor_table(path: Path, key: str = "factors_file") -> dict[str, TableFactor]:
    """Reads a user factor table (CSV; columns in the module docstring).

    Args:
        path: The CSV file.
        key: The configuration key that named it, for error messages.

    Returns:
        Normalised location key -> row.

    Raises:
        ConfigError: The file is unreadable or a row is invalid (the message names the line).
    """
    from greenai.emissions.location import location_key

    header, table = read_table(path, key)
    if "location" not in header or "intensity_g_per_kwh" not in header:
        accepted = "a CSV whose header has location,intensity_g_per_kwh[,source]"
        raise ConfigError(key, str(path), accepted)
    factors: dict[str, TableFactor] = {}
    for line_no, cells in table:
        where = f"{path}:{line_no}"
        try:
            location = location_key(cells.get("location", ""))
            intensity = float(cells.get("intensity_g_per_kwh", ""))
        except ValueError as exc:
            raise ConfigError(key, where, f"a valid location and number ({exc})") from exc
        if not (math.isfinite(intensity) and intensity >= 0):
            raise ConfigError(key, where, "intensity_g_per_kwh >= 0 (gCO2e/kWh)")
        if location in factors:
            raise ConfigError(key, where, f"one row per location ({location} repeated)")
        vintage, basis = _evidence_cells(cells, key, where)
        gwp = cells.get("gwp") or UNKNOWN
        factors[location] = TableFactor(
            location, intensity, cells.get("source", ""), vintage, basis, gwp
        )
    return factors


def _evidence_cells(cells: dict[str, str], key: str, where: str) -> tuple[int | None, str]:
    """The row's vintage year and basis, checked (empty cells: not stated)."""
    vintage_text, basis = cells.get("vintage", ""), (cells.get("basis") or UNKNOWN).casefold()
    if basis not in BASES:
        raise ConfigError(key, where, f"a basis among {', '.join(BASES)} (or empty)")
    if not vintage_text:
        return None, basis
    if not (vintage_text.isdigit() and 1900 <= int(vintage_text) <= 2100):
        raise ConfigError(key, where, "a vintage year such as 2024 (or empty)")
    return int(vintage_text), basis


def user_table_row(settings: Settings, path: Path) -> TableFactor | None:
    """The row of the table at ``path`` for the configured location: the cloud region,
    else the country's region, else the country; None when it lists none of them."""
    table = read_factor_table(path)
    candidates = []
    if settings.cloud_provider and settings.cloud_region:
        candidates.append(f"{settings.cloud_provider}/{settings.cloud_region}".casefold())
    if settings.country and settings.region:
        candidates.append(f"{settings.country}/{settings.region.casefold()}")
    if settings.country:
        candidates.append(settings.country)
    for candidate in candidates:
        row = table.get(candidate)
        if row is not None:
            return row
    return None
