"""The emission factor a CodeCarbon row implies, checked against CodeCarbon's own table.

A row's emissions divided by its energy is the factor CodeCarbon used. It is compared
with the installed table's factor for the row's location (the cloud region's when the
row ran in a public cloud, else the region's, else the country's). Beyond
:data:`TOLERANCE` the run is flagged ``factor_mismatch`` and both values are kept in its
tags; the recorded figures are never changed. A row written by another CodeCarbon
version than the installed one is flagged ``codecarbon_version_differs`` (factors are
revised between versions, so a small difference is then expected). The run stores the
evidence of its factor (dataset, vintage, basis, grid mix) from the table when the row's
factor is the table's, so the report never depends on a later CodeCarbon.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from greenai.emissions.factor_evidence import cloud_evidence, country_evidence, region_evidence
from greenai.emissions.factors import FactorTable
from greenai.figures import flags
from greenai.figures.evidence import FactorEvidence
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
        evidence: The evidence of the factor, stored on the run: the installed table's
            for the row's location when the row's factor matches it (its mix in any
            case); None where the table has no factor for the location.
    """

    flags: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    evidence: FactorEvidence | None = None


def table_factor(row: CodecarbonRow, table: FactorTable) -> tuple[float, FactorEvidence] | None:
    """The installed table's factor for the row's location (gCO2e/kWh) and its evidence;
    None where the table has none."""
    if row.on_cloud and row.cloud_provider and row.cloud_region:
        cloud = table.cloud(row.cloud_provider, row.cloud_region)
        if cloud is not None:
            place = f"{row.cloud_provider}/{row.cloud_region}".lower()
            return float(cloud["g_per_kwh"]), cloud_evidence(table, place)
    if row.country is None:
        return None
    if row.region:
        canonical = table.canonical_region(row.country, row.region)
        found = table.region(row.country, canonical) if canonical else None
        if found is not None:
            place = f"{row.country}/{canonical}"
            return float(found["g_per_kwh"]), region_evidence(table, row.country, place, found)
    country = table.country(row.country)
    if country is None:
        return None
    return float(country["g_per_kwh"]), country_evidence(table, row.country)


def check_factor(row: CodecarbonRow, table: FactorTable) -> FactorCheck:
    """Flags and tags for a row whose implied factor or version differs from the table,
    and the evidence of its factor."""
    found: list[str] = []
    if row.codecarbon_version and row.codecarbon_version != table.codecarbon_version:
        found.append(flags.CODECARBON_VERSION_DIFFERS)
    implied, entry = row.intensity_g_per_kwh, table_factor(row, table)
    if entry is None:
        return FactorCheck(tuple(found))
    expected, evidence = entry
    if implied is None or expected <= 0 or abs(implied / expected - 1.0) <= TOLERANCE:
        return FactorCheck(tuple(found), evidence=evidence)
    found.append(flags.FACTOR_MISMATCH)
    tags = {IMPLIED_TAG: f"{implied:.6g}", TABLE_TAG: f"{expected:.6g}"}
    unmatched = FactorEvidence(
        f"CodeCarbon {row.codecarbon_version or '(version not recorded)'} as imported: not "
        f"the installed table's factor ({evidence.dataset})",
        mix=evidence.mix,
        mix_of=evidence.mix_of,
    )
    return FactorCheck(tuple(found), tags, unmatched)
