"""A seeded ledger with hand-computed totals for 2026-Q3 (UTC).

Energies are given in kWh and stored in J (1 kWh = 3.6e6 J). Every figure the tests expect
is worked out by hand in ``EXPECTED`` from the values below, not by the code under test.

Runs (root unless said otherwise), Q3 = 2026-07-01 .. 2026-09-30:

- r1-fra   chat/training, FRA, host h1, PUE 1.5: 10 000 kWh IT, factor 56.039 g/kWh;
           FRA has a contractual market factor of 20 g/kWh.
- r2-deu   chat/inference, DEU, host h2, PUE 1.2: 5 000 kWh (GPU 4 000 by counter, CPU 1 000
           estimated by a model), 2e9 tokens, 380.95 g/kWh.
- r3-cloud search/inference on gcp/europe-west1: 2 000 kWh, 122 g/kWh, 5e8 tokens: Scope 3.
- r4-usa   search/training, USA/california, host h3, PUE 1.1: 8 000 kWh from 2026-09-30 20:00
           to 2026-10-01 04:00, 4e9 tokens, with a stored power series putting 3/4 of its
           energy before midnight (4 h at 1.5 MW in tier 1m, 4 h at 0.5 MW in tier 1h).
- r5-gbr   chat/fine-tuning, GBR, host h4, PUE 1.0: 12 000 kWh from 2026-06-30 18:00 to
           2026-07-01 06:00, no series: half in Q2, half in Q3 by time; 6e8 tokens.
- r6-unk   chat/evaluation, no location (world average 475 g/kWh), host h5, interrupted,
           1 000 kWh all estimated.
- r7-child a child of r1 with a huge energy: never counted.
- r8-late  created after the as-of time: not counted (counted with a later as-of).
- r9-q2    chat, FRA, PUE 1.5, 2 000 kWh in Q2 (the previous period).
- r10-2025 chat, DEU, 1 000 kWh in 2025-Q3 (the same period a year before).
- r11-other project "other", DEU, 100 kWh: only in unfiltered reports.
- r12-q4   chat, FRA, in Q4: never in Q3.

Node energy (agents): h1 12 000 kWh (counter) on 2026-07-10, so 2 000 kWh idle beside r1;
h3 16 000 kWh (model) over 2026-09-30..2026-10-02, half in Q3 (8 000) minus r4's 6 000:
2 000 kWh idle, estimated.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from greenai.ledger import Ledger, schema

KWH = 3.6e6
AS_OF = datetime(2026, 10, 5, tzinfo=UTC)
LATE_CREATED = datetime(2026, 10, 6, tzinfo=UTC)

FRA, DEU, USA_CA, GBR, WORLD, GCP_EW1 = 56.039, 380.95, 179.064206313, 237.589, 475.0, 122.0
MIX = {  # CodeCarbon 3.3.2 global_energy_mix shares (checked in test_contract)
    "FRA": (0.08422322071152089, 0.652875843691039, 0.26290093559744027),
    "DEU": (0.4585669288218863, 0.01733394084668872, 0.524099130331425),
    "USA": (0.5907955896023818, 0.18247608288911638, 0.2267283275085019),
    "GBR": (0.3991618113053256, 0.14068622440287573, 0.4601519642917987),
}
WUE, PRICE = 1.8, 0.2


def figure(value: float) -> float:
    """A hand-computed figure as report.json carries it: 12 significant digits."""
    return float(f"{value:.12g}")


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _run(run_id: str, start: str, hours: float, kwh: float, **extra: Any) -> dict[str, Any]:
    started = t(start)
    pue = extra.pop("pue", 1.0)
    measured_kwh = extra.pop("measured_kwh", kwh)
    row: dict[str, Any] = {
        "id": run_id,
        "status": "completed",
        "started_at": started,
        "ended_at": started + timedelta(hours=hours),
        "duration_s": hours * 3600,
        "energy_j": kwh * KWH,
        "facility_energy_j": kwh * KWH * pue,
        "pue": pue,
        "measured_energy_j": measured_kwh * KWH,
        "codecarbon_version": "3.3.2",
    }
    intensity = extra.get("intensity_g_per_kwh")
    if intensity is not None:
        row["emissions_kg"] = kwh * pue * intensity / 1000
    row.update(extra)
    return row


def runs() -> list[dict[str, Any]]:
    cc = "codecarbon 3.3.2: "
    return [
        _run("r1-fra", "2026-07-10T00:00:00", 10, 10_000, pue=1.5, project="chat",
             phase="training", model="llama-8b", technique="baseline", country="FRA",
             host_id="h1", intensity_g_per_kwh=FRA,
             intensity_source=cc + "global_energy_mix (FRA)"),
        _run("r2-deu", "2026-08-01T00:00:00", 5, 5_000, pue=1.2, measured_kwh=4_000,
             project="chat", phase="inference", model="llama-8b", technique="int8",
             country="DEU", host_id="h2", intensity_g_per_kwh=DEU,
             intensity_source=cc + "global_energy_mix (DEU)",
             tokens_input=1_000_000_000, tokens_output=1_000_000_000,
             energy_by_kind={"gpu": {"energy_j": 4_000 * KWH, "method": "counter"},
                             "cpu": {"energy_j": 1_000 * KWH, "method": "model"}},
             flags=["estimated:cpu"]),
        _run("r3-cloud", "2026-08-15T12:00:00", 2, 2_000, project="search",
             phase="inference", model="bert", technique="fp16", cloud_provider="gcp",
             cloud_region="europe-west1", intensity_g_per_kwh=GCP_EW1,
             intensity_source=cc + "cloud gcp/europe-west1", tokens_output=500_000_000),
        _run("r4-usa", "2026-09-30T20:00:00", 8, 8_000, pue=1.1, project="search",
             phase="training", model="bert", technique="baseline", country="USA",
             region="california", host_id="h3", intensity_g_per_kwh=USA_CA,
             intensity_source=cc + "eGRID 2023 (USA/california)",
             tokens_input=4_000_000_000, flags=["sampling_gaps"]),
        _run("r5-gbr", "2026-06-30T18:00:00", 12, 12_000, project="chat",
             phase="fine-tuning", model="llama-8b", technique="lora", country="GBR",
             host_id="h4", intensity_g_per_kwh=GBR,
             intensity_source=cc + "global_energy_mix (GBR)", tokens_output=600_000_000,
             flags=["overlapping_root_runs"]),
        _run("r6-unk", "2026-09-01T00:00:00", 1, 1_000, measured_kwh=0, project="chat",
             phase="evaluation", host_id="h5", status="interrupted",
             intensity_g_per_kwh=WORLD,
             intensity_source=cc + "world average (location not set)",
             energy_by_kind={"cpu": {"energy_j": 1_000 * KWH, "method": "model"}},
             flags=["unknown_location", "estimated:cpu", "interrupted"]),
        _run("r7-child", "2026-07-10T01:00:00", 1, 1_000_000, parent_run_id="r1-fra",
             project="chat", country="FRA", host_id="h1", intensity_g_per_kwh=FRA),
        _run("r8-late", "2026-09-15T00:00:00", 1, 50_000, project="chat", country="FRA",
             host_id="h6", intensity_g_per_kwh=FRA),
        _run("r9-q2", "2026-05-10T00:00:00", 2, 2_000, pue=1.5, project="chat",
             phase="training", country="FRA", host_id="h1", intensity_g_per_kwh=FRA,
             intensity_source=cc + "global_energy_mix (FRA)"),
        _run("r10-2025", "2025-08-01T00:00:00", 1, 1_000, project="chat", phase="training",
             country="DEU", host_id="h2", intensity_g_per_kwh=DEU,
             intensity_source=cc + "global_energy_mix (DEU)"),
        _run("r11-other", "2026-08-20T00:00:00", 1, 100, project="other", country="DEU",
             host_id="h7", intensity_g_per_kwh=DEU,
             intensity_source=cc + "global_energy_mix (DEU)"),
        _run("r12-q4", "2026-10-02T00:00:00", 1, 3_000, project="chat", country="FRA",
             host_id="h1", intensity_g_per_kwh=FRA),
    ]  # fmt: skip


def series_rows() -> list[dict[str, Any]]:
    """r4's series: 240 one-minute buckets at 1.5 MW, then 4 one-hour buckets at 0.5 MW."""
    start = t("2026-09-30T20:00:00")
    rows = [
        {"run_id": "r4-usa", "host_id": "h3", "device_id": "gpu0", "tier": "1m",
         "ts": start + timedelta(minutes=m), "power_w": 1.5e6, "sample_count": 60}
        for m in range(240)
    ]  # fmt: skip
    midnight = t("2026-10-01T00:00:00")
    rows += [
        {"run_id": "r4-usa", "host_id": "h3", "device_id": "gpu0", "tier": "1h",
         "ts": midnight + timedelta(hours=h), "power_w": 5e5, "energy_j": 5e5 * 3600,
         "sample_count": 3600}
        for h in range(4)
    ]  # fmt: skip
    return rows


