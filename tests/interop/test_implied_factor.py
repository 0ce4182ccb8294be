"""An imported row's factor (its emissions over its energy) is checked against
CodeCarbon's own table for its location: a France row at 560 g/kWh, ten times the
table's 56, is flagged with both values; the figures as recorded are kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenai.emissions.factor_evidence import country_evidence
from greenai.emissions.factors import load_table
from greenai.figures import flags
from greenai.figures.evidence import evidence_from
from greenai.interop.implied_factor import IMPLIED_TAG, TABLE_TAG
from tests.interop.conftest import import_file, ledger_runs
from tests.interop.files import row, write_csv

ENERGY_KWH = 0.0009  # GOOD_ROW's energy_consumed (PUE included)


def _emissions_kg(g_per_kwh: float) -> str:
    return repr(ENERGY_KWH * g_per_kwh / 1000)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def test_a_factor_ten_times_the_table_is_flagged_with_both_values(tmp_path: Path, url: str) -> None:
    table = load_table()
    fra = float(table.country("FRA")["g_per_kwh"])  # type: ignore[index]
    version = table.codecarbon_version
    rows = [
        row(1, emissions=_emissions_kg(fra * 10), codecarbon_version=version),
        row(2, emissions=_emissions_kg(fra * 1.01), codecarbon_version=version),  # within 2%
    ]
    outcome = import_file(write_csv(tmp_path / "e.csv", rows), url)
    assert outcome.exit_code == 0, outcome.stderr_lines
    runs = {r["tags"]["codecarbon_run_id"]: r for r in ledger_runs(url)}
    wrong, fine = runs["run-1"], runs["run-2"]
    assert flags.FACTOR_MISMATCH in wrong["flags"]
    assert float(wrong["tags"][IMPLIED_TAG]) == pytest.approx(fra * 10, rel=1e-5)
    assert float(wrong["tags"][TABLE_TAG]) == pytest.approx(fra, rel=1e-5)
    assert wrong["emissions_kg"] == pytest.approx(ENERGY_KWH * fra * 10 / 1000)  # kept
    assert flags.FACTOR_MISMATCH not in fine["flags"] and IMPLIED_TAG not in fine["tags"]
    assert flags.CODECARBON_VERSION_DIFFERS not in fine["flags"]
    # the matching row carries the table factor's evidence; the other says it is not it
    assert evidence_from(fine["factor_evidence"]) == country_evidence(table, "FRA")
    unmatched = evidence_from(wrong["factor_evidence"])
    assert unmatched is not None and "not the installed table's factor" in unmatched.dataset
    assert unmatched.vintage is None and unmatched.mix == country_evidence(table, "FRA").mix
    # the report's data quality counts it, in the missing/wrong factor group
    assert flags.FLAGS[flags.FACTOR_MISMATCH].group in flags.COUNTED


def test_another_codecarbon_version_is_said(tmp_path: Path, url: str) -> None:
    fra = float(load_table().country("FRA")["g_per_kwh"])  # type: ignore[index]
    rows = [row(1, emissions=_emissions_kg(fra), codecarbon_version="2.3.4")]
    assert import_file(write_csv(tmp_path / "e.csv", rows), url).exit_code == 0
    (run,) = ledger_runs(url)
    assert flags.CODECARBON_VERSION_DIFFERS in run["flags"]
    assert flags.FACTOR_MISMATCH not in run["flags"]
