"""AWS and Azure runs stay cloud runs (Scope 3 cat. 1) with their region's grid factor."""

from __future__ import annotations

import pytest

import greenai
from greenai.config import Settings
from greenai.emissions import load_table, resolve_factor
from greenai.emissions.cloud_regions import mapped_region, mapped_regions
from greenai.errors import ConfigError
from greenai.figures.scope import SCOPE3_CLOUD, scope_of
from tests.emissions import use_shared_cache
from tests.tracking.helpers import stored

COMMON = {
    "aws": (
        "us-east-1 us-east-2 us-west-1 us-west-2 ca-central-1 eu-west-1 eu-west-2 eu-west-3"
        " eu-central-1 eu-north-1 eu-south-1 ap-northeast-1 ap-northeast-2 ap-southeast-1"
        " ap-southeast-2 ap-south-1 sa-east-1"
    ),
    "azure": (
        "eastus eastus2 westus westus2 westus3 centralus northeurope westeurope francecentral"
        " germanywestcentral uksouth swedencentral japaneast australiaeast southeastasia"
        " canadacentral brazilsouth"
    ),
}


@pytest.fixture(autouse=True)
def _cache(monkeypatch, tmp_path_factory):
    use_shared_cache(monkeypatch, tmp_path_factory)


@pytest.mark.parametrize("provider", ["aws", "azure"])
def test_map_covers_the_common_regions_with_places_codecarbon_knows(provider):
    table = load_table()
    assert set(COMMON[provider].split()) <= set(mapped_regions(provider))
    for name in mapped_regions(provider):
        entry = mapped_region(provider, name)
        assert entry is not None and entry.source
        assert table.country(entry.country_iso3) is not None, entry
        if entry.country_iso3 == "USA":
            assert entry.state is not None, entry
            assert table.region("USA", entry.state) is not None, entry
        else:
            assert entry.state is None, entry


def test_aws_region_keeps_its_provider_and_gets_the_countrys_factor():
    settings = Settings(cloud_provider="AWS", cloud_region="EU-West-3")
    assert (settings.cloud_provider, settings.cloud_region) == ("aws", "eu-west-3")
    assert settings.country is None
    factor = resolve_factor(settings)
    assert factor.intensity_g_per_kwh == resolve_factor(Settings(country="FRA")).intensity_g_per_kwh
    assert factor.location == "aws/eu-west-3"
    assert factor.flags == ()
    assert factor.source == (
        f"codecarbon {factor.codecarbon_version}: global_energy_mix (FRA)"
        " via aws/eu-west-3 (region map: AWS Regions documentation)"
    )
    assert scope_of(settings.cloud_provider) == SCOPE3_CLOUD


def test_tracked_aws_run_is_a_cloud_run_with_the_mapped_factor():
    with greenai.track(cloud_provider="aws", cloud_region="eu-west-3") as run:
        pass
    fra = resolve_factor(Settings(country="FRA")).intensity_g_per_kwh
    assert run.intensity_g_per_kwh == fra
    assert "via aws/eu-west-3 (region map: AWS Regions documentation)" in run.intensity_source
    row = stored(run.id)["run"]
    assert (row["cloud_provider"], row["cloud_region"]) == ("aws", "eu-west-3")
    assert row["intensity_g_per_kwh"] == fra
    assert "unknown_location" not in row["flags"]
    assert scope_of(row["cloud_provider"]) == SCOPE3_CLOUD


@pytest.mark.parametrize(
    ("provider", "region", "state"),
    [
        ("azure", "westus2", "washington"),
        ("azure", "EastUS", "virginia"),
        ("aws", "us-west-2", "oregon"),
    ],
)
def test_us_regions_get_their_states_egrid_factor(provider, region, state):
    factor = resolve_factor(Settings(cloud_provider=provider, cloud_region=region))
    expected = resolve_factor(Settings(country="USA", region=state))
    assert factor.intensity_g_per_kwh == expected.intensity_g_per_kwh
    assert factor.intensity_g_per_kwh != resolve_factor(Settings(country="USA")).intensity_g_per_kwh
    assert factor.location == f"{provider}/{region.casefold()}"
    assert "eGRID" in factor.source
    assert f"(USA/{state}) via {provider}/{region.casefold()} (region map: " in factor.source


@pytest.mark.parametrize(
    ("provider", "region", "hint"),
    [
        ("aws", "us-east1", "did you mean us-east-1"),
        ("azure", "westeuorpe", "did you mean westeurope"),
    ],
)
def test_unknown_region_without_country_is_a_one_line_config_error(provider, region, hint):
    with pytest.raises(ConfigError) as caught:
        Settings(cloud_provider=provider, cloud_region=region)
    message = str(caught.value)
    assert caught.value.key == "cloud_region"
    assert hint in message
    assert "set country" in message
    assert "\n" not in message


def test_unknown_region_fails_before_the_job_starts():
    called = []

    @greenai.track(cloud_provider="aws", cloud_region="mars-north-1")
    def job() -> None:
        called.append(1)

    with pytest.raises(greenai.ConfigError, match="cloud_region"):
        job()
    assert called == []


def test_unknown_region_with_country_keeps_the_provider_and_uses_the_country():
    settings = Settings(cloud_provider="aws", cloud_region="eu-new-9", country="fra")
    assert (settings.cloud_provider, settings.cloud_region, settings.country) == (
        "aws",
        "eu-new-9",
        "FRA",
    )
    factor = resolve_factor(settings)
    assert factor.intensity_g_per_kwh == resolve_factor(Settings(country="FRA")).intensity_g_per_kwh
    assert factor.location == "aws/eu-new-9"
    assert "global_energy_mix (FRA)" in factor.source
    assert "aws/eu-new-9 (not in the region map" in factor.source
    assert scope_of(settings.cloud_provider) == SCOPE3_CLOUD


def test_unknown_region_with_country_and_region_uses_the_region():
    settings = Settings(
        cloud_provider="azure", cloud_region="texasnew", country="USA", region="Texas"
    )
    texas = resolve_factor(Settings(country="USA", region="texas"))
    factor = resolve_factor(settings)
    assert factor.intensity_g_per_kwh == texas.intensity_g_per_kwh
    assert "(USA/texas)" in factor.source and factor.location == "azure/texasnew"


def test_user_table_row_for_the_cloud_region_still_wins(tmp_path):
    path = tmp_path / "factors.csv"
    path.write_text("location,intensity_g_per_kwh,source\naws/US-East-1,12,PPA\n", encoding="utf-8")
    factor = resolve_factor(
        Settings(cloud_provider="aws", cloud_region="us-east-1", factors_file=path)
    )
    assert factor.intensity_g_per_kwh == 12.0
    assert factor.location == "aws/us-east-1"


def test_gcp_keeps_codecarbons_cloud_factor():
    factor = resolve_factor(Settings(cloud_provider="gcp", cloud_region="europe-west9"))
    table = load_table()
    row = table.cloud("gcp", "europe-west9")
    assert row is not None
    assert factor.intensity_g_per_kwh == row["g_per_kwh"]
    assert factor.source.endswith("cloud gcp/europe-west9")
