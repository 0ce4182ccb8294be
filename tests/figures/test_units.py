"""Readable units: the SI prefix that fits, one unit per column, rounded parts that add up."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenai.figures import units


@pytest.mark.parametrize(
    ("joules", "text"),
    [
        (0.0, "0 J"),
        (6.67e-4, "667 µJ"),
        (0.0043, "4.30 mJ"),
        (100.0, "100 J"),
        (1500.0, "1.50 kJ"),
        (3600.0, "1.00 Wh"),
        (121_850.0, "33.8 Wh"),
        (3.6e6, "1.00 kWh"),
        (4.5e9, "1.25 MWh"),
        (1.2e13, "3.33 GWh"),
        (None, "–"),
        (math.nan, "–"),
        (math.inf, "–"),
    ],
)
def test_energy(joules: float | None, text: str) -> None:
    assert units.format_energy(joules) == text


def test_per_token_energy_stays_in_joules() -> None:
    assert units.format_joules(0.0043, per="token") == "4.30 mJ/token"
    assert units.format_joules(12_000.0) == "12.0 kJ"
    assert units.format_joules(None, per="token") == "–"


@pytest.mark.parametrize(
    ("kg", "text"),
    [(0.0171467, "17.1 gCO2e"), (1.0, "1.00 kgCO2e"), (12.34, "12.3 kgCO2e"),
     (2400.0, "2.40 tCO2e"), (1.5e6, "1,500 tCO2e"),
     (1.2e-5, "12.0 mgCO2e"), (0.0, "0 gCO2e")],
)  # fmt: skip
def test_mass(kg: float, text: str) -> None:
    assert units.format_mass(kg) == text


def test_scales_follow_the_largest_value() -> None:
    assert units.energy_scale([10.0, 7.2e6]) == ("kWh", 3.6e6)
    assert units.energy_scale([0.002, 0.004]) == ("mJ", 1e-3)
    assert units.energy_scale([]) == ("J", 1.0)
    assert units.mass_scale([0.5, 3.0]) == ("kg", 1.0)
    assert units.mass_scale([0.002]) == ("g", 1e-3)


def test_conversions_are_exact() -> None:
    assert units.kwh(3.6e6) == 1.0 and units.joules(2.0) == 7.2e6
    assert units.emissions_kg(3.6e6, 56.0) == pytest.approx(0.056, rel=1e-15)


def test_counts_numbers_and_changes() -> None:
    assert units.format_count(18000) == "18,000"
    assert units.format_number(0.7694444) == "0.769"
    assert units.format_number(1234.5) == "1,234"
    assert units.format_change(29.4625) == "+2946%"
    assert units.format_change(-0.38) == "-38%"
    assert units.format_change(0.001) == "+0.1%"
    assert units.format_change(None) is None


@given(
    st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=30),
    st.integers(min_value=0, max_value=3),
)
def test_rounded_parts_add_up_to_the_rounded_total(values: list[float], decimals: int) -> None:
    rounded = units.largest_remainder(values, decimals)
    scale = 10**decimals
    assert round(sum(r * scale for r in rounded)) == round(math.fsum(v * scale for v in values))
    assert all(abs(r - v) < 1.0 / scale + 1e-9 for r, v in zip(rounded, values, strict=True))


def test_shares_of_a_whole_print_as_the_whole() -> None:
    assert units.largest_remainder([33.333, 33.333, 33.334]) == [33.0, 33.0, 34.0]
