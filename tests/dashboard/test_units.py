"""Readable units: Wh/kWh/MWh/GWh, g/kg/t, counts and changes."""

from __future__ import annotations

import math

import pytest

from dashboard import units


@pytest.mark.parametrize(
    ("joules", "text"),
    [
        (0.0, "0 Wh"),
        (100.0, "0.0278 Wh"),
        (3600.0, "1.00 Wh"),
        (121_850.0, "33.8 Wh"),
        (3.6e6, "1.00 kWh"),
        (4.5e9, "1.25 MWh"),
        (1.2e13, "3.33 GWh"),
        (None, "–"),
        (math.nan, "–"),
    ],
)
def test_energy(joules: float | None, text: str) -> None:
    assert units.format_energy(joules) == text


@pytest.mark.parametrize(
    ("kg", "text"),
    [(0.0171467, "17.1 gCO2e"), (1.0, "1.00 kgCO2e"), (12.34, "12.3 kgCO2e"),
     (2400.0, "2.40 tCO2e"), (1.5e6, "1,500 tCO2e")],
)  # fmt: skip
def test_mass(kg: float, text: str) -> None:
    assert units.format_mass(kg) == text


def test_scales_follow_the_largest_value() -> None:
    assert units.energy_scale([10.0, 7.2e6]) == ("kWh", 3.6e6)
    assert units.energy_scale([]) == ("Wh", 3600.0)
    assert units.mass_scale([0.5, 3.0]) == ("kg", 1.0)
    assert units.mass_scale([0.002]) == ("g", 1e-3)


def test_counts_numbers_and_changes() -> None:
    assert units.format_count(18000) == "18,000"
    assert units.format_number(0.7694444) == "0.769"
    assert units.format_number(1234.5) == "1,234"
    assert units.format_change(29.4625) == "+2946%"
    assert units.format_change(-0.38) == "-38%"
    assert units.format_change(0.001) == "+0.1%"
    assert units.format_change(None) is None
