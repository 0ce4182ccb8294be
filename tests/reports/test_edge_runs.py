"""Runs a report must still count honestly: running at the as-of time, updated after it,
without a stored factor; node energy below what runs were charged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from greenai.ledger import Ledger, schema
from greenai.reports import build_report
from tests.reports.seed import KWH, Clock


def test_running_updated_late_no_factor_and_short_node_energy(ledger_url: str) -> None:
    clock = Clock()
    ledger = Ledger.open(ledger_url, clock=clock)
    start = datetime(2026, 9, 30, 22, tzinfo=UTC)
    live = {"id": "run-live", "status": "running", "started_at": start,
            "heartbeat_at": start + timedelta(hours=1), "energy_j": 1 * KWH,
            "facility_energy_j": 1 * KWH, "measured_energy_j": 1 * KWH,
            "country": "DEU", "intensity_g_per_kwh": 400.0, "host_id": "hy"}  # fmt: skip
    clock.now = start
    ledger.save_run({"run": live})
    # Refreshed after the as-of time: 4 kWh over 4 hours, half of it in September.
    clock.now = start + timedelta(hours=4)
    ledger.save_run(
        {
            "run": {
                **live,
                "heartbeat_at": clock.now,
                "energy_j": 4 * KWH,
                "facility_energy_j": 4 * KWH,
                "measured_energy_j": 4 * KWH,
            }
        }
    )
    no_factor = {"id": "run-nofactor", "status": "completed",
                 "started_at": datetime(2026, 9, 10, tzinfo=UTC),
                 "ended_at": datetime(2026, 9, 10, 1, tzinfo=UTC), "energy_j": 10 * KWH,
                 "facility_energy_j": 10 * KWH, "measured_energy_j": 10 * KWH,
                 "emissions_kg": 1.0, "country": "FRA", "host_id": "hx"}  # fmt: skip
    clock.now = datetime(2026, 9, 10, 1, tzinfo=UTC)
    ledger.save_run({"run": no_factor})
    with ledger.engine.begin() as conn:  # the agent measured less on hx than its run used
        conn.execute(sa.insert(schema.node_energy), [
            {"host_id": "hx", "device_id": "node", "kind": "node", "method": "counter",
             "start_at": datetime(2026, 9, 10, tzinfo=UTC),
             "end_at": datetime(2026, 9, 11, tzinfo=UTC), "energy_j": 1 * KWH},
        ])  # fmt: skip
    try:
        report = build_report(ledger, "2026-09", as_of=datetime(2026, 10, 1, 1, tzinfo=UTC))
    finally:
        ledger.close()
    assert report["energy_it_kwh"] == 12.0  # 10 + half of the live run's 4
    # 1 kgCO2e recorded without a factor, plus 2 kWh x 400 g.
    assert report["scope2_location_tco2e"] == 0.0018
    quality = report["data_quality"]
    assert quality["running_at_as_of"]["run_ids"] == ["run-live"]
    assert quality["updated_after_as_of"]["run_ids"] == ["run-live"]
    assert quality["missing_factor"]["run_ids"] == ["run-nofactor"]
    assert quality["split_runs"] == [
        {"run_id": "run-live", "share_in_period": 0.5, "split_method": "time"}
    ]
    assert quality["period_complete_at_as_of"] is True
    assert report["energy_lines"][1:] == []
    assert quality["node_energy_notes"] == [
        "hx: runs charged 10.000000 kWh, node measured 1.000000 kWh; no idle line"
    ]
    factors = {row["location"]: row for row in report["scope2_location_factors"]}
    assert factors["FRA"]["intensity_g_per_kwh"] == 100.0  # implied by 1 kg / 10 kWh
    assert factors["FRA"]["source"] == "not recorded"


def test_multi_host_job_is_charged_equally_on_its_hosts(ledger_url: str) -> None:
    clock = Clock()
    clock.now = datetime(2026, 9, 2, tzinfo=UTC)
    ledger = Ledger.open(ledger_url, clock=clock)
    job = {"id": "job", "status": "completed", "started_at": datetime(2026, 9, 1, tzinfo=UTC),
           "ended_at": datetime(2026, 9, 1, 2, tzinfo=UTC), "energy_j": 4 * KWH,
           "facility_energy_j": 4 * KWH, "measured_energy_j": 4 * KWH, "country": "FRA",
           "intensity_g_per_kwh": 50.0, "host_id": "ha", "hosts": ["ha", "hb"]}  # fmt: skip
    ledger.save_run({"run": job})
    with ledger.engine.begin() as conn:  # each node drew 3 kWh that day: 1 kWh idle each
        conn.execute(sa.insert(schema.node_energy), [
            {"host_id": host, "device_id": "node", "kind": "node", "method": "counter",
             "start_at": datetime(2026, 9, 1, tzinfo=UTC),
             "end_at": datetime(2026, 9, 2, tzinfo=UTC), "energy_j": 3 * KWH}
            for host in ("ha", "hb")
        ])  # fmt: skip
    try:
        report = build_report(ledger, "2026-09", as_of=datetime(2026, 10, 1, tzinfo=UTC))
    finally:
        ledger.close()
    assert [(line["host_id"], line["energy_it_kwh"]) for line in report["energy_lines"]] == [
        (None, 4.0),
        ("ha", 1.0),
        ("hb", 1.0),
    ]
    assert report["energy_it_kwh"] == 6.0
    assert report["boundary"]["hosts_count"] == 2
