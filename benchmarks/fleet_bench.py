"""Fleet scale: ledger ingest into PostgreSQL against SQLite, and the agent's scrape latency.

Ingest: ``PROCESSES`` processes write ``RUNS`` run records each at once (2 devices and a
60-sample power series per run), into a SQLite file and into a throw-away PostgreSQL
database (``GREENAI_BENCH_PG_URL``, default postgres@127.0.0.1:5432), plus the parts of
multi-rank jobs (``save_part``: part and job row in one transaction under the job's
lock). Figures: runs/s and series samples/s, and PostgreSQL / SQLite.

Scrape: an agent process reads 8 fake GPUs (the fake NVML library) plus this machine's
CPU and DRAM at every scrape; its /metrics is fetched ``SCRAPES`` times. The peer is a
bare prometheus_client endpoint serving the same series from memory, in the same run.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import statistics
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, fake_nvml_env, print_table

PROCESSES = 4
RUNS = 100
SAMPLES = 60
SCRAPES = 200
PG_URL = os.environ.get(
    "GREENAI_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
_CTX = multiprocessing.get_context("fork")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _record(worker: int, i: int) -> dict[str, Any]:
    return {
        "run": {"id": f"b{worker}-{i}", "status": "completed", "started_at": T0,
                "energy_j": 2.0, "host_id": f"h{worker}"},
        "devices": [{"device_id": f"gpu:{d}", "kind": "gpu", "method": "counter",
                     "energy_j": 1.0} for d in range(2)],
    }  # fmt: skip


def _series(worker: int, i: int) -> list[dict[str, Any]]:
    return [
        {"run_id": f"b{worker}-{i}", "host_id": f"h{worker}", "device_id": "gpu:0",
         "tier": "1s", "ts": T0 + timedelta(seconds=s), "power_w": 300.0}
        for s in range(SAMPLES)
    ]  # fmt: skip


def _part(worker: int, job: int) -> dict[str, Any]:
    return {
        "run": {"id": f"job{job}/rank{worker}", "parent_run_id": f"job{job}", "rank": worker,
                "world_size": PROCESSES, "status": "completed", "started_at": T0,
                "energy_j": 1.0, "host_id": f"h{worker}"},
        "devices": [{"device_id": "gpu:0", "host_id": f"h{worker}", "kind": "gpu",
                     "method": "counter", "energy_j": 1.0}],
    }  # fmt: skip


def _writer(url: str, worker: int, kind: str, barrier: Any) -> None:
    from greenai.ledger import Ledger
    from greenai.ledger.ranks import save_part

    with Ledger.open(url) as ledger:
        barrier.wait()
        for i in range(RUNS):
            if kind == "parts":
                save_part(ledger, _part(worker, i))
            else:
                ledger.save_run(_record(worker, i))
                ledger.add_series(_series(worker, i))


def _ingest(url: str, kind: str) -> float:
    """Wall seconds for every process to write its records."""
    from greenai.ledger import upgrade

    upgrade(url)
    barrier = _CTX.Barrier(PROCESSES + 1)
    workers = [_CTX.Process(target=_writer, args=(url, w, kind, barrier)) for w in range(PROCESSES)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join(600)
    elapsed = time.perf_counter() - start
    if any(w.exitcode != 0 for w in workers):
        raise RuntimeError(f"an ingest worker failed ({kind} into {url})")
    return elapsed


def _pg_database() -> tuple[str, Any] | None:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT",
                             connect_args={"connect_timeout": 5})  # fmt: skip
    name = f"greenai_bench_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL unreachable at {PG_URL}: {str(exc).splitlines()[0]}")
        admin.dispose()
        return None
    url = sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url, drop


def ingest_rows() -> list[list[object]]:
    """One row per backend and kind: runs/s, samples/s, ratio to SQLite."""
    results: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="greenai-bench-ledger-") as name:
        for kind in ("runs", "parts"):
            results[("sqlite", kind)] = _ingest(f"sqlite:///{Path(name) / f'{kind}.db'}", kind)
    pg = _pg_database()
    if pg is not None:
        url, drop = pg
        try:
            for kind in ("runs", "parts"):
                results[("postgresql", kind)] = _ingest(url, kind)
        finally:
            drop()
    total = PROCESSES * RUNS
    rows: list[list[object]] = []
    for (backend, kind), elapsed_s in results.items():
        sqlite_s = results[("sqlite", kind)]
        samples = total * SAMPLES / elapsed_s if kind == "runs" else "-"
        rows.append([backend, kind, PROCESSES, total, elapsed_s, total / elapsed_s, samples,
                     sqlite_s / elapsed_s])  # fmt: skip
    return rows


def _latencies_ms(port: int) -> list[float]:
    url = f"http://127.0.0.1:{port}/metrics"
    out = []
    for _ in range(SCRAPES):
        start = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def _peer_server() -> tuple[Any, int]:
    """A bare prometheus_client endpoint: the same series, from memory."""
    from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

    registry = CollectorRegistry()
    labels = ("host", "device", "kind", "method")
    power = Gauge("greenai_device_power_watts", "W", labels, registry=registry)
    energy = Counter("greenai_device_energy_joules", "J", labels, registry=registry)
    usage = Gauge("greenai_device_utilization_ratio", "0..1", labels, registry=registry)
    for device in [f"gpu:{i}" for i in range(8)] + ["cpu:model", "dram:model"]:
        key = ("bench", device, device.split(":")[0], "counter")
        power.labels(*key).set(300.0)
        energy.labels(*key).inc(1000.0)
        usage.labels(*key).set(0.5)
    server, _thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    return server, int(server.server_address[1])


def scrape_rows() -> list[list[object]]:
    """Agent (8 fake GPUs, read at each scrape) against the bare endpoint."""
    import signal
    import subprocess
    import sys

    env = fake_nvml_env(8)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    agent = subprocess.Popen(
        [sys.executable, "-m", "greenai.cli.main", "agent", "--port", "0", "--address",
         "127.0.0.1", "--no-ledger", "--duration", "600"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        line = agent.stdout.readline() if agent.stdout else ""
        agent_ms = _latencies_ms(int(line.rsplit(":", 1)[1].split("/")[0]))
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(60)
    server, port = _peer_server()
    try:
        peer_ms = _latencies_ms(port)
    finally:
        server.shutdown()
        server.server_close()
    rows: list[list[object]] = []
    for name, values in (("greenai agent, 8 GPUs + CPU + DRAM", agent_ms),
                         ("bare prometheus_client, same series", peer_ms)):  # fmt: skip
        q = statistics.quantiles(values, n=100)
        rows.append([name, SCRAPES, statistics.median(values), q[94], max(values),
                     statistics.median(values) / statistics.median(peer_ms)])  # fmt: skip
    return rows


def main() -> None:
    """Run both benchmarks and print their tables."""
    print_table(
        f"Ledger ingest, {PROCESSES} processes at once ({RUNS} each, {SAMPLES} samples per run)",
        ["backend", "records", "processes", "count", "seconds", "per s", "samples/s",
         "x SQLite"],
        ingest_rows(),
    )  # fmt: skip
    print_table(
        f"Agent scrape latency ({SCRAPES} scrapes, ms)",
        ["endpoint", "scrapes", "median", "p95", "max", "x bare"],
        scrape_rows(),
    )


if __name__ == "__main__":
    main()
