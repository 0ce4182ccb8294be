"""Reports page (AppTest): period picker, building a report from the seeded ledger,
preview and downloads; an installation without the report builder gets a message."""

from __future__ import annotations

import importlib.util
import sys
from datetime import timedelta

import pytest

from tests.dashboard.conftest import metrics, open_app
from tests.dashboard.seed import Seeded

HAS_REPORTS = importlib.util.find_spec("greenai.reports") is not None


@pytest.mark.skipif(not HAS_REPORTS, reason="greenai.reports is not in this checkout")
def test_build_preview_and_download(seeded: Seeded) -> None:
    at = open_app("reports")
    at.selectbox[0].select("Other…").run()
    first, last = seeded.today - timedelta(days=60), seeded.today
    at.text_input[0].input(f"{first:%Y-%m-%d}..{last:%Y-%m-%d}").run()
    at.button[0].click().run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    shown = metrics(at)
    # Facility energy of the root runs of the 60 days: 146,220 J + 2 x 2,400 J = 151,020 J.
    assert shown["Facility energy"][0] == "42.0 Wh"
    names = {b.proto.label for b in at.get("download_button")}
    assert {"report.html", "report.json", "summary.csv", "runs.csv"} <= names
    assert any(str(e.proto).find("data:text/html") >= 0 for e in at.get("iframe"))


@pytest.mark.skipif(not HAS_REPORTS, reason="greenai.reports is not in this checkout")
def test_empty_period_is_a_message(seeded: Seeded) -> None:
    at = open_app("reports")
    at.selectbox[0].select("Other…").run()
    at.text_input[0].input("2001-01-01..2001-01-31").run()
    at.button[0].click().run()
    assert not at.exception
    assert at.warning and not metrics(at)


def test_without_the_report_builder(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "greenai.reports", None)  # `import` then raises ImportError
    at = open_app("reports")
    assert "not part of this installation" in at.info[0].value
