"""Dashboard on a large ledger: 10,000 runs over a year plus node power series of 16
devices in the ledger's tiers (1 s for 7 days, about 10 million rows; 1 min to 90 days;
1 h to a year). Reports the generation time and the ledger's size on disk, then the
AppTest run time of the Overview and Compare pages (target: at most 2 s each), cold
(empty caches) and warm, against the peer measured in the same run: reading the same
runs with the query layer alone.

``python -m benchmarks.dashboard_bench --series-1s-days 1`` generates less (the 1 s tier
is 1.38 million rows per day); the printed figures say what was generated.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, print_table
from greenai.figures.units import emissions_kg

RUNS = 10_000
DAYS = 365
HOSTS = ("node-a", "node-b")
GPUS_PER_HOST = 8
BATCH = 200_000
SERIES_SQL = (
    "INSERT INTO series (run_id, host_id, device_id, tier, ts, power_w, energy_j, sample_count)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# How SQLAlchemy stores a DateTime in SQLite (naive UTC, as greenai's UtcDateTime does).
SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"

MODELS = ("llama-3.1-8b", "llama-3.1-70b", "mistral-7b", "qwen2.5-14b")
TECHNIQUES = {"baseline": 1.0, "int8": 0.65, "fp8": 0.75, "int4": 0.55}
HARDWARE = {"NVIDIA H100 80GB HBM3 x1": 1.0, "NVIDIA A100-SXM4-40GB x1": 1.6}
BATCHES = {1: 4.0, 8: 1.0, 64: 0.3, 256: 0.18}
PROJECTS = ("chat", "search", "assistant", "research", "vision", "ops")
PHASES = ("inference", "inference", "inference", "training", "fine-tuning", "evaluation")


def _run(rng: random.Random, i: int, now: datetime) -> dict[str, Any]:
    """One run row with consistent totals (J/token set by model, technique, batch)."""
    base = rng.choice(MODELS)
    technique = rng.choice(list(TECHNIQUES))
    hardware = rng.choice(list(HARDWARE))
    batch = rng.choice(list(BATCHES))
    phase = rng.choice(PHASES)
    tokens = rng.randint(50_000, 2_000_000) if phase in ("inference", "evaluation") else 0
    j_per_token = 0.4 * TECHNIQUES[technique] * HARDWARE[hardware] * BATCHES[batch]
    energy = tokens * j_per_token * rng.uniform(0.9, 1.1) if tokens else rng.uniform(1e5, 5e7)
    started = now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
    gpu_j = 0.85 * energy
    return {
        "id": f"run-{i:05d}", "parent_run_id": None, "status": "completed",
        "name": f"job {i}", "project": rng.choice(PROJECTS), "phase": phase,
        "model": base if technique == "baseline" else f"{base}-{technique}",
        "base_model": base, "technique": technique, "hardware": hardware,
        "batch_size": batch, "seq_len": rng.choice((512, 2048)), "tags": {"team": "bench"},
        "started_at": started, "ended_at": started + timedelta(seconds=600),
        "duration_s": 600.0, "energy_j": energy, "facility_energy_j": energy * 1.2, "pue": 1.2,
        "energy_gpu_j": gpu_j, "energy_cpu_j": energy - gpu_j,
        "energy_by_kind": {"gpu": {"energy_j": gpu_j, "method": "counter"},
                           "cpu": {"energy_j": energy - gpu_j, "method": "model"}},
        "measured_energy_j": gpu_j, "tokens_input": tokens // 4, "tokens_output": tokens,
        "emissions_kg": emissions_kg(energy * 1.2, 56.0), "intensity_g_per_kwh": 56.0,
        "intensity_source": "codecarbon:FRA", "country": "FRA", "host_id": rng.choice(HOSTS),
        "attribution": "compute-processes", "flags": [], "created_at": now, "updated_at": now,
    }  # fmt: skip


def _children(run: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Devices, windows (prefill and decode of token runs) and a quality metric."""
    rid, start, energy = run["id"], run["started_at"], run["energy_j"]
    out: dict[str, list[dict[str, Any]]] = {
        "devices": [
            {"run_id": rid, "device_id": "gpu:0", "host_id": run["host_id"], "kind": "gpu",
             "method": "counter", "energy_j": run["energy_gpu_j"], "share": 1.0},
            {"run_id": rid, "device_id": "cpu:0", "host_id": run["host_id"], "kind": "cpu",
             "method": "model", "energy_j": run["energy_cpu_j"], "share": 0.5},
        ],
        "windows": [],
        "metrics": [],
    }  # fmt: skip
    if run["tokens_output"]:
        middle = start + timedelta(seconds=60)
        out["windows"] = [
            {"id": f"{rid}-p", "run_id": rid, "name": "prefill", "started_at": start,
             "ended_at": middle, "duration_s": 60.0, "energy_j": 0.15 * energy,
             "energy_by_kind": {}, "tokens_input": run["tokens_input"], "tokens_output": 0,
             "samples": 0, "flags": []},
            {"id": f"{rid}-d", "run_id": rid, "name": "decode", "started_at": middle,
             "ended_at": run["ended_at"], "duration_s": 540.0, "energy_j": 0.85 * energy,
             "energy_by_kind": {}, "tokens_input": 0, "tokens_output": run["tokens_output"],
             "samples": 0, "flags": []},
        ]  # fmt: skip
        quality = 0.80 - 0.02 * list(TECHNIQUES).index(run["technique"])
        out["metrics"] = [{"run_id": rid, "name": "accuracy", "value": quality, "step": 1,
                           "logged_at": start}]  # fmt: skip
    return out


