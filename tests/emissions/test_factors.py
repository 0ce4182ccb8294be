"""Which factor applies: forced > user table > cloud > country/region > world average."""

from __future__ import annotations

import pytest

from greenai.config import Settings
from greenai.emissions import Factor, emissions_kg, read_factor_table, resolve_factor
from greenai.errors import ConfigError
from greenai.figures.evidence import FactorEvidence
from tests.emissions import use_shared_cache


@pytest.fixture(autouse=True)
def _cache(monkeypatch, tmp_path_factory):
    use_shared_cache(monkeypatch, tmp_path_factory)


def write_table(tmp_path, text, name="factors.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_no_location_falls_back_to_world_average_and_is_flagged():
    factor = resolve_factor(Settings())
    assert factor.location == "world"
    assert factor.flags == ("unknown_location",)
    assert "world average" in factor.source
    assert factor.codecarbon_version is not None


def test_known_location_is_not_flagged():
    factor = resolve_factor(Settings(country="DEU"))
    assert factor.flags == ()
    assert factor.location == "DEU"
    assert factor.source.endswith("global_energy_mix (DEU)")


def test_region_beats_country_and_cloud_beats_both():
    country = resolve_factor(Settings(country="USA"))
    region = resolve_factor(Settings(country="USA", region="california"))
    cloud = resolve_factor(
        Settings(
            country="USA", region="california", cloud_provider="gcp", cloud_region="europe-west1"
        )
    )
    assert region.intensity_g_per_kwh != country.intensity_g_per_kwh
    assert region.location == "USA/california"
    assert "eGRID" in region.source
    assert cloud.location == "gcp/europe-west1"
    assert cloud.intensity_g_per_kwh not in (
        country.intensity_g_per_kwh,
        region.intensity_g_per_kwh,
    )


def test_forced_intensity_wins_over_everything(tmp_path):
    table = write_table(tmp_path, "location,intensity_g_per_kwh\nFRA,10\n")
    settings = Settings(
        country="FRA",
        cloud_provider="gcp",
        cloud_region="europe-west9",
        factors_file=table,
        intensity_g_per_kwh=123.0,
    )
    factor = resolve_factor(settings)
    forced = FactorEvidence("forced intensity (configuration)")
    assert factor == Factor(
        123.0, "forced intensity (config)", None, "gcp/europe-west9", (), forced
    )
    assert emissions_kg(3.6e6, factor) == pytest.approx(0.123, rel=1e-12)


def test_user_table_wins_over_codecarbon(tmp_path):
    table = write_table(
        tmp_path,
        "# residual mix of our supplier\n"
        "location,intensity_g_per_kwh,source\n"
        "fra,42.5,Supplier X 2025\n"
        "\n"
        "USA/California,99,utility\n",
    )
    fra = resolve_factor(Settings(country="FRA", factors_file=table))
    assert fra.intensity_g_per_kwh == 42.5
    assert fra.source == f"user table {table}: FRA (Supplier X 2025)"
    assert fra.codecarbon_version is None
    assert fra.location == "FRA"
    cal = resolve_factor(Settings(country="usa", region="CALIFORNIA", factors_file=table))
    assert (cal.intensity_g_per_kwh, cal.location) == (99.0, "USA/california")


def test_user_table_most_specific_row_first_and_codecarbon_when_no_row(tmp_path):
    table = write_table(
        tmp_path,
        "intensity_g_per_kwh,location,notes\n1,USA,x\n2,USA/texas,x\n3,gcp/us-central1,x\n",
    )
    source = f"user table {table}: USA/texas"
    assert resolve_factor(Settings(country="USA", region="texas", factors_file=table)) == Factor(
        2.0, source, None, "USA/texas", evidence=FactorEvidence(source)
    )
    assert resolve_factor(Settings(country="USA", region="ohio", factors_file=table)).location == (
        "USA"
    )
    cloud = Settings(country="USA", cloud_provider="gcp", cloud_region="us-central1")
    assert resolve_factor(cloud.replace(factors_file=table)).intensity_g_per_kwh == 3.0
    no_row = resolve_factor(Settings(country="DEU", factors_file=table))
    assert no_row == resolve_factor(Settings(country="DEU"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where,what\nFRA,1\n", "header"),
        ("location,intensity_g_per_kwh\nFRANCE,1\n", ":2"),
        ("location,intensity_g_per_kwh\nFRA,-1\n", ":2"),
        ("location,intensity_g_per_kwh\nFRA,abc\n", ":2"),
        ("location,intensity_g_per_kwh\n# c\nFRA,1\nfra,2\n", ":4"),
        ("location,intensity_g_per_kwh\nFRA/,1\n", ":2"),
    ],
)
def test_invalid_user_table_is_a_config_error_naming_the_line(tmp_path, text, expected):
    table = write_table(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        Settings(factors_file=table)
    assert caught.value.key == "factors_file"
    assert expected in str(caught.value)


def test_read_factor_table_normalises_locations(tmp_path):
    table = write_table(
        tmp_path,
        "\ufefflocation,intensity_g_per_kwh\nGCP/US-Central1,5\ndeu,6\nCHN/Inner  Mongolia,7\n",
    )
    assert set(read_factor_table(table)) == {"gcp/us-central1", "DEU", "CHN/inner mongolia"}


def test_emissions_kg_units():
    factor = Factor(500.0, "test", None, "unset")
    assert emissions_kg(3.6e6, factor) == pytest.approx(0.5, rel=1e-15)  # 1 kWh at 500 g
    assert emissions_kg(0.0, factor) == 0.0