NODE_ROWS = [
    ("h1", "node", "counter", "2026-07-10T00:00:00", "2026-07-11T00:00:00", 12_000),
    ("h3", "node", "model", "2026-09-30T00:00:00", "2026-10-02T00:00:00", 16_000),
]


def seed(url: str) -> None:
    """Writes the runs (created when they end, r8 after the as-of), series and node rows."""
    clock = Clock()
    ledger = Ledger.open(url, clock=clock)
    try:
        for row in runs():
            clock.now = LATE_CREATED if row["id"] == "r8-late" else row["ended_at"]
            ledger.save_run({"run": row})
        ledger.add_series(series_rows())
        with ledger.engine.begin() as conn:
            conn.execute(
                sa.insert(schema.node_energy),
                [
                    {"host_id": h, "device_id": d, "kind": "node", "method": m,
                     "start_at": t(a), "end_at": t(b), "energy_j": kwh * KWH}
                    for h, d, m, a, b, kwh in NODE_ROWS
                ],
            )  # fmt: skip
    finally:
        ledger.close()


def _mix(family: int, energies: dict[str, float]) -> float:
    return math.fsum(kwh * MIX[c][family] for c, kwh in energies.items())


# Facility kWh per country in Q3 (Scope 2): FRA r1 15 000 + h1 idle 2 000 x 1.5;
# DEU r2 6 000 + r11 100; USA r4 6 000 x 1.1 + h3 idle 2 000 x 1.1; GBR r5 6 000.
Q3_FACILITY = {"FRA": 18_000.0, "DEU": 6_100.0, "USA": 8_800.0, "GBR": 6_000.0}

