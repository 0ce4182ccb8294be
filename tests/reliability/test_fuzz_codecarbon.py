"""Whatever a CodeCarbon ``emissions.csv`` holds, ``greenai import codecarbon`` imports every
row or none, and says where the problem is.

Generated files: CodeCarbon's header with hostile cells (unicode, NUL, 100 kB, markup,
formulas, numbers such as ``nan``, ``1e309``, ``0x10``, ``١``, times past year 9999),
headers reordered, cut short or with a column twice, rows with a cell more or less,
written with ``\\n``, ``\\r\\n`` or ``\\r`` line ends, every cell quoted or none (so a comma
or quote in a cell breaks the record), after a BOM or binary bytes and before a stray
tail. The real command, in this process (:func:`tests.interop.conftest.import_file`),
into this test's SQLite ledger: either exit code 0 with every record counted and the
runs shown as text by ``runs list``, or exit code 2 with ``greenai: error:`` lines naming
the line (and the column of a cell), the last saying ``nothing imported``, and the
ledger exactly as before. (Fixed refusals on both databases: :mod:`tests.interop`.)
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from greenai.interop.codecarbon_columns import COLUMNS
from greenai.ledger.limits import TAG_VALUE_CHARS
from tests.interop.conftest import assert_refused, import_file, ledger_runs
from tests.interop.files import GOOD_ROW
from tests.reliability.figures import FuzzCount
from tests.reliability.fuzz import MARKUP, TEXT, assert_handled, fuzz_settings, huge, invoke

SPECIAL = st.sampled_from(
    [
        "", " ", "nan", "-inf", "Infinity", "1e308", "1e309", "-0", "0x10", "1_000", "١٢",
        "4.2e-400", "9" * 400, "2026-03-01T10:00:00", "2026-03-01", "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00", "2026-03-01T10:00:00Z", "yesterday", "FRA", "fra", "ZZZ",
        "Y", "N", "'=1+1", "=HYPERLINK(\"x\")", "'", '"', ",", "\r", "a\nb", huge("x"),
    ]
)  # fmt: skip
CELL = st.one_of(SPECIAL, SPECIAL, TEXT, st.sampled_from(MARKUP))
ROW = st.dictionaries(st.sampled_from(COLUMNS), CELL, max_size=3).map(
    lambda changed: {**GOOD_ROW, **changed}
)
HEADER = st.one_of(
    st.just(list(COLUMNS)),
    st.just(list(COLUMNS)),
    st.permutations(COLUMNS).map(list),
    st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=8),  # columns missing or twice
    st.lists(st.one_of(st.sampled_from(COLUMNS), TEXT), min_size=1, max_size=5),
)
STYLE = st.sampled_from(["\n", "\r\n", "\r", "quote all", "no quoting"])
HEAD = st.one_of(st.just(b""), st.just(b"\xef\xbb\xbf"), st.binary(min_size=1, max_size=8))
TAIL = st.one_of(
    st.just(b""), st.sampled_from([b"\n\n", b'x,"unterminated\n', b"\x00", b"a,b\n"]),
    st.binary(min_size=1, max_size=8),
)  # fmt: skip
WIDTH = st.sampled_from([0, 0, 0, 1, -1])  # cells more or fewer than the header


def csv_file(
    header: Sequence[str], rows: Sequence[Mapping[str, str]], style: str, width: int
) -> str:
    """The file's text: ``header``, then each row's cells in the header's order."""
    records = [list(header)] + [[r.get(c, "") for c in header] for r in rows]
    for record in records[1:]:
        if width > 0:
            record.append("extra")
        elif width < 0 and record:
            record.pop()
    if style == "no quoting":
        return "".join(",".join(record) + "\n" for record in records)
    out = io.StringIO()
    ending = "\n" if style == "quote all" else style
    if style == "quote all":
        csv.writer(out, lineterminator=ending, quoting=csv.QUOTE_ALL).writerows(records)
    else:
        csv.writer(out, lineterminator=ending).writerows(records)
    return out.getvalue()


def records_in(content: bytes) -> int | None:
    """Data records as the csv module reads the file (blank ones skipped), None when it
    cannot read it."""
    try:
        text = content.decode("utf-8-sig")
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except (UnicodeDecodeError, csv.Error):
        return None
    return max(sum(1 for r in records if any(c.strip() for c in r)) - 1, 0)


def assert_all_imported(content: bytes, stdout: str, before: int, after: int) -> None:
    found = re.search(r"imported ([\d,]+) rows? as ([\d,]+) runs?", stdout)
    assert found is not None, stdout
    rows, runs = (int(g.replace(",", "")) for g in found.groups())
    assert rows == records_in(content), (rows, stdout)
    assert before <= after <= before + runs and runs <= rows


def assert_located(stderr_lines: list[str]) -> None:
    """Each problem names its line (the count line excepted)."""
    problems = stderr_lines if len(stderr_lines) == 1 else stderr_lines[:-1]
    for line in problems:
        assert re.search(r": line \d+(, column \d+( \(.*\))?)?: ", line), line


@pytest.mark.fuzz_target("CodeCarbon CSVs")
@fuzz_settings(ci=40, full=400)
@given(
    header=HEADER,
    rows=st.lists(ROW, max_size=4),
    style=STYLE,
    width=WIDTH,
    head=HEAD,
    tail=TAIL,
)
@example(header=list(COLUMNS), rows=[GOOD_ROW], style="\n", width=0, head=b"", tail=b"")
@example(
    header=list(COLUMNS),
    rows=[{**GOOD_ROW, "run_id": huge("r")}],  # was stored whole, a 100 kB tag
    style="\n",
    width=0,
    head=b"",
    tail=b"",
)
@example(
    header=list(COLUMNS),
    rows=[{**GOOD_ROW, "project_name": "[/]", "cpu_model": "\x1b]0;pwned\x07"}],
    style="\r",
    width=0,
    head=b"\xef\xbb\xbf",
    tail=b"",
)
def test_a_generated_codecarbon_file_is_imported_whole_or_refused_with_its_line(
    tmp_path: Path,
    ledger_url: str,
    fuzz_count: FuzzCount,
    header: list[str],
    rows: list[dict[str, str]],
    style: str,
    width: int,
    head: bytes,
    tail: bytes,
) -> None:
    """The examples share one ledger: each import meets the runs of the earlier ones
    (a re-imported row updates its run), as a user's ledger would."""
    fuzz_count.tried()
    content = head + csv_file(header, rows, style, width).encode("utf-8", "surrogatepass") + tail
    path = tmp_path / "emissions.csv"
    path.write_bytes(content)
    before = ledger_runs(ledger_url)
    outcome = import_file(path, ledger_url)
    assert outcome.escaped is None, repr(outcome.escaped)
    event(f"exit {outcome.exit_code}")
    if outcome.exit_code == 0:
        after = ledger_runs(ledger_url)
        assert_all_imported(content, outcome.stdout, len(before), len(after))
        for run in after:  # tags hold what the tracking API lets them hold
            assert all(len(str(v)) <= TAG_VALUE_CHARS for v in run["tags"].values()), run["id"]
        shown = invoke(["runs", "list", "--db", ledger_url, "--limit", "10"])
        assert_handled(shown)
        assert "\x1b" not in shown.stdout
        return
    assert_refused(outcome)
    assert_located(outcome.stderr_lines)
    assert ledger_runs(ledger_url) == before
