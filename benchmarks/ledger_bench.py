"""Ledger write throughput on SQLite: runs/s (a run with devices, windows and metrics)
and power samples/s; against CodeCarbon's own output (FileOutput appending one row per
run to emissions.csv) measured in the same run."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import print_table

RUNS = 500
SAMPLES = 200_000
BATCH = 2_000


def _record(i: int) -> dict[str, Any]:
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i)
    devices = [
        {"device_id": f"gpu:{g}", "kind": "gpu", "method": "counter", "energy_j": 1000.0 + g}
        for g in range(8)
    ] + [{"device_id": "cpu:model", "kind": "cpu", "method": "model", "energy_j": 50.0}]
    windows = [
        {"id": f"w{i}-{n}", "name": name, "started_at": start, "ended_at": start,
         "duration_s": 1.0, "energy_j": 10.0, "tokens_output": 100}
        for n, name in enumerate(("prefill", "decode"))
    ]  # fmt: skip
    run = {
        "id": f"bench-{i}", "status": "completed", "started_at": start,
        "ended_at": start + timedelta(seconds=60), "duration_s": 60.0, "energy_j": 8078.0,
        "facility_energy_j": 8078.0, "tokens_output": 1000, "project": "bench",
        "energy_by_kind": {"gpu": {"energy_j": 8028.0, "method": "counter"}},
    }  # fmt: skip
    metrics = [{"name": "perplexity", "value": 12.0, "logged_at": start}]
    return {"run": run, "devices": devices, "windows": windows, "metrics": metrics}


def _greenai(folder: Path) -> tuple[float, float]:
    from greenai.ledger import Ledger

    ledger = Ledger.open(f"sqlite:///{folder / 'ledger.db'}")
    records = [_record(i) for i in range(RUNS)]
    t0 = time.perf_counter()
    for record in records:
        ledger.save_run(record)
    runs_s = RUNS / (time.perf_counter() - t0)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {"run_id": "bench-0", "device_id": f"gpu:{n % 16}", "tier": "1s",
         "ts": base + timedelta(seconds=n // 16), "power_w": 300.0}
        for n in range(SAMPLES)
    ]  # fmt: skip
    t0 = time.perf_counter()
    for i in range(0, SAMPLES, BATCH):
        ledger.add_series(rows[i : i + BATCH])
    samples_s = SAMPLES / (time.perf_counter() - t0)
    ledger.close()
    return runs_s, samples_s


def _codecarbon(folder: Path) -> float:
    from codecarbon.output_methods.emissions_data import EmissionsData
    from codecarbon.output_methods.file import FileOutput

    out = FileOutput("emissions.csv", str(folder))
    data = EmissionsData(
        timestamp="2026-01-01T00:00:00", project_name="bench", run_id="r", experiment_id="e",
        duration=60.0, emissions=0.001, emissions_rate=0.0, cpu_power=10.0, gpu_power=300.0,
        ram_power=5.0, cpu_energy=0.001, gpu_energy=0.002, ram_energy=0.0001,
        energy_consumed=0.003, water_consumed=0.0, country_name="France", country_iso_code="FRA",
        region="", cloud_provider="", cloud_region="", os="Linux", python_version="3.11",
        codecarbon_version="3.3.2", cpu_count=2, cpu_model="x", gpu_count=8, gpu_model="y",
        longitude=0.0, latitude=0.0, ram_total_size=16.0, tracking_mode="machine",
    )  # fmt: skip
    t0 = time.perf_counter()
    for i in range(RUNS):
        data.run_id = f"r{i}"
        out.out(data, data)
    return RUNS / (time.perf_counter() - t0)


def main() -> dict[str, float]:
    """Write runs and samples; print throughput against CodeCarbon's CSV output."""
    with tempfile.TemporaryDirectory() as tmp:
        runs_s, samples_s = _greenai(Path(tmp))
        cc_runs_s = _codecarbon(Path(tmp))
    print_table(
        "Ledger write throughput (SQLite, WAL)",
        ["measure", "greenai", "CodeCarbon (emissions.csv)", "ratio"],
        [
            ["runs/s (9 devices, 2 windows, 1 metric each)", f"{runs_s:.0f}",
             f"{cc_runs_s:.0f}", f"{runs_s / cc_runs_s:.2f}"],
            ["power samples/s (batches of 2,000)", f"{samples_s:.0f}", "(keeps no series)", ""],
        ],
    )  # fmt: skip
    return {"runs_s": runs_s, "samples_s": samples_s, "codecarbon_runs_s": cc_runs_s}


if __name__ == "__main__":
    main()
