"""The ESRS context keys: parsed from the environment and TOML, refused with a one-line
ConfigError naming the key and what is accepted."""

from __future__ import annotations

import pytest

from greenai.config import Settings
from greenai.errors import ConfigError

INVALID = [
    ("scope1_tco2e", "2026-Q5:1"),
    ("scope1_tco2e", "2026:-1"),
    ("scope1_statement", "   "),
    ("net_revenue", "twenty:1"),
    ("net_revenue", "2026"),
    ("high_climate_impact_revenue", "2026:nan"),
    ("revenue_currency", "euro"),
    ("consolidation_approach", "control"),
    ("organisational_boundary", ""),
    ("base_year", "24"),
    ("restatement_policy", " "),
    ("sites", "h 1:dc"),
    ("site_pue", "dc:0.9"),
]


@pytest.mark.parametrize(("key", "value"), INVALID)
def test_invalid_values_are_refused_in_one_line(key: str, value: str) -> None:
    others = {} if key == "revenue_currency" else {"revenue_currency": "EUR"}
    with pytest.raises(ConfigError) as caught:
        Settings(**{key: value}, **others)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"invalid {key}=")
    assert "\n" not in str(caught.value)


def test_revenue_needs_its_currency() -> None:
    with pytest.raises(ConfigError, match=r"revenue_currency.*needed with net_revenue"):
        Settings(net_revenue={"2026": 1e9})


def test_values_are_parsed_from_strings_and_tables() -> None:
    settings = Settings(
        scope1_tco2e="2026-q3:1.5,2026:4",
        net_revenue={"2026": 1.2e9, 2025: "1e9"},
        revenue_currency="usd",
        consolidation_approach="Financial control",
        base_year="2024",
        sites='{"h1": "paris-dc1"}',
        site_pue="paris-dc1=1.3",
    )
    assert dict(settings.scope1_tco2e) == {"2026-Q3": 1.5, "2026": 4.0}
    assert dict(settings.net_revenue) == {2026: 1.2e9, 2025: 1e9}
    assert settings.revenue_currency == "USD"
    assert settings.consolidation_approach == "financial_control"
    assert settings.base_year == 2024
    assert dict(settings.sites) == {"h1": "paris-dc1"}
    assert dict(settings.site_pue) == {"paris-dc1": 1.3}
    assert hash(settings) == hash(Settings(**settings.as_dict()))
