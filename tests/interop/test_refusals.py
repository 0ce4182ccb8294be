"""Files that ``greenai import codecarbon`` refuses: one-line messages naming the line and
column, exit code 2, nothing written, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenai.interop.codecarbon_columns import COLUMNS
from tests.interop.conftest import assert_refused, import_file, ledger_runs
from tests.interop.files import csv_text, row, write_csv


def column_of(name: str) -> str:
    return f"column {COLUMNS.index(name) + 1} ({name})"


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("timestamp", "yesterday", "not an ISO 8601 time"),
        ("timestamp", "", "no timestamp"),
        ("timestamp", "0001-01-01T00:00:00+05:00", "not a time in UTC"),
        ("energy_consumed", "nan", "not a finite number"),
        ("energy_consumed", "inf", "not a finite number"),
        ("emissions", "-Infinity", "not a finite number"),
        ("duration", "1e300", "above"),
        ("duration", "3e9x", "not a number"),
        ("cpu_energy", "-0.5", "below 0"),
        ("gpu_energy", "1_000", "not a number"),
        ("pue", "0.5", "below 1"),
        ("pue", "0", "below 1"),
        ("country_iso_code", "ZZZZZ", "ISO 3166-1 alpha-3"),
        ("country_iso_code", "ZZZ", "ISO 3166-1 alpha-3"),
        ("country_iso_code", "FRANCE", "ISO 3166-1 alpha-3"),
        ("region", "r" * 101, "101 characters, more than the ledger's 100"),
        ("project_name", "p" * 201, "more than the ledger's 200"),
        ("tracking_mode", "m" * 17, "more than the ledger's 16"),
    ],
)
def test_a_bad_value_refuses_the_file_naming_its_line_and_column(
    tmp_path: Path, backend_url: str, name: str, value: str, reason: str
) -> None:
    rows = [row(0), row(1), row(2, **{name: value}), row(3)]
    outcome = import_file(write_csv(tmp_path / "emissions.csv", rows), backend_url)
    (message,) = assert_refused(outcome, f"line 4, {column_of(name)}", reason).splitlines()
    assert str(tmp_path / "emissions.csv") in message
    assert ledger_runs(backend_url) == []


def test_a_refusal_leaves_runs_imported_before_exactly_as_they_were(
    tmp_path: Path, backend_url: str
) -> None:
    first = write_csv(tmp_path / "first.csv", [row(0), row(1)])
    assert import_file(first, backend_url).exit_code == 0
    before = ledger_runs(backend_url)
    changed = [row(0, emissions="0.5"), row(1, duration="7"), *[row(n) for n in range(2, 3000)]]
    second = write_csv(tmp_path / "second.csv", [*changed, row(3000, country_iso_code="FRANCE")])
    assert_refused(import_file(second, backend_url), f"line 3002, {column_of('country_iso_code')}")
    assert ledger_runs(backend_url) == before


def test_several_bad_values_show_the_first_few_and_a_count(
    tmp_path: Path, backend_url: str
) -> None:
    rows = [row(n, pue="0.5") for n in range(8)] + [row(8, duration="nan")]
    text = assert_refused(import_file(write_csv(tmp_path / "e.csv", rows), backend_url))
    lines = text.splitlines()
    assert len(lines) == 6
    assert [f"line {n}," in line for n, line in zip(range(2, 7), lines, strict=False)] == [True] * 5
    assert "9 problems" in lines[-1]
    assert ledger_runs(backend_url) == []


def test_several_bad_values_in_one_row_are_each_named(tmp_path: Path, backend_url: str) -> None:
    path = write_csv(tmp_path / "e.csv", [row(0, pue="0.5", emissions="nan")])
    text = assert_refused(import_file(path, backend_url), column_of("pue"), column_of("emissions"))
    assert "2 problems" in text


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "line 1: not UTF-8 text"),
        (b"timestamp,run_id,emissions,energy_consumed\n\x00,\x00\n", "line 2: a NUL byte"),
        (b"\x1f\x8b\x08\x00\xc3\xa0\xf1e\x02\xff", "line 1: a NUL byte"),
        (b"", "empty file"),
        (b"\xef\xbb\xbf", "empty file"),
        (b"\n\n", "empty file"),
        (b'{"runs": [1, 2]}\n', "missing columns"),
        (b"timestamp,emissions\n", "missing columns energy_consumed"),
    ],
)
def test_a_file_that_is_not_codecarbon_csv_is_refused_with_one_line(
    tmp_path: Path, backend_url: str, content: bytes, reason: str
) -> None:
    path = tmp_path / "emissions.csv"
    path.write_bytes(content)
    assert len(assert_refused(import_file(path, backend_url), reason).splitlines()) == 1
    assert ledger_runs(backend_url) == []


def test_binary_or_foreign_text_after_good_rows_is_refused(
    tmp_path: Path, backend_url: str
) -> None:
    good = csv_text([row(0), row(1)]).encode()
    for tail, reason in (
        (b"\x00\x01\x02", "line 4: a NUL byte"),
        ("caf\u00e9\n".encode("latin-1"), "line 4: not UTF-8 text"),
        (b'x,"unterminated\n', "line 4: not CSV"),
    ):
        path = tmp_path / "emissions.csv"
        path.write_bytes(good + tail)
        assert_refused(import_file(path, backend_url), reason)
        assert ledger_runs(backend_url) == []


def test_a_row_with_more_or_fewer_cells_than_the_header_is_refused(
    tmp_path: Path, backend_url: str
) -> None:
    header_and_good = csv_text([row(0)])
    path = tmp_path / "emissions.csv"
    path.write_text(header_and_good + ",".join(["x"] * 40) + "\n" + "a,b\n")
    text = assert_refused(
        import_file(path, backend_url),
        f"line 3, column {len(COLUMNS) + 1}: 40 cells, the header has {len(COLUMNS)}",
        f"line 4, column 3: 2 cells, the header has {len(COLUMNS)}",
    )
    assert "2 problems" in text


def test_a_header_naming_a_column_twice_is_refused(tmp_path: Path, backend_url: str) -> None:
    path = write_csv(tmp_path / "e.csv", [row(0)], columns=[*COLUMNS, "pue"])
    assert_refused(import_file(path, backend_url), "line 1, column 39 (pue): pue appears twice")


def test_a_huge_cell_is_refused_not_loaded(tmp_path: Path, backend_url: str) -> None:
    path = write_csv(tmp_path / "e.csv", [row(0, run_id="x" * 2_000_000)])
    (message,) = assert_refused(import_file(path, backend_url), "line 2").splitlines()
    assert "longer than" in message
