"""Whatever ``greenai report --period`` is given, a report is written or one line says why.

Generated periods: quarters, months, years and day ranges with any numbers (year 0 to
99999, month 00 to 99, Q0 to Q9, 30 February, a range that ends before it starts), the
period that holds the ledger's run, other digits than ASCII, padding, and any text; in
time zones whose offsets reach year 1 and 9999 first (``Pacific/Kiritimati`` +14,
``Etc/GMT+12`` -12), with ``--as-of`` and ``--last`` (alone, or with a period when
that starts with a dash) too. The real command in this
process (:func:`tests.reliability.fuzz.invoke`) over a ledger holding one run of this
month: exit code 0 with ``report.json`` in the folder and the run's markup escaped in
``report.html``, or a one-line refusal
(``greenai: error: invalid period=...``, ``nothing to report``, or click's usage box)
and no folder left behind. Fixed cases: :mod:`tests.reliability.test_cli_inputs`.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

import greenai
from greenai.tracking.run import GreenAIWarning
from tests.reliability.figures import FuzzCount
from tests.reliability.fuzz import ARGV_TEXT, assert_handled, fuzz_settings, invoke

NOW = datetime.now(UTC)
SCRIPT = "<script>alert(1)</script>"
THIS = [f"{NOW:%Y-%m}", f"{NOW.year}", f"{NOW.year}-Q{(NOW.month - 1) // 3 + 1}"]
YEAR = st.one_of(st.integers(0, 9999), st.integers(0, 99999), st.sampled_from([1969, 1970, 9998]))
DIGITS = {"arabic": "٠١٢٣٤٥٦٧٨٩", "fullwidth": "０１２３４５６７８９"}


def _foreign(text: str, script: str) -> str:
    return text.translate(str.maketrans("0123456789", DIGITS[script]))


DAY = st.builds(
    lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", YEAR, st.integers(0, 13), st.integers(0, 32)
)
FORM = st.one_of(
    st.sampled_from(THIS),
    st.builds(lambda y, q, n: f"{y:04d}-{q}{n}", YEAR, st.sampled_from("Qq"), st.integers(0, 9)),
    st.builds(lambda y, m: f"{y:04d}-{m:02d}", YEAR, st.integers(0, 99)),
    YEAR.map(str),
    st.builds(
        lambda a, sep, b: f"{a}{sep}{b}", DAY, st.sampled_from(["..", " .. ", "...", "-"]), DAY
    ),
    st.builds(lambda a, b: f"{min(a, b)}..{max(a, b)}", st.dates(), st.dates()),
    st.sampled_from(
        [f"{NOW:%Y-%m}-01..{NOW:%Y-%m-%d}", "2026-02-29..2026-03-01", "1970-01-01..9998-12-31"]
    ),
)  # fmt: skip
PERIOD = st.one_of(
    FORM,
    st.sampled_from(THIS),  # reported: the ledger's run is in them
    st.tuples(FORM, st.sampled_from(sorted(DIGITS))).map(lambda p: _foreign(*p)),
    st.tuples(st.sampled_from([" ", "\t", "\u3000", "\n", "\x00"]), FORM).map(
        lambda p: p[0] + p[1] + p[0]
    ),
    ARGV_TEXT,
)
TIMEZONE = st.sampled_from(
    [
        "UTC",
        "Europe/Paris",
        "Pacific/Kiritimati",
        "Etc/GMT+12",
        "America/St_Johns",
        "Asia/Kathmandu",
    ]
)


def _now_and_then(values: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    """None four times in five, else one of ``values``."""
    return st.integers(0, 4).flatmap(lambda n: values if n == 0 else st.none())


AS_OF = _now_and_then(st.sampled_from(["now", f"{NOW:%Y-%m-%d}", "9998-12-31T23:59"]) | PERIOD)
LAST = _now_and_then(st.sampled_from(["month", "quarter", "year"]) | ARGV_TEXT)


@pytest.fixture
def one_run(ledger_url: str) -> str:
    """The ledger, holding one run of this month (with markup in its names)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenAIWarning)
        with greenai.track(db_url=ledger_url, project=SCRIPT, model="[/]") as run:
            run.add_tokens(output=1)
    return ledger_url


@pytest.mark.fuzz_target("report periods")
@fuzz_settings(ci=40, full=400)
@given(period=PERIOD, timezone=TIMEZONE, as_of=AS_OF, last=LAST)
@example(period=THIS[0], timezone="UTC", as_of=None, last=None)
@example(period="0001", timezone="Pacific/Kiritimati", as_of=None, last=None)
@example(period="9999-Q4", timezone="Etc/GMT+12", as_of=None, last=None)
@example(period="٢٠٢٦", timezone="UTC", as_of=None, last=None)
@example(period="2000-01-01..4107-01-01", timezone="UTC", as_of=None, last=None)  # OverflowError
@example(period="1970-01-01..9998-12-31", timezone="UTC", as_of=None, last=None)  # minutes
@example(period="1970-01-01..2070-01-01", timezone="Etc/GMT+12", as_of=None, last=None)
def test_a_generated_period_is_reported_or_refused_in_one_line(
    tmp_path: Path,
    one_run: str,
    fuzz_count: FuzzCount,
    period: str,
    timezone: str,
    as_of: str | None,
    last: str | None,
) -> None:
    fuzz_count.tried()
    out = Path(tempfile.mkdtemp(dir=tmp_path)) / "report"
    args = ["report", "--format", "json,html", "--out", str(out), "--db", one_run]
    args += ["--as-of", as_of] if as_of is not None else []
    args += ["--last", last] if last is not None else []
    args += ["--period", period] if last is None or period.startswith("-") else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenAIWarning)
        outcome = invoke(args, env={"GREENAI_TIMEZONE": timezone})
    assert_handled(outcome)
    if outcome.exit_code != 0:
        event("refused: " + outcome.stderr.split("invalid ")[-1].split("=")[0][:20])
        assert not out.exists(), f"{args!r} left {out}"
        return
    event("reported")
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["timezone"] == timezone
    assert report["period_label"].isascii() and report["runs_count"] >= 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert SCRIPT not in html  # the project is shown as text: &lt;script&gt;


@pytest.mark.parametrize("period", ["0001", "0001-Q1", "0001-01-01..0500-12-31"])
def test_the_api_refuses_a_period_with_nothing_before_it(
    tmp_path: Path, one_run: str, period: str
) -> None:
    """``greenai.reports.report`` compares a period with the one before and the year
    before: before year 1 that raised OverflowError or ValueError, not ConfigError."""
    from greenai.errors import ConfigError
    from greenai.reports import report

    with pytest.raises(ConfigError, match="period before and year before"):
        report(period, out_dir=tmp_path / "r", formats="json", db_url=one_run)
