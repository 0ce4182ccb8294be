"""Series tier names are read in one place (greenai.figures.tiers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenai.figures.tiers import tier_seconds

REPO = Path(__file__).resolve().parents[2]


WIDTHS = [("1s", 1), ("10s", 10), ("1m", 60), ("1h", 3600), ("2d", 172800), (" 1m ", 60)]


@pytest.mark.parametrize(("tier", "seconds"), WIDTHS)
def test_a_tier_is_its_bucket_width(tier: str, seconds: int) -> None:
    assert tier_seconds(tier) == seconds


@pytest.mark.parametrize("tier", ["0s", "1", "m", "1w", "-1m", "1.5h", "", "01x"])
def test_anything_else_is_refused(tier: str) -> None:
    with pytest.raises(ValueError, match="series tier"):
        tier_seconds(tier)


def _parses_tiers(source: str) -> bool:
    return "([smhd])" in source or '{"s": 1, "m": 60' in source


def test_no_other_module_parses_tier_names() -> None:
    parsers = [
        str(path.relative_to(REPO))
        for package in ("greenai", "dashboard", "collectors")
        for path in sorted((REPO / package).rglob("*.py"))
        if path.name != "tiers.py" and _parses_tiers(path.read_text(encoding="utf-8"))
    ]
    assert parsers == [], "read tiers with greenai.figures.tiers"
