"""Emissions: kWh at a location -> kgCO2e through CodeCarbon's emission-factor data.

Importing this package is light: CodeCarbon is imported only to build the cached factor table
(once per CodeCarbon version), in :mod:`greenai.emissions.codecarbon_factors`.
"""

from __future__ import annotations

from greenai.emissions.factors import Factor, emissions_kg, energy_mix, load_table, resolve_factor
from greenai.emissions.location import location_key, normalise_location, validate_location
from greenai.emissions.user_factors import TableFactor, read_factor_table

__all__ = [
    "Factor",
    "TableFactor",
    "emissions_kg",
    "energy_mix",
    "load_table",
    "location_key",
    "normalise_location",
    "read_factor_table",
    "resolve_factor",
    "validate_location",
]