def _insert_runs(engine: Any, runs: int, now: datetime) -> None:
    import sqlalchemy as sa

    from greenai.ledger import schema

    rng = random.Random(7)
    rows = [_run(rng, i, now) for i in range(runs)]
    for i, row in enumerate(rows):  # 5% are child runs (breakdowns of another run)
        if i % 20 == 19:
            row["parent_run_id"] = rows[i - 1]["id"]
    children: dict[str, list[dict[str, Any]]] = {"devices": [], "windows": [], "metrics": []}
    for row in rows:
        for key, values in _children(row).items():
            children[key].extend(values)
    tables = {"devices": schema.run_devices, "windows": schema.windows, "metrics": schema.metrics}
    runs_t, names = schema.runs, [c.name for c in schema.runs.columns]
    final = sa.select(  # each final run's first revision, as the ledger's writers keep it
        *runs_t.c, sa.literal(1), runs_t.c.created_at, sa.literal("generated")
    ).where(runs_t.c.status != "running")
    with engine.begin() as conn:
        for start in range(0, len(rows), 2000):
            conn.execute(sa.insert(schema.runs), rows[start : start + 2000])
        columns = [*names, "revision", "recorded_at", "reason"]
        conn.execute(sa.insert(schema.run_revisions).from_select(columns, final))
        for key, table in tables.items():
            for start in range(0, len(children[key]), 5000):
                conn.execute(sa.insert(table), children[key][start : start + 5000])


def _tiers(days_1s: float) -> list[tuple[str, int, float, float]]:
    """(tier, step s, from day, to day) back from now: 1 s, 1 min from day 7, 1 h from day 90."""
    return [("1s", 1, 0.0, days_1s), ("1m", 60, 7.0, 90.0), ("1h", 3600, 90.0, float(DAYS))]


def _series_rows(now: datetime, days_1s: float) -> Iterator[tuple[Any, ...]]:
    """Node series of 16 GPUs, oldest first as an agent writes them; one timestamp
    string per bucket."""
    devices = [(host, f"gpu:{g}") for host in HOSTS for g in range(GPUS_PER_HOST)]
    newest = now.replace(microsecond=0)
    for tier, step, first_day, last_day in reversed(_tiers(days_1s)):
        t, end = newest - timedelta(days=last_day), newest - timedelta(days=first_day)
        k = 0
        while t < end:
            ts = t.strftime(SQLITE_TS)
            for n, (host, device) in enumerate(devices):
                power = 250.0 + 15.0 * ((k + n * 7) % 11)
                yield ("", host, device, tier, ts, power, power * step, step)
            t += timedelta(seconds=step)
            k += 1


