"""A location CodeCarbon has no factor for is a ConfigError when the settings load."""

from __future__ import annotations

import pytest

from greenai.config import Settings, load_settings
from greenai.emissions import location_key, normalise_location, validate_location
from greenai.errors import ConfigError
from tests.emissions import use_shared_cache


@pytest.fixture(autouse=True)
def _cache(monkeypatch, tmp_path_factory):
    use_shared_cache(monkeypatch, tmp_path_factory)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (("fra", None, None, None), ("FRA", None, None, None)),
        ((" usa ", "New  York", None, None), ("USA", "new york", None, None)),
        (("CAN", "Quebec", None, None), ("CAN", "quebec", None, None)),
        (("swe", "se3", None, None), ("SWE", "SE3", None, None)),
        (("CHN", "Guangdong Province", None, None), ("CHN", "guangdong", None, None)),
        (("CHN", "Nei Mongol", None, None), ("CHN", "inner mongolia", None, None)),
        ((None, None, "GCP", "US-Central1"), (None, None, "gcp", "us-central1")),
        ((None, None, "AWS", "US-East-1"), (None, None, "aws", "us-east-1")),
        ((None, None, "azure", " WestEurope "), (None, None, "azure", "westeurope")),
        (("fra", None, "aws", "EU-New-9"), ("FRA", None, "aws", "eu-new-9")),
        ((None, None, None, None), (None, None, None, None)),
    ],
)
def test_locations_are_normalised_to_codecarbon_names(given, expected):
    assert normalise_location(*given) == expected
    validate_location(*given)


@pytest.mark.parametrize(
    ("given", "key", "hint"),
    [
        (("XYZ", None, None, None), "country", "ISO 3166-1 alpha-3"),
        (("France", None, None, None), "country", "FRA (France)"),
        (("FR", None, None, None), "country", "FRA"),
        (("FRA", "paris", None, None), "region", "leave region unset for FRA"),
        (("USA", "califronia", None, None), "region", "did you mean california"),
        ((None, "quebec", None, None), "region", "needs country"),
        ((None, None, "ibm", "eu-1"), "cloud_provider", "aws, azure, gcp"),
        ((None, None, "gcp", None), "cloud_provider", "set both"),
        ((None, None, None, "us-central1"), "cloud_region", "set both"),
        ((None, None, "gcp", "us-centrl1"), "cloud_region", "did you mean us-central1"),
        ((None, None, "aws", "us-east1"), "cloud_region", "did you mean us-east-1"),
        ((None, None, "azure", "mars"), "cloud_region", "set country"),
    ],
)
def test_unknown_locations_are_config_errors_naming_the_key(given, key, hint):
    with pytest.raises(ConfigError) as caught:
        validate_location(*given)
    assert caught.value.key == key
    assert hint in str(caught.value)
    assert "\n" not in str(caught.value)


def test_invalid_location_fails_when_settings_load(tmp_path):
    env = {"HOME": str(tmp_path), "GREENAI_COUNTRY": "USA", "GREENAI_REGION": "atlantis"}
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=env, cwd=tmp_path)
    assert caught.value.key == "region"
    with pytest.raises(ConfigError, match="cloud_region"):
        Settings(cloud_provider="gcp", cloud_region="mars-north1")


@pytest.mark.parametrize(
    ("text", "key"),
    [("fra", "FRA"), ("Usa/New  York", "USA/new york"), ("GCP/US-East1", "gcp/us-east1")],
)
def test_location_key(text, key):
    assert location_key(text) == key


@pytest.mark.parametrize("text", ["", "France", "FRA/", "12/x", "gcp/"])
def test_location_key_rejects(text):
    with pytest.raises(ValueError):
        location_key(text)
