"""The instruments file: every column checked, a bad row named by file, line and id in a
one-line configuration error, before any report is built."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from greenai.config import Settings
from greenai.emissions.instruments_file import read_instruments
from greenai.errors import ConfigError

HEADER = "id,type,mwh,location,vintage,g_per_kwh,quality_criteria_met,source,notes\n"


def _file(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "instruments.csv"
    path.write_text(HEADER + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


def test_a_valid_file_reads_every_column(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "# guarantees of origin bought for the Paris site",
        "GO-1,GO,12.5,fra,2026,0,yes,AIB registry,Paris site",
        "PPA-7,ppa,100,USA/California,2025-07..2026-06,15,no,,",
    )
    go, ppa = read_instruments(path)
    assert (go.id, go.type, go.volume_mwh, go.location, go.intensity_g_per_kwh) == (
        "GO-1", "go", 12.5, "FRA", 0.0,
    )  # fmt: skip
    assert go.quality_met and go.renewable and go.source == "AIB registry"
    assert (go.vintage_first, go.vintage_last) == (date(2026, 1, 1), date(2026, 12, 31))
    assert ppa.location == "USA/california" and not ppa.quality_met and not ppa.renewable
    assert (ppa.vintage_first, ppa.vintage_last) == (date(2025, 7, 1), date(2026, 6, 30))
    assert (go.order, ppa.order) == (0, 1)


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ("GO-1,coupon,1,FRA,2026,0,yes,,", "a type among"),
        ("GO-1,go,-3,FRA,2026,0,yes,,", "mwh > 0"),
        ("GO-1,go,lots,FRA,2026,0,yes,,", "numbers in mwh and g_per_kwh"),
        ("GO-1,go,1,France,2026,0,yes,,", "ISO3"),
        ("GO-1,go,1,gcp/us-central1,2026,0,yes,,", "a location ISO3 or ISO3/region"),
        ("GO-1,go,1,FRA,26,0,yes,,", "a vintage year"),
        ("GO-1,go,1,FRA,2026-06..2026-01,0,yes,,", "ends before it starts"),
        ("GO-1,go,1,FRA,2026,-1,yes,,", "g_per_kwh from 0 to 5000"),
        ("GO-1,go,1,FRA,2026,0,maybe,,", "quality_criteria_met yes or no"),
    ],
)
def test_a_bad_row_is_named_with_what_to_write(tmp_path: Path, row: str, says: str) -> None:
    path = _file(tmp_path, "OK-1,rec,1,USA,2026,0,yes,,", row)
    with pytest.raises(ConfigError) as caught:
        read_instruments(path)
    message = str(caught.value)
    assert f"{path}:3 (id GO-1)" in message and says in message
    assert "\n" not in message


def test_a_repeated_id_and_a_missing_column_are_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, "GO-1,go,1,FRA,2026,0,yes,,", "GO-1,go,2,FRA,2026,0,yes,,")
    with pytest.raises(ConfigError, match="one row per id"):
        read_instruments(path)
    bad = tmp_path / "short.csv"
    bad.write_text("id,type,mwh,location\nGO-1,go,1,FRA\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="missing: vintage, g_per_kwh, quality_criteria_met"):
        read_instruments(bad)


def test_the_setting_checks_the_file_when_configured(tmp_path: Path) -> None:
    good = _file(tmp_path, "GO-1,go,1,FRA,2026,0,yes,,")
    assert Settings(instruments_file=good).instruments_file == good
    with pytest.raises(ConfigError, match="instruments_file"):
        Settings(instruments_file=tmp_path / "absent.csv")
    good.write_text(HEADER + "GO-1,go,1,FRA,2026,0,perhaps,,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"instruments\.csv:2 \(id GO-1\)"):
        Settings(instruments_file=good)