def _insert_series(engine: Any, now: datetime, days_1s: float) -> int:
    """Bulk insert through SQLAlchemy Core's executemany (DBAPI rows, SQLite format)."""
    count = 0
    batch: list[tuple[Any, ...]] = []
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA cache_size = -400000")  # 400 MB for the index pages
        for row in _series_rows(now, days_1s):
            batch.append(row)
            if len(batch) == BATCH:
                conn.exec_driver_sql(SERIES_SQL, batch)
                count += len(batch)
                batch = []
        if batch:
            conn.exec_driver_sql(SERIES_SQL, batch)
            count += len(batch)
    return count


def _disk_mb(path: Path) -> float:
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return sum(f.stat().st_size for f in files if f.exists()) / 1e6


def _time_page(url: str, page: str, period: str) -> tuple[float, float]:
    """AppTest run time of ``page`` with empty caches, then again (cached data)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import dashboard.charts
    import dashboard.data  # noqa: F401 - a running server has its modules loaded: time pages only

    app = REPO / "dashboard" / "app.py"
    os.environ["GREENAI_DB_URL"] = url
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(app), default_timeout=600)
    at.session_state["period"] = period
    times = []
    for _ in range(2):
        if page != "overview":
            at.switch_page(f"views/{page}.py")
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
        if at.exception:
            raise RuntimeError(f"{page} failed: {at.exception[0].message}")
    return times[0], times[1]


def _peer(url: str, days: int | None) -> float:
    """The query layer alone: reading the runs the page reads, fresh connection."""
    from greenai.ledger import Ledger
    from greenai.queries import RunFilter, runs_frame

    now = datetime.now(UTC)
    flt = RunFilter(start=now - timedelta(days=days) if days else None)
    with Ledger.open(url) as ledger:
        started = time.perf_counter()
        runs_frame(ledger, flt)
        return time.perf_counter() - started


def _generate(url: str, runs: int, series_1s_days: float) -> tuple[float, int, float]:
    """Writes the ledger; returns (runs s, series rows, series s)."""
    from greenai.ledger import Ledger

    now = datetime.now(UTC)
    ledger = Ledger.open(url)
    try:
        started = time.perf_counter()
        _insert_runs(ledger.engine, runs, now)
        runs_s = time.perf_counter() - started
        started = time.perf_counter()
        rows = _insert_series(ledger.engine, now, series_1s_days)
        series_s = time.perf_counter() - started
        raw = ledger.engine.raw_connection()  # outside any transaction: fold the WAL in
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    finally:
        ledger.close()
    return runs_s, rows, series_s


def _measure(path: Path, runs: int, series_1s_days: float) -> None:
    url = f"sqlite:///{path}"
    runs_s, rows, series_s = _generate(url, runs, series_1s_days)
    print_table(
        "Dashboard benchmark: generated ledger (SQLite)",
        ["runs", "series rows", "1 s tier days", "runs s", "series s", "rows/s", "size MB"],
        [[runs, rows, series_1s_days, runs_s, series_s, rows / series_s, _disk_mb(path)]],
    )
    table = []
    for period, days in (("Last 30 days", 30), ("All time", None)):
        peer = _peer(url, days)
        for page in ("overview", "compare"):
            cold, warm = _time_page(url, page, period)
            table.append([page, period, cold, warm, "yes" if max(cold, warm) <= 2.0 else "NO",
                          cold / peer])  # fmt: skip
    print_table(
        "Dashboard benchmark: AppTest run time (s), target <= 2 s",
        ["page", "period", "cold s", "warm s", "<= 2 s", "cold / query-layer read"],
        table,
    )


def main(runs: int = RUNS, series_1s_days: float = 7.0, folder: Path | None = None) -> None:
    """Generates the ledger (in ``folder``, kept; else a temporary folder, removed) and
    prints the generation figures and the page times."""
    workdir = Path(folder or tempfile.mkdtemp(prefix="greenai-dash-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        _measure(workdir / "ledger.db", runs, series_1s_days)
    finally:
        if folder is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"ledger kept in {workdir}" if folder else "(temporary ledger removed)")


def _cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--series-1s-days", type=float, default=7.0)
    parser.add_argument("--keep", type=Path, help="write the ledger in this folder and keep it")
    args = parser.parse_args()
    main(args.runs, args.series_1s_days, args.keep)


if __name__ == "__main__":
    _cli()
