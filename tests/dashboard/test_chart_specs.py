"""Every chart of the dashboard, read from its Vega-Lite specification (AppTest on the
real app and the seeded ledger): every category on an axis is labelled (overlapping
labels are never dropped, long ones are wrapped, not cut), every chart's tooltip says
what its figure is (the definition from greenai.figures.definitions), and the Pareto
frontier is drawn through frontier points only."""

from __future__ import annotations

from typing import Any

import pytest

from greenai.figures.definitions import DEFINITIONS
from tests.dashboard.conftest import chart_data, chart_spec, charts, open_app

DEFINITION_TEXTS = {d.text for d in DEFINITIONS.values()}


def _parts(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [spec, *spec.get("layer", [])]


def _all_charts() -> list[Any]:
    return [*charts(open_app()), *charts(open_app("compare"))]


def _nominal_axes(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    axes = []
    for part in _parts(spec):
        for channel in ("x", "y"):
            encoding = part.get("encoding", {}).get(channel)
            if isinstance(encoding, dict) and encoding.get("type") == "nominal":
                axes.append((encoding["field"], encoding.get("axis") or {}))
    return axes


def _tooltip_values(chart: Any) -> set[str]:
    """The texts a chart's tooltips show as its definition (that column's values)."""
    fields = set()
    for part in _parts(chart_spec(chart)):
        tips = part.get("encoding", {}).get("tooltip") or []
        for tip in tips if isinstance(tips, list) else [tips]:
            if isinstance(tip, dict) and tip.get("title") == "Definition":
                fields.add(tip["field"])
    texts: set[str] = set()
    for frame in chart_data(chart):
        for field in fields & set(frame.columns):
            texts |= set(frame[field].astype(str))
    return texts


@pytest.mark.usefixtures("seeded")
def test_every_category_is_labelled_and_every_chart_says_what_it_shows() -> None:
    found = _all_charts()
    assert len(found) >= 5
    nominal = 0
    for chart in found:
        spec = chart_spec(chart)
        for field, axis in _nominal_axes(spec):
            nominal += 1
            assert axis.get("labelOverlap") is False, field  # never drop a label
            assert axis.get("labelLimit") == 0, field  # never cut one
            assert "split(" in axis.get("labelExpr", ""), field  # long ones wrap
        shown = _tooltip_values(chart)
        assert shown and shown <= DEFINITION_TEXTS, chart.proto.spec[:300]
    assert nominal >= 3  # the group charts of Compare and the largest consumers


@pytest.mark.usefixtures("seeded")
def test_the_pareto_line_goes_through_frontier_points_only() -> None:
    at = open_app("compare")
    pareto = next(c for c in charts(at) if "On the frontier" in c.proto.spec)
    frames = chart_data(pareto)
    scatter = max(frames, key=len)
    line = min(frames, key=len)
    front = scatter[scatter["on_frontier"].astype(bool)]
    assert len(line) == len(front) < len(scatter)
    assert sorted(line["group"]) == sorted(front["group"])
