"""Configuration: precedence, files, environment parsing and one-line errors per key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import MappingProxyType

import pytest

from greenai.config import Settings, find_config_file, load_settings
from greenai.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _cache(monkeypatch, tmp_path_factory):
    """CodeCarbon's factor table (location checks) cached once per test session."""
    folder = tmp_path_factory.getbasetemp() / "greenai-factor-cache"
    monkeypatch.setenv("GREENAI_CACHE_DIR", str(folder))


@pytest.fixture
def home(tmp_path):
    """A home folder (the search stops there) with a project folder inside."""
    project = tmp_path / "home" / "project"
    project.mkdir(parents=True)
    return tmp_path / "home"


def load(home, cwd=None, env=None, overrides=None):
    environ = {"HOME": str(home), **(env or {})}
    return load_settings(overrides, environ=environ, cwd=cwd or home / "project")


def test_defaults_without_any_source(home):
    assert load(home) == Settings()
    assert Settings().series_tiers == (("1s", 7), ("1m", 90), ("1h", 0))
    assert Settings().market_factors == {}


def test_precedence_argument_over_env_over_file_over_default(home):
    (home / "project" / "greenai.toml").write_text('pue = 1.1\ncountry = "DEU"\nmode = "machine"\n')
    env = {"GREENAI_PUE": "1.2", "GREENAI_COUNTRY": "fra"}
    args = {"pue": 1.3}
    settings = load(home, env=env, overrides=args)
    assert (settings.pue, settings.country, settings.mode, settings.heartbeat_s) == (
        1.3,
        "FRA",
        "machine",
        5.0,
    )
    assert load(home, env=env).pue == 1.2
    assert load(home).pue == 1.1
    (home / "project" / "greenai.toml").unlink()
    assert load(home).pue == 1.0


def test_none_arguments_and_empty_env_count_as_not_given(home):
    (home / "project" / "greenai.toml").write_text('country = "DEU"\n')
    settings = load(home, env={"GREENAI_COUNTRY": "  "}, overrides={"country": None})
    assert settings.country == "DEU"


def test_pyproject_tool_greenai_table_found_from_a_subfolder(home):
    (home / "project" / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.greenai]\ncountry = "usa"\nregion = "California"\n'
        "hash-identifiers = true\n\n"
        '[tool.greenai.market_factors]\nFRA = 20\n"USA/california" = 150\n'
    )
    deep = home / "project" / "src" / "pkg"
    deep.mkdir(parents=True)
    settings = load(home, cwd=deep)
    assert (settings.country, settings.region, settings.hash_identifiers) == (
        "USA",
        "california",
        True,
    )
    assert settings.market_factors == {"FRA": 20.0, "USA/california": 150.0}
    assert isinstance(settings.market_factors, MappingProxyType)


def test_greenai_toml_wins_in_a_folder_and_the_nearest_file_wins(home):
    project = home / "project"
    (project / "pyproject.toml").write_text("[tool.greenai]\npue = 1.4\n")
    (project / "greenai.toml").write_text("pue = 1.5\n")
    assert load(home).pue == 1.5
    (project / "greenai.toml").unlink()
    (home / "greenai.toml").write_text("pue = 1.6\n")
    assert load(home).pue == 1.4  # the project's pyproject is nearer than ~/greenai.toml
    (project / "pyproject.toml").write_text('[project]\nname = "no greenai table"\n')
    assert load(home).pue == 1.6  # a pyproject without [tool.greenai] is passed over


def test_search_stops_at_the_home_folder(home):
    (home.parent / "greenai.toml").write_text("pue = 2.0\n")
    assert find_config_file({"HOME": str(home)}, home / "project") is None
    assert load(home).pue == 1.0


def test_greenai_config_names_the_file(home, tmp_path):
    named = tmp_path / "elsewhere.toml"
    named.write_text("pue = 1.25\n")
    (home / "project" / "greenai.toml").write_text("pue = 1.5\n")
    assert load(home, env={"GREENAI_CONFIG": str(named)}).pue == 1.25
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.greenai]\npue = 1.75\n")
    assert load(home, env={"GREENAI_CONFIG": str(pyproject)}).pue == 1.75
    with pytest.raises(ConfigError) as caught:
        load(home, env={"GREENAI_CONFIG": str(tmp_path / "missing.toml")})
    assert caught.value.key == "GREENAI_CONFIG"


