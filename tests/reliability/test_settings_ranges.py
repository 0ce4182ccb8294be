"""Settings have sane ranges, refused before the job, each stated in the message."""

from __future__ import annotations

import pytest

from greenai.config import Settings, load_settings
from greenai.config.keys import ACCEPTED
from greenai.config.keys import RANGES as RANGES_CHECKED
from greenai.errors import ConfigError

# key, a value just outside, a value at the edge (accepted), the edge as the text states it
RANGES = [
    ("heartbeat_s", "1e-9", "0.5", "0.5"),
    ("heartbeat_s", "1e300", "1000000", "1000000"),
    ("stale_after_s", "0.5", "1", "1"),
    ("stale_after_s", "1e300", "31536000", "31536000"),
    ("series_hz", "0.01", "0.1", "0.1"),
    ("series_hz", "101", "100", "100"),
    ("power_hz", "0.5", "1", "1"),
    ("power_hz", "1001", "1000", "1000"),
    ("pue", "0.99", "1", "1.0"),
    ("wue", "101", "100", "100"),
    ("intensity_g_per_kwh", "5001", "5000", "5000"),
    ("cpu_tdp_w", "10001", "10000", "10000"),
    ("price_per_kwh", "1e7", "1000000", "1000000"),
]


@pytest.mark.parametrize(("key", "outside", "edge", "stated"), RANGES)
def test_values_outside_a_range_are_refused_with_the_range(
    key: str, outside: str, edge: str, stated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"GREENAI_{key.upper()}", outside)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.key == key
    assert stated in caught.value.accepted
    monkeypatch.setenv(f"GREENAI_{key.upper()}", edge)
    assert getattr(load_settings(), key) == float(edge)


def test_a_heartbeat_of_a_nanosecond_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"heartbeat_s=1e-09: a number from 0.5"):
        Settings(heartbeat_s=1e-9)


@pytest.mark.parametrize(
    "tiers", ["1s:99999999999", "1s:7,99999999999d:0", "1s:7,1000d:0"], ids=["days", "step", "big"]
)
def test_series_tiers_are_bounded(tiers: str) -> None:
    with pytest.raises(ConfigError, match="series_tiers"):
        Settings(series_tiers=tiers)  # type: ignore[arg-type]  # parsed like the environment


def test_market_factors_are_bounded_like_intensities() -> None:
    with pytest.raises(ConfigError, match="market_factors"):
        Settings(market_factors={"FRA": 1e9})


def _forms(bound: float) -> set[str]:
    """How a bound may be written: ``0.5``, ``1.0`` or ``1``, ``1000000``."""
    return {repr(bound), str(int(bound))} if bound.is_integer() else {repr(bound)}


def test_every_range_is_documented_in_the_settings_docstring() -> None:
    doc = Settings.__doc__ or ""
    assert set(RANGES_CHECKED) == {key for key, *_ in RANGES}
    for key, bounds in RANGES_CHECKED.items():
        line = next(line for line in doc.splitlines() if line.strip().startswith(f"- ``{key}``"))
        for bound in (b for b in bounds if b != float("inf")):
            assert any(form in line for form in _forms(bound)), (key, bound, line)
            assert any(form in ACCEPTED[key] for form in _forms(bound)), (key, bound)
