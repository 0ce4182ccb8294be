"""Units that read well: energy in Wh/kWh/MWh/GWh, mass in g/kg/t, counts and changes."""

from __future__ import annotations

import math
from collections.abc import Iterable

J_PER_WH = 3600.0
_ENERGY_UNITS = (("GWh", 1e9), ("MWh", 1e6), ("kWh", 1e3), ("Wh", 1.0))
_MASS_UNITS = (("t", 1e3), ("kg", 1.0), ("g", 1e-3))


def _finite(values: Iterable[float | None]) -> list[float]:
    return [abs(float(v)) for v in values if v is not None and math.isfinite(float(v))]


def energy_scale(values_j: Iterable[float | None]) -> tuple[str, float]:
    """The unit that suits the largest of ``values_j`` and joules per that unit.

    Returns:
        (unit, J per unit), e.g. ``("kWh", 3.6e6)``; Wh when nothing reaches 1 kWh.
    """
    top = max(_finite(values_j), default=0.0) / J_PER_WH
    for unit, wh in _ENERGY_UNITS:
        if top >= wh:
            return unit, wh * J_PER_WH
    return "Wh", J_PER_WH


def mass_scale(values_kg: Iterable[float | None]) -> tuple[str, float]:
    """The unit that suits the largest of ``values_kg`` (g, kg or t) and kg per unit."""
    top = max(_finite(values_kg), default=0.0)
    for unit, kg in _MASS_UNITS:
        if top >= kg:
            return unit, kg
    return "g", 1e-3


def _number(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits, thousands separated, no exponent."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}" if not math.isfinite(value) else "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


def format_energy(energy_j: float | None, digits: int = 3) -> str:
    """Energy in the unit that reads well: ``"33.8 Wh"``, ``"1.25 MWh"``; ``"–"`` if unknown."""
    if energy_j is None or not math.isfinite(energy_j):
        return "–"
    unit, per = energy_scale([energy_j])
    return f"{_number(energy_j / per, digits)} {unit}"


def format_mass(mass_kg: float | None, digits: int = 3, suffix: str = "CO2e") -> str:
    """Mass in g, kg or t: ``"17.1 gCO2e"``, ``"2.4 tCO2e"``; ``"–"`` if unknown."""
    if mass_kg is None or not math.isfinite(mass_kg):
        return "–"
    unit, per = mass_scale([mass_kg])
    return f"{_number(mass_kg / per, digits)} {unit}{suffix}"


def format_count(value: float | None) -> str:
    """A count with thousands separators (``18,000``); ``"–"`` if unknown."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{round(value):,}"


def format_number(value: float | None, digits: int = 3) -> str:
    """A figure with ``digits`` significant digits (``0.769``); ``"–"`` if unknown."""
    if value is None or not math.isfinite(value):
        return "–"
    return _number(value, digits)


def format_change(change: float | None) -> str | None:
    """A relative change as a signed percentage (``+12%``, ``-38%``); None if unknown."""
    if change is None or not math.isfinite(change):
        return None
    return f"{change:+.0%}" if abs(change) >= 0.01 else f"{change:+.1%}"