def test_invalid_toml_is_a_config_error(home):
    (home / "project" / "greenai.toml").write_text("pue = = 1\n")
    with pytest.raises(ConfigError) as caught:
        load(home)
    assert caught.value.key == "config"
    assert "greenai.toml" in str(caught.value)


def test_unknown_key_in_file_suggests_the_close_one(home):
    (home / "project" / "greenai.toml").write_text("prue = 1.2\n")
    with pytest.raises(ConfigError) as caught:
        load(home)
    message = str(caught.value)
    assert caught.value.key == "prue"
    assert "did you mean 'pue'?" in message
    assert "greenai.toml" in message
    assert all(key in message for key in list(Settings.keys()))
    assert "\n" not in message


def test_unknown_key_in_arguments_and_replace(home):
    with pytest.raises(ConfigError, match="did you mean 'country'"):
        load(home, overrides={"contry": "FRA"})
    with pytest.raises(ConfigError, match="did you mean 'heartbeat_s'"):
        Settings().replace(heartbeat=3)


def test_environment_strings_are_parsed(home):
    (home / "project" / "tables").mkdir()
    (home / "project" / "tables" / "f.csv").write_text("location,intensity_g_per_kwh\nFRA,1\n")
    env = {
        "GREENAI_HASH_IDENTIFIERS": "yes",
        "GREENAI_STORE_COMMAND": "0",
        "GREENAI_SERIES_HZ": "2.5",
        "GREENAI_POWER_HZ": "100",
        "GREENAI_FACTORS_FILE": "tables/f.csv",
        "GREENAI_POWERCAP_ROOT": "fake/powercap",
        "GREENAI_SERIES_TIERS": "1s:3, 5m:30, 1d:0",
        "GREENAI_MARKET_FACTORS": '{"deu": 300, "USA/Texas": 400.5}',
        "GREENAI_CURRENCY": "eur",
        "GREENAI_TIMEZONE": "Europe/Paris",
        "GREENAI_DB_URL": "postgresql+psycopg://root@127.0.0.1/test",
        "GREENAI_UNRELATED": "ignored",
    }
    settings = load(home, env=env)
    assert settings.hash_identifiers is True
    assert settings.store_command is False
    assert (settings.series_hz, settings.power_hz) == (2.5, 100.0)
    assert settings.factors_file == home / "project" / "tables" / "f.csv"
    assert settings.powercap_root == home / "project" / "fake" / "powercap"
    assert settings.series_tiers == (("1s", 3), ("5m", 30), ("1d", 0))
    assert settings.market_factors == {"DEU": 300.0, "USA/texas": 400.5}
    assert settings.currency == "EUR"
    assert settings.timezone == "Europe/Paris"


def test_file_paths_are_relative_to_the_file(home):
    (home / "f.csv").write_text("location,intensity_g_per_kwh\nFRA,1\n")
    (home / "greenai.toml").write_text(
        'factors_file = "f.csv"\nseries_tiers = [["1s", 1], ["1h", 0]]\n'
    )
    settings = load(home)
    assert settings.factors_file == home / "f.csv"
    assert settings.series_tiers == (("1s", 1), ("1h", 0))


