"""The evidence of CodeCarbon's factors (:class:`~greenai.figures.evidence.FactorEvidence`),
by the dataset each comes from. What a dataset does not state stays ``unknown``.

- Countries: ``global_energy_mix.json``, Our World in Data's carbon intensity of
  electricity generation (life-cycle factors per source), with the row's ``year`` and the
  country's generation mix.
- US states: EPA eGRID output emission rates (combustion at the plant only), the eGRID
  year; the mix is the country's (the data have no state mix).
- Other regions (Canadian and Chinese provinces, Nordic bidding zones): the dataset's
  year where its label carries one; basis not stated; the region's own mix where the data
  hold one (Canadian provinces), else the country's, labelled as such.
- Cloud regions (``impact.csv``): the provider's published factor; neither year nor basis
  stated; no mix (cloud energy is outside E1-5's own-operations mix).
- The world average: CodeCarbon's fallback, with no year, basis or mix.

No CodeCarbon dataset states its GWP set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from greenai.figures.evidence import (
    COMBUSTION,
    LIFE_CYCLE,
    MIX_COUNTRY,
    MIX_REGION,
    UNKNOWN,
    FactorEvidence,
)

if TYPE_CHECKING:
    from greenai.emissions.factors import FactorTable

_YEAR = re.compile(r"\b(19|20)\d{2}\b")


def _prefix(table: FactorTable) -> str:
    return f"CodeCarbon {table.codecarbon_version}"


def _year(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def country_evidence(table: FactorTable, iso3: str) -> FactorEvidence:
    """A country's factor: its row's year, life-cycle basis and generation mix."""
    row = table.country(iso3) or {}
    mix = row.get("mix")
    return FactorEvidence(
        f"{_prefix(table)} global_energy_mix ({iso3.upper()})",
        _year(row.get("year")),
        LIFE_CYCLE,
        UNKNOWN,
        mix,
        MIX_COUNTRY if mix else None,
    )


def region_evidence(
    table: FactorTable, iso3: str, place: str, entry: Mapping[str, Any]
) -> FactorEvidence:
    """A region's factor (its table ``entry``: ``dataset`` such as ``eGRID 2023``, and
    ``mix``), with its own mix, else its country's labelled as the country's."""
    dataset = str(entry.get("dataset") or "")
    found = _YEAR.search(dataset)
    own = entry.get("mix")
    mix = own or (table.country(iso3) or {}).get("mix")
    return FactorEvidence(
        f"{_prefix(table)} {dataset} ({place})",
        int(found.group(0)) if found else None,
        COMBUSTION if dataset.startswith("eGRID") else UNKNOWN,
        UNKNOWN,
        mix,
        (MIX_REGION if own else MIX_COUNTRY) if mix else None,
    )


def cloud_evidence(table: FactorTable, location: str) -> FactorEvidence:
    """A cloud region's published factor: neither year nor basis stated."""
    return FactorEvidence(f"{_prefix(table)} impact.csv ({location})")


def world_evidence(table: FactorTable) -> FactorEvidence:
    """CodeCarbon's world average."""
    return FactorEvidence(f"{_prefix(table)} world average")
