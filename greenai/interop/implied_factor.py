"""The emission factor a CodeCarbon row implies, checked against CodeCarbon's own table.

A row's emissions divided by its energy is the factor CodeCarbon used. It is compared
with the installed table's factor for the row's location (the cloud region's when the
row ran in a public cloud, else the region's, else the country's). Beyond
:data:`TOLERANCE` the run is flagged ``factor_mismatch`` and both values are kept in its
tags; the recorded figures are never changed. A row written by another CodeCarbon
version than the installed one is flagged ``codecarbon_version_differs`` (factors are
revised between versions, so a small difference is then expected).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from greenai.emissions.factors import FactorTable
from greenai.figures import flags
from greenai.interop.codecarbon_row import CodecarbonRow

TOLERANCE = 0.02
"""Relative difference between the implied and the table's factor that is flagged."""
TABLE_TAG = "codecarbon_table_g_per_kwh"
"""Tag holding the installed table's factor where it differs from the implied one."""
IMPLIED_TAG = "codecarbon_implied_g_per_kwh"
"""Tag holding the factor the row implies, where it differs from the table's."""


@dataclass(frozen=True)
class FactorCheck:
    """What the check found for one row.

    Attributes:
        flags: Flag codes for the run (registered in :mod:`greenai.figures.flags`).
        tags: Tags with both factors, where they differ.
    """

    flags: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)


def table_factor(row: CodecarbonRow, table: FactorTable) -> float | None:
    """The installed table's factor for the row's location, gCO2e/kWh (None: none)."""
    if row.on_cloud and row.cloud_provider and row.cloud_region:
        cloud = table.cloud(row.cloud_provider, row.cloud_region)
        if cloud is not None:
            return float(cloud["g_per_kwh"])
    if row.country is None:
        return None
    if row.region:
        canonical = table.canonical_region(row.country, row.region)
        found = table.region(row.country, canonical) if canonical else None
        if found is not None:
            return float(found["g_per_kwh"])
    country = table.country(row.country)
    return None if country is None else float(country["g_per_kwh"])


def check_factor(row: CodecarbonRow, table: FactorTable) -> FactorCheck:
    """Flags and tags for a row whose implied factor or version differs from the table."""
    found: list[str] = []
    if row.codecarbon_version and row.codecarbon_version != table.codecarbon_version:
        found.append(flags.CODECARBON_VERSION_DIFFERS)
    implied, expected = row.intensity_g_per_kwh, table_factor(row, table)
    if implied is None or expected is None or expected <= 0:
        return FactorCheck(tuple(found))
    if abs(implied / expected - 1.0) <= TOLERANCE:
        return FactorCheck(tuple(found))
    found.append(flags.FACTOR_MISMATCH)
    tags = {IMPLIED_TAG: f"{implied:.6g}", TABLE_TAG: f"{expected:.6g}"}
    return FactorCheck(tuple(found), tags)
