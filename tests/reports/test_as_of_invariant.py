"""Whatever is written after the as-of time — corrections, later records of a run, new
runs in the period, runs marked interrupted, a changed configuration, reports in the
present that record allocations and configuration — a report as of that time is the same,
byte for byte (report.json, runs.csv, summary.csv)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from greenai.interop.bulk_runs import save_runs
from greenai.ledger import Ledger
from greenai.reports import build_report
from greenai.reports.outputs import report_json, runs_csv, summary_csv
from tests.reports.seed import AS_OF, KWH

RUNS = ("r1-fra", "r2-deu", "r4-usa", "r5-gbr", "r6-unk", "r11-other")
ACTION = st.one_of(
    st.tuples(st.just("amend"), st.sampled_from(RUNS), st.sampled_from(("pue=1.7", "project=x"))),
    st.tuples(st.just("late"), st.sampled_from(RUNS), st.integers(1, 9)),
    st.tuples(st.just("new"), st.integers(1, 90), st.integers(1, 9)),
    st.tuples(st.just("market"), st.sampled_from(("FRA:5", "DEU:100", "")), st.just(0)),
    st.tuples(st.just("report"), st.sampled_from(("2026-Q3", "2026-09", "2026-08-01..2026-08-20")),
              st.just(0)),
    st.tuples(st.just("stale"), st.just(""), st.just(0)),
)  # fmt: skip


def _files(url: str) -> tuple[str, str, str]:
    with Ledger.open(url) as ledger:
        report = build_report(ledger, "2026-Q3", as_of=AS_OF)
    return report_json(report), runs_csv(report), summary_csv(report)


@contextmanager
def _market(value: str) -> Iterator[None]:
    before = os.environ.get("GREENAI_MARKET_FACTORS")
    os.environ["GREENAI_MARKET_FACTORS"] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("GREENAI_MARKET_FACTORS", None)
        else:
            os.environ["GREENAI_MARKET_FACTORS"] = before


def _act(ledger: Ledger, action: tuple[str, object, object], n: int) -> None:
    kind, what, amount = action
    if kind == "amend":
        key, _, value = str(amount).partition("=")
        ledger.amend_run(str(what), {key: float(value) if key == "pue" else value}, "test")
    elif kind == "late":  # a later record of the run, with other figures
        record = ledger.get_run(str(what))
        assert record is not None
        run = {**record["run"], "energy_j": float(amount) * KWH, "record_seq": None}
        ledger.save_run({"run": run})
    elif kind == "new":
        started = datetime.fromisoformat("2026-07-01T00:00:00+00:00") + timedelta(days=int(what))
        row = {"id": f"new-{n}", "status": "completed", "started_at": started,
               "ended_at": started + timedelta(hours=1), "duration_s": 3600.0,
               "energy_j": float(amount) * KWH, "country": "FRA", "project": "chat"}  # fmt: skip
        save_runs(ledger, [row], reason="test import")
    elif kind == "market":
        with _market(str(what)):
            build_report(ledger, "2026-Q3")
    elif kind == "report":
        build_report(ledger, str(what))
    else:
        ledger.mark_stale_runs(stale_after_s=60.0)


@pytest.fixture
def instruments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "instruments.csv"
    path.write_text(
        "id,type,mwh,location,vintage,g_per_kwh,quality_criteria_met,source,notes\n"
        "GO-1,go,9000,FRA,2026,0,yes,,\nGO-2,go,4000,DEU,2026,0,yes,,\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("GREENAI_INSTRUMENTS_FILE", str(path))


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(actions=st.lists(ACTION, min_size=1, max_size=5))
def test_a_report_as_of_a_past_time_is_the_same_after_anything_written_later(
    seeded_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
    report_env: None,
    instruments: None,
    actions: list[tuple[str, object, object]],
) -> None:
    copy = tmp_path_factory.mktemp("asof") / "ledger.db"
    shutil.copyfile(seeded_file, copy)
    url = f"sqlite:///{copy}"
    before = _files(url)
    with Ledger.open(url) as ledger:
        for n, action in enumerate(actions):
            _act(ledger, action, n)
    assert _files(url) == before