# Location-based g: facility kWh x g/kWh, line by line (r1, r2, r4, r5, r6, r11, h1, h3).
_LOC_G = [15_000 * FRA, 6_000 * DEU, 6_600 * USA_CA, 6_000 * GBR, 1_000 * WORLD,
          100 * DEU, 3_000 * FRA, 2_200 * USA_CA]  # fmt: skip
# Market-based: FRA lines at the contractual 20 g/kWh, the others at their location factor.
_MARKET_G = [15_000 * 20, 6_000 * DEU, 6_600 * USA_CA, 6_000 * GBR, 1_000 * WORLD,
             100 * DEU, 3_000 * 20, 2_200 * USA_CA]  # fmt: skip

EXPECTED: dict[str, Any] = {
    "runs_count": 7,  # r1..r6 and r11
    # 10 000 + 5 000 + 6 000 (3/4 of r4) + 6 000 (1/2 of r5) + 1 000 + 100 + 2 000 + 2 000
    "energy_it_kwh": 32_100.0,
    # 15 000 + 6 000 + 6 600 + 6 000 + 1 000 + 100 + 3 000 + 2 200
    "energy_facility_kwh": 39_900.0,
    "energy_facility_mwh": 39.9,
    "scope2_location_tco2e": math.fsum(_LOC_G) / 1e6,  # 6.808796
    "scope2_market_tco2e": math.fsum(_MARKET_G) / 1e6,  # 6.160094
    "scope2_market_basis": "contractual_or_supplier + location_based_proxy",
    "scope3_cloud_energy_it_kwh": 2_000.0,
    "scope3_cloud_energy_facility_kwh": 2_000.0,
    "scope3_cloud_tco2e": 0.244,  # 2 000 kWh x 122 g/kWh
    # measured: r1 10 000 + r2 4 000 + r4 6 000 + r5 6 000 + r11 100 + h1 2 000 (counter)
    "measured_share": 28_100 / 32_100,
    # tokens: r2 2e9 + r3 5e8 + r4 3e9 (3/4) + r5 3e8 (1/2)
    "tokens": 5_800_000_000,
    # IT kWh of the runs with tokens: 5 000 + 2 000 + 6 000 + 6 000
    "tokens_energy_it_kwh": 19_000.0,
    "kwh_per_million_tokens": 19_000 / 5_800,
    "water_l": 57_780.0,  # 32 100 kWh x 1.8 L/kWh
}
EXPECTED_COST = [{"currency": "EUR", "amount": 7_980.0}]  # 39 900 kWh x 0.2
EXPECTED_MIX = {
    "fossil_kwh": _mix(0, Q3_FACILITY),
    "nuclear_kwh": _mix(1, Q3_FACILITY),
    "renewable_kwh": _mix(2, Q3_FACILITY),
    "unknown_kwh": 1_000.0,  # r6
}
# Projects chat and search only: r1..r6, no node energy (it belongs to no project).
EXPECTED_CHAT_SEARCH = {
    "runs_count": 6,
    "energy_it_kwh": 28_000.0,
    "energy_facility_kwh": 34_600.0,
    "scope2_location_tco2e": (
        (15_000 * FRA + 6_000 * DEU + 6_600 * USA_CA + 6_000 * GBR + 1_000 * WORLD) / 1e6
    ),
    "scope2_market_tco2e": (
        (15_000 * 20 + 6_000 * DEU + 6_600 * USA_CA + 6_000 * GBR + 1_000 * WORLD) / 1e6
    ),
    "measured_share": 26_000 / 28_000,
}
# Q2: r9 (2 000 kWh IT, 3 000 facility) and r5's first half (6 000 kWh).
EXPECTED_Q2 = {
    "energy_it_kwh": 8_000.0,
    "energy_facility_kwh": 9_000.0,
    "scope2_location_tco2e": (3_000 * FRA + 6_000 * GBR) / 1e6,
    "scope2_market_tco2e": (3_000 * 20 + 6_000 * GBR) / 1e6,
    "scope3_cloud_tco2e": 0.0,
    "runs_count": 2,
    "measured_share": 1.0,
}
# 2025-Q3: r10 only.
EXPECTED_2025 = {
    "energy_it_kwh": 1_000.0,
    "energy_facility_kwh": 1_000.0,
    "scope2_location_tco2e": 0.38095,
    "runs_count": 1,
}


def _as_reported(expected: dict[str, Any]) -> dict[str, Any]:
    return {key: figure(v) if isinstance(v, float) else v for key, v in expected.items()}


# The report carries 12 significant digits: the hand-computed figures as it writes them.
EXPECTED = _as_reported(EXPECTED)
EXPECTED_MIX = _as_reported(EXPECTED_MIX)
EXPECTED_CHAT_SEARCH = _as_reported(EXPECTED_CHAT_SEARCH)
EXPECTED_Q2 = _as_reported(EXPECTED_Q2)
EXPECTED_2025 = _as_reported(EXPECTED_2025)