# key, invalid value as an environment string, invalid value as a TOML literal
INVALID = [
    ("db_url", "not a url", '"ledger.db"'),
    ("country", "XYZ", '"France"'),
    ("region", "atlantis", '"quebec"'),  # a region without a country
    ("cloud_provider", "ibm", '"gcp"'),  # a provider without a region
    ("cloud_region", "us-central1", '"us-central1"'),  # a region without a provider
    ("pue", "0.8", "0.99"),
    ("wue", "-1", "-0.5"),
    ("price_per_kwh", "-0.1", '"free"'),
    ("currency", "EURO", '"€"'),
    ("intensity_g_per_kwh", "nan", "-1"),
    ("factors_file", "missing.csv", '"missing.csv"'),
    ("series_hz", "0", "101"),
    ("power_hz", "2000", "0"),
    ("mode", "cluster", '"node"'),
    ("cpu_tdp_w", "0", "-65"),
    ("powercap_root", None, "5"),  # every non-empty string is a path
    ("host_id", "two words", '""'),
    ("run_id", "a b", "12"),
    ("hash_identifiers", "maybe", '"sometimes"'),
    ("store_command", "2", "2"),
    ("timezone", "Mars/Olympus", '"CET+99"'),
    ("heartbeat_s", "-5", "0"),
    ("stale_after_s", "0", "-1"),
    ("series_tiers", "1h:0,1m:90", '[["1s", 0], ["1m", 90]]'),
    ("market_factors", "FRA=-3", '{ "gcp/us-central1" = 3 }'),
    ("market_factors_file", "missing.csv", '"missing.csv"'),
    ("instruments_file", "missing.csv", '"missing.csv"'),
    ("scope1_tco2e", "2026-Q5:1", '{ "2026-Q5" = 1 }'),
    ("scope1_statement", None, '""'),
    ("net_revenue", "twenty:1", "{ twenty = 1 }"),
    ("high_climate_impact_revenue", "2026:nan", "{ 2026 = -1 }"),
    ("revenue_currency", "euro", '"€"'),
    ("consolidation_approach", "control", '"control"'),
    ("organisational_boundary", None, "3"),
    ("base_year", "24", "24"),
    ("restatement_policy", None, '""'),
    ("sites", "h 1:dc", '{ "h 1" = "dc" }'),
    ("site_pue", "dc:0.9", "{ dc = 0.5 }"),
]


def test_every_key_has_an_invalid_case():
    assert sorted(key for key, _, _ in INVALID) == sorted(Settings.keys())


@pytest.mark.parametrize(("key", "env_value", "toml_value"), INVALID)
def test_invalid_value_names_the_key(home, key, env_value, toml_value):
    if env_value is not None:
        with pytest.raises(ConfigError) as caught:
            load(home, env={f"GREENAI_{key.upper()}": env_value})
        assert caught.value.key == key
        assert str(caught.value).startswith(f"invalid {key}=")
        assert "\n" not in str(caught.value)
    (home / "project" / "greenai.toml").write_text(f"{key} = {toml_value}\n")
    with pytest.raises(ConfigError) as caught:
        load(home)
    assert caught.value.key == key
    assert caught.value.accepted


def test_message_says_what_is_accepted_and_where_the_value_came_from(home):
    with pytest.raises(ConfigError) as caught:
        load(home, env={"GREENAI_PUE": "0.8"})
    assert str(caught.value) == (
        "invalid pue='0.8': a number >= 1.0 (facility energy / IT energy) (from GREENAI_PUE)"
    )


def test_replace_revalidates_and_normalises():
    settings = Settings(country="fra")
    assert settings.country == "FRA"
    changed = settings.replace(country="usa", region="Texas", pue="1.2")
    assert (changed.country, changed.region, changed.pue) == ("USA", "texas", 1.2)
    assert settings.country == "FRA"  # frozen, unchanged
    with pytest.raises(ConfigError) as caught:
        settings.replace(pue=0.5)
    assert caught.value.key == "pue"


def test_keys_and_plain_values():
    keys = Settings.keys()
    assert keys[:3] == ("db_url", "country", "region")
    assert len(keys) == len(set(keys)) == 38
    plain = Settings(market_factors={"fra": 1}).as_dict()
    assert json.loads(json.dumps(plain))["market_factors"] == {"FRA": 1.0}
    assert hash(Settings(country="FRA")) == hash(Settings(country="fra"))


def test_loading_settings_imports_nothing_heavy(tmp_path):
    code = (
        "import sys; from greenai.config import load_settings; load_settings(); "
        "heavy = {'pandas', 'codecarbon', 'pynvml', 'sqlalchemy', 'typer', 'rich'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    env = {k: v for k, v in env.items() if not k.startswith("GREENAI_")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
