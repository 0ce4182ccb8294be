"""Fixtures of the dashboard tests: a seeded ledger, AppTest on the real entry script,
and helpers to read what a page showed (metrics, tables, chart data)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.dashboard.seed import Seeded, seed_ledger

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "app.py"
PAGES = {
    "overview": "views/overview.py",
    "compare": "views/compare.py",
    "run_detail": "views/run_detail.py",
    "data_quality": "views/data_quality.py",
    "reports": "views/reports.py",
}


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Streamlit's caches live in the process: start and end every test without them."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def seeded(ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    """The ledger of tests/dashboard/seed.py, which the dashboard is pointed at."""
    info = seed_ledger(ledger_url)
    monkeypatch.setenv("GREENAI_DB_URL", ledger_url)
    return info


def open_app(page: str = "overview", **query: str) -> Any:
    """Runs the entry script, then ``page`` (AppTest), with query parameters."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    if page != "overview":
        at.switch_page(PAGES[page]).run()
        assert not at.exception, at.exception
    return at


def metrics(at: Any) -> dict[str, tuple[str, str | None]]:
    """Metric label -> (value, delta)."""
    return {m.label: (m.value, m.delta or None) for m in at.metric}


def charts(at: Any) -> list[Any]:
    """The Vega-Lite charts of the page."""
    return list(at.get("vega_lite_chart"))


def chart_data(chart: Any) -> list[pd.DataFrame]:
    """The datasets of a chart (Arrow IPC in the proto), as DataFrames."""
    import pyarrow as pa  # type: ignore[import-untyped]

    return [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets]


def chart_spec(chart: Any) -> dict[str, Any]:
    """The chart's Vega-Lite specification."""
    import json

    spec: dict[str, Any] = json.loads(chart.proto.spec)
    return spec


def axis_titles(spec: dict[str, Any]) -> list[str]:
    """Every x/y axis title in a (layered) specification."""
    found: list[str] = []
    for part in [spec, *spec.get("layer", [])]:
        for channel in ("x", "y"):
            title = part.get("encoding", {}).get(channel, {}).get("title")
            if isinstance(title, str):
                found.append(title)
    return found


def frame_with(at: Any, column: str) -> pd.DataFrame:
    """The first table of the page that has ``column``."""
    for table in at.dataframe:
        frame: pd.DataFrame = table.value
        if column in frame.columns:
            return frame
    raise AssertionError(f"no table with a column {column!r}")


def markdown_texts(at: Any) -> list[str]:
    """Every text the page rendered as Markdown (titles, captions, alerts included)."""
    kinds = ("markdown", "title", "header", "subheader", "caption", "info", "warning",
             "error", "success")  # fmt: skip
    return [str(e.value) for kind in kinds for e in getattr(at, kind)]
