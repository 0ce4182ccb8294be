"""greenai's emissions equal CodeCarbon's own results, computed here by calling CodeCarbon."""

from __future__ import annotations

import importlib.metadata

import pytest

from greenai.config import Settings
from greenai.emissions import emissions_kg, energy_mix, load_table, resolve_factor
from tests.emissions import use_shared_cache

J_PER_KWH = 3.6e6


@pytest.fixture(autouse=True)
def _cache(monkeypatch, tmp_path_factory):
    use_shared_cache(monkeypatch, tmp_path_factory)


@pytest.fixture(scope="module")
def codecarbon():
    """CodeCarbon's emission calculator, used directly (as REFERENCE.md shows)."""
    from codecarbon.core.emissions import Emissions
    from codecarbon.core.units import Energy
    from codecarbon.external.geography import CloudMetadata, GeoMetadata
    from codecarbon.input import DataSource

    emissions = Emissions(DataSource())

    def private(iso3, region=None, kwh=1.0):
        geo = GeoMetadata(country_iso_code=iso3, region=region)
        return emissions.get_private_infra_emissions(Energy.from_energy(kWh=kwh), geo)

    def cloud(provider, region, kwh=1.0):
        meta = CloudMetadata(provider=provider, region=region)
        return emissions.get_cloud_emissions(Energy.from_energy(kWh=kwh), meta)

    return private, cloud


@pytest.mark.parametrize(
    ("settings", "iso3", "region"),
    [
        ({"country": "FRA"}, "FRA", None),
        ({"country": "USA"}, "USA", None),
        ({"country": "DEU"}, "DEU", None),
        ({"country": "USA", "region": "california"}, "USA", "california"),
        ({"country": "CAN", "region": "quebec"}, "CAN", "quebec"),
        ({"country": "SWE", "region": "SE3"}, "SWE", "SE3"),
        ({"country": "CHN", "region": "guangdong"}, "CHN", "guangdong"),
    ],
)
def test_one_kwh_matches_codecarbon_private_infra(codecarbon, settings, iso3, region):
    private, _ = codecarbon
    factor = resolve_factor(Settings(**settings))
    ours = emissions_kg(J_PER_KWH, factor)
    assert ours == pytest.approx(private(iso3, region), rel=1e-9)
    assert factor.codecarbon_version == importlib.metadata.version("codecarbon")
    assert factor.source.startswith(f"codecarbon {factor.codecarbon_version}: ")


def test_one_kwh_matches_codecarbon_cloud(codecarbon):
    _, cloud = codecarbon
    factor = resolve_factor(Settings(cloud_provider="gcp", cloud_region="us-central1"))
    assert emissions_kg(J_PER_KWH, factor) == pytest.approx(cloud("gcp", "us-central1"), rel=1e-9)
    assert factor.location == "gcp/us-central1"
    assert factor.source.endswith("cloud gcp/us-central1")


def test_every_cached_entry_matches_codecarbon(codecarbon):
    """Not only the five examples: every country, region and cloud region of the table."""
    private, cloud = codecarbon
    table = load_table()
    checked = 0
    for iso3, row in table.data["countries"].items():
        assert row["g_per_kwh"] / 1000 == pytest.approx(private(iso3), rel=1e-9), iso3
        for region, entry in table.data["regions"].get(iso3, {}).items():
            expected = private(iso3, region)
            assert entry["g_per_kwh"] / 1000 == pytest.approx(expected, rel=1e-9), region
            checked += 1
    for provider, regions in table.data["cloud"].items():
        for region, entry in regions.items():
            expected = cloud(provider, region)
            assert entry["g_per_kwh"] / 1000 == pytest.approx(expected, rel=1e-9), region
            checked += 1
    assert checked > 100  # US states, provinces, zones and cloud regions were all compared


def test_world_average_is_codecarbons_fallback_for_unknown_places(codecarbon):
    private, _ = codecarbon
    factor = resolve_factor(Settings())
    assert emissions_kg(J_PER_KWH, factor) == pytest.approx(private("ZZZ"), rel=1e-9)


def test_factor_scales_with_energy_and_applies_to_facility_energy(codecarbon):
    private, _ = codecarbon
    factor = resolve_factor(Settings(country="FRA", pue=1.5))
    it_energy_j = 7.2e6  # 2 kWh of IT energy
    facility_j = it_energy_j * 1.5
    assert emissions_kg(facility_j, factor) == pytest.approx(private("FRA", kwh=3.0), rel=1e-9)


def test_energy_mix_is_codecarbons_generation_mix():
    from codecarbon.input import DataSource

    row = DataSource().get_global_energy_mix_data()["FRA"]
    mix = energy_mix("fra")
    assert mix == pytest.approx(
        {
            "fossil": row["fossil_TWh"] / row["total_TWh"],
            "nuclear": row["nuclear_TWh"] / row["total_TWh"],
            "renewable": row["renewables_TWh"] / row["total_TWh"],
        },
        rel=1e-12,
    )
    assert energy_mix("ZZZ") is None


@pytest.mark.parametrize(
    ("provider", "region", "iso3", "state"),
    [
        ("aws", "us-east-1", "USA", "virginia"),
        ("azure", "westus3", "USA", "arizona"),
        ("aws", "eu-west-3", "FRA", None),
        ("azure", "westeurope", "NLD", None),
    ],
)
def test_mapped_cloud_region_matches_codecarbon_for_its_location(
    codecarbon, provider, region, iso3, state
):
    private, _ = codecarbon
    factor = resolve_factor(Settings(cloud_provider=provider, cloud_region=region))
    assert emissions_kg(J_PER_KWH, factor) == pytest.approx(private(iso3, state), rel=1e-9)
    assert factor.location == f"{provider}/{region}"
