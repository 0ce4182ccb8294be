"""The per-site breakdown on hand-written lines: a multi-host run split among its hosts,
hosts grouped into a data centre, and the PUE's source."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from greenai.figures.scope import SCOPE2, SCOPE3_CLOUD
from greenai.figures.units import J_PER_KWH
from greenai.reports.sites import site_rows


def line(hosts: tuple[str, ...], kwh: float, pue: float, g_per_kwh: float, **extra) -> dict:
    facility_j = kwh * pue * J_PER_KWH
    kg = kwh * pue * g_per_kwh / 1000
    return {"kind": "run", "host_id": hosts[0] if hosts else None, "hosts": hosts,
            "scope": SCOPE2, "location": "FRA", "pue": pue, "energy_it_j": kwh * J_PER_KWH,
            "facility_j": facility_j, "loc_kg": kg, "market_kg": kg / 2, **extra}  # fmt: skip


LINES = pd.DataFrame(
    [
        line(("a", "b", "c"), 300.0, 1.2, 50.0),  # 100 kWh IT on each of three hosts
        line(("a",), 50.0, 1.2, 50.0),
        line(("d",), 10.0, 1.0, 100.0),
        line((), 20.0, 1.0, 122.0, scope=SCOPE3_CLOUD, location="gcp/europe-west1",
             market_kg=math.nan),
    ]
)  # fmt: skip


def test_a_multi_host_run_is_split_and_sites_add_up() -> None:
    rows = site_rows(LINES, {"a": "dc1", "b": "dc1"}, {})
    by_site = {row["site"]: row for row in rows}
    assert list(by_site) == ["c", "d", "dc1", None]
    assert by_site["dc1"]["hosts"] == ["a", "b"]
    assert by_site["dc1"]["kind"] == "data_centre" and by_site["c"]["kind"] == "host"
    assert by_site["dc1"]["energy_it_kwh"] == pytest.approx(250.0)
    assert by_site["c"]["energy_it_kwh"] == pytest.approx(100.0)
    assert by_site[None]["kind"] == "no_host"
    assert by_site[None]["scope3_cloud_tco2e"] == pytest.approx(20 * 122 / 1e6)
    assert by_site[None]["energy_it_kwh"] == 0.0
    for key, column, per in (("energy_it_kwh", "energy_it_j", J_PER_KWH),
                             ("scope2_location_tco2e", "loc_kg", 1000.0)):  # fmt: skip
        s2 = LINES[LINES["scope"] == SCOPE2]
        assert math.fsum(r[key] for r in rows) == pytest.approx(s2[column].sum() / per)


def test_pue_sources() -> None:
    rows = {r["site"]: r for r in site_rows(LINES, {"a": "dc1", "b": "dc1"}, {"dc1": 1.3})}
    assert rows["dc1"]["pue"] == pytest.approx(1.2)
    assert rows["dc1"]["pue_source"] == "configured"
    assert rows["dc1"]["pue_configured"] == 1.3
    assert "configured 1.3, the runs recorded 1.2" in rows["dc1"]["pue_note"]
    assert rows["c"]["pue_source"] == "recorded_with_runs" and rows["c"]["pue_note"] is None
    assert rows["d"]["pue"] == 1.0 and rows["d"]["pue_source"] == "default_1.0"


def test_no_lines_no_sites() -> None:
    assert site_rows(LINES.iloc[0:0], {}, {}) == []
