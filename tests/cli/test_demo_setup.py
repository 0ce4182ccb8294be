"""Where ``greenai demo`` records and which location its runs get, without running the
benchmark (the whole demo is run once in tests/bench/test_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenai.cli.demo import DEMO_COUNTRY, demo_config, demo_ledger_url, demo_location
from greenai.errors import ConfigError


def test_the_demo_ledger_is_its_own_file_unless_db_is_given(greenai_env: Path) -> None:
    assert demo_ledger_url() == f"sqlite:///{greenai_env / 'demo' / 'ledger.db'}"
    assert demo_ledger_url("sqlite:////elsewhere/l.db") == "sqlite:////elsewhere/l.db"


def test_the_demo_ledger_ignores_the_configured_one(
    greenai_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GREENAI_DB_URL", "sqlite:////team/ledger.db")
    assert demo_ledger_url() == f"sqlite:///{greenai_env / 'demo' / 'ledger.db'}"


def test_default_location_is_set_for_the_runs() -> None:
    location = demo_location()
    assert (location.country, location.origin) == (DEMO_COUNTRY, "the demo's default")
    assert location.factor.location == DEMO_COUNTRY and not location.factor.flags
    assert demo_config(country=location.country).country == DEMO_COUNTRY


def test_country_option_wins_and_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENAI_COUNTRY", "DEU")
    location = demo_location("fra")
    assert (location.country, location.origin) == ("FRA", "set by --country")
    with pytest.raises(ConfigError, match="country"):
        demo_location("XXX")


def test_a_configured_location_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENAI_COUNTRY", "CAN")
    location = demo_location()
    assert (location.country, location.origin) == (None, "from your configuration")
    assert location.factor.location == "CAN"
    assert demo_config(country=location.country).country is None  # the configured one
