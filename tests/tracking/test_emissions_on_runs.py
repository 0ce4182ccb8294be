"""Runs carry CodeCarbon's factor, applied to facility energy (IT x PUE)."""

from __future__ import annotations

import pytest

import greenai
from tests.tracking.helpers import burn_cpu, stored


def test_france_with_pue_uses_codecarbon_factor_on_facility_energy() -> None:
    with greenai.track(model="m", country="FRA", pue=1.5, wue=1.8) as run:
        burn_cpu(0.2)
    assert run.facility_energy_j == pytest.approx(run.energy_j * 1.5)
    assert run.intensity_g_per_kwh == pytest.approx(56.039, abs=0.01)  # codecarbon 3.3.2
    expected_kg = run.energy_j * 1.5 / 3.6e6 * run.intensity_g_per_kwh / 1000
    assert run.emissions_kg == pytest.approx(expected_kg)
    data = run.to_dict()
    assert data["water_l"] == pytest.approx(run.energy_j / 3.6e6 * 1.8)
    assert "unknown_location" not in data["flags"]
    row = stored(run.id)["run"]
    assert row["country"] == "FRA" and row["pue"] == 1.5
    assert row["emissions_kg"] == pytest.approx(expected_kg)
    assert "FRA" in row["intensity_source"]


def test_forced_intensity_wins() -> None:
    with greenai.track(intensity_g_per_kwh=100.0, country="DEU") as run:
        burn_cpu(0.05)
    assert run.intensity_g_per_kwh == 100.0
    assert run.emissions_kg == pytest.approx(run.energy_j / 3.6e6 * 0.1)
