"""Units, conversions and formatting for every surface (dashboard, reports, CLI, bench).

Figures are kept in base units (J, kg, tokens) and converted here only: 1 kWh is
3.6e6 J exactly, emissions are facility kWh times a factor in g/kWh. Formatting picks
the SI prefix that fits — µJ, mJ, J, kJ below 1 Wh (per-token figures, short runs), Wh,
kWh, MWh, GWh above; mg, g, kg, t — with three significant digits and thousands
separators; a table column takes one unit for all its cells (:func:`energy_scale`).
Rounded parts that must add up to their rounded total use :func:`largest_remainder`.
Dependency-free: the tracker imports it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

J_PER_WH = 3600.0
J_PER_KWH = 3.6e6
G_PER_KG = 1000.0
KG_PER_T = 1000.0
MISSING = "–"

_WH_UNITS = (("GWh", 1e9 * J_PER_WH), ("MWh", 1e6 * J_PER_WH), ("kWh", J_PER_KWH),
             ("Wh", J_PER_WH))  # fmt: skip
_J_UNITS = (("kJ", 1e3), ("J", 1.0), ("mJ", 1e-3), ("µJ", 1e-6), ("nJ", 1e-9))
_MASS_UNITS = (("t", 1e3), ("kg", 1.0), ("g", 1e-3), ("mg", 1e-6))


def kwh(energy_j: float) -> float:
    """Joules in kWh."""
    return energy_j / J_PER_KWH


def tonnes(mass_kg: float) -> float:
    """Kilograms in tonnes."""
    return mass_kg / KG_PER_T


def joules(energy_kwh: float) -> float:
    """kWh in joules."""
    return energy_kwh * J_PER_KWH


def emissions_kg(facility_energy_j: float, intensity_g_per_kwh: float) -> float:
    """kgCO2e of ``facility_energy_j`` at ``intensity_g_per_kwh``."""
    return facility_energy_j / J_PER_KWH * intensity_g_per_kwh / G_PER_KG


def _finite(values: Iterable[float | None]) -> list[float]:
    out = []
    for value in values:
        if value is not None and math.isfinite(float(value)):
            out.append(abs(float(value)))
    return out


def _pick(top: float, ladder: Sequence[tuple[str, float]]) -> tuple[str, float]:
    for unit, per in ladder:
        if top >= per:
            return unit, per
    return ladder[-1]


def energy_scale(values_j: Iterable[float | None]) -> tuple[str, float]:
    """The unit that suits the largest of ``values_j``, and joules per that unit.

    Returns:
        (unit, J per unit): ``("kWh", 3.6e6)`` from 1 kWh, ``("Wh", 3600.0)`` from 1 Wh,
        else kJ, J, mJ, µJ or nJ; ``("J", 1.0)`` when nothing is known or all are zero.
    """
    top = max(_finite(values_j), default=0.0)
    if top == 0.0:
        return "J", 1.0
    return _pick(top, _WH_UNITS) if top >= J_PER_WH else _pick(top, _J_UNITS)


def joule_scale(values_j: Iterable[float | None]) -> tuple[str, float]:
    """Like :func:`energy_scale` but in joules only (kJ, J, mJ, µJ, nJ; MJ above): for
    per-token figures, which read better in J than in Wh."""
    top = max(_finite(values_j), default=0.0)
    if top == 0.0:
        return "J", 1.0
    return _pick(top, (("MJ", 1e6), *_J_UNITS))


def mass_scale(values_kg: Iterable[float | None]) -> tuple[str, float]:
    """The unit that suits the largest of ``values_kg`` (t, kg, g or mg), and kg per unit."""
    top = max(_finite(values_kg), default=0.0)
    if top == 0.0:
        return "g", 1e-3
    return _pick(top, _MASS_UNITS)


def significant(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits, thousands separated, no exponent
    (integers above ``10**digits`` keep all their digits: ``1,234``)."""
    if not math.isfinite(value):
        return MISSING
    if value == 0:
        return "0"
    return f"{value:,.{decimals(value, digits)}f}"


def decimals(value: float, digits: int = 3) -> int:
    """The decimals that show ``value`` with ``digits`` significant digits (0 for zero and
    for values of ``10**digits`` and above)."""
    if value == 0 or not math.isfinite(value):
        return 0
    return max(0, digits - 1 - math.floor(math.log10(abs(value))))


def _missing(value: float | None) -> bool:
    return value is None or not math.isfinite(float(value))


def format_energy(energy_j: float | None, digits: int = 3) -> str:
    """``"33.8 Wh"``, ``"1.25 MWh"``, ``"667 µJ"``; ``"–"`` when unknown."""
    if energy_j is None or _missing(energy_j):
        return MISSING
    unit, per = energy_scale([energy_j])
    return f"{significant(energy_j / per, digits)} {unit}"


def format_joules(energy_j: float | None, digits: int = 3, per: str = "") -> str:
    """Energy in joules with a prefix: ``"4.30 mJ"``; ``per="token"`` gives
    ``"4.30 mJ/token"``; ``"–"`` when unknown."""
    if energy_j is None or _missing(energy_j):
        return MISSING
    unit, scale = joule_scale([energy_j])
    suffix = f"/{per}" if per else ""
    return f"{significant(energy_j / scale, digits)} {unit}{suffix}"


def format_mass(mass_kg: float | None, digits: int = 3, suffix: str = "CO2e") -> str:
    """``"17.1 gCO2e"``, ``"2.40 tCO2e"``, ``"12.0 mgCO2e"``; ``"–"`` when unknown."""
    if mass_kg is None or _missing(mass_kg):
        return MISSING
    unit, per = mass_scale([mass_kg])
    return f"{significant(mass_kg / per, digits)} {unit}{suffix}"


def format_count(value: float | None) -> str:
    """A count with thousands separators (``18,000``); ``"–"`` when unknown."""
    if value is None or _missing(value):
        return MISSING
    return f"{round(value):,}"


def format_number(value: float | None, digits: int = 3) -> str:
    """A figure with ``digits`` significant digits (``0.769``); ``"–"`` when unknown."""
    if value is None or _missing(value):
        return MISSING
    return significant(float(value), digits)


def format_change(change: float | None) -> str | None:
    """A relative change as a signed percentage (``+12%``, ``-38%``); None when unknown."""
    if change is None or _missing(change):
        return None
    return f"{change:+.0%}" if abs(change) >= 0.01 else f"{change:+.1%}"


def largest_remainder(values: Sequence[float], decimals: int = 0) -> list[float]:
    """``values`` rounded to ``decimals`` so that they add up to their rounded total
    (largest-remainder method): shares of 100% that print as 100%."""
    if not values:
        return []
    scale = 10.0**decimals
    scaled = [v * scale for v in values]
    target = round(math.fsum(scaled))
    floors = [math.floor(v) for v in scaled]
    short = int(target - sum(floors))
    by_remainder = sorted(range(len(values)), key=lambda i: scaled[i] - floors[i], reverse=True)
    for i in by_remainder[: max(0, short)]:
        floors[i] += 1
    return [f / scale for f in floors]
