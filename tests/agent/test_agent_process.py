"""``greenai agent`` as a node runs it: a process reading the fake NVML library, serving
metrics on a loopback port, writing node energy, stopping cleanly on SIGTERM."""

from __future__ import annotations

import itertools
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from greenai.ledger import Ledger, schema
from tests.agent.process import GREENAI, start_agent, stop_agent
from tests.agent.scrape import device, scrape
from tests.fake_nvml.driver import subprocess_env


def test_the_agent_serves_records_and_stops_cleanly_on_sigterm(
    fake_nvml_library: Path, ledger_url: str
) -> None:
    process, port = start_agent(
        fake_nvml_library, "--interval", "1", "--series", "1s", "--db", ledger_url
    )
    first = scrape(port)
    energy = device("greenai_device_energy_joules_total", process_host(first), "gpu:1", "gpu",
                    "counter")  # fmt: skip
    while scrape(port)[energy] - first[energy] < 250.0:  # 2.5 s at 100 W (bounded: --duration)
        assert process.poll() is None
        time.sleep(0.2)
    code, err = stop_agent(process)
    assert code == 0, err[-2000:]
    table, series_table = schema.node_energy, schema.series
    with Ledger.open(ledger_url) as ledger, ledger.read() as conn:
        query = sa.select(table).where(table.c.device_id == "gpu:1").order_by(table.c.start_at)
        rows = [dict(r._mapping) for r in conn.execute(query)]
        count = sa.select(sa.func.count()).select_from(series_table)
        series = conn.execute(count.where(series_table.c.run_id == "")).scalar()
    assert len(rows) >= 3 and series
    for before, after in itertools.pairwise(rows):
        assert before["end_at"] == after["start_at"]
    span_s = (rows[-1]["end_at"] - rows[0]["start_at"]).total_seconds()
    assert sum(r["energy_j"] for r in rows) / span_s == pytest.approx(100.0, rel=0.02)


def process_host(found: dict[tuple[str, Any], float]) -> str:
    """The host label the agent uses (this machine's name)."""
    return str(
        next(dict(labels)["host"] for (name, labels) in found if name.startswith("greenai_"))
    )


def test_a_port_in_use_is_a_one_line_error(fake_nvml_library: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = subprocess_env(fake_nvml_library)
        done = subprocess.run(
            [*GREENAI, "agent", "--port", str(port), "--address", "127.0.0.1", "--no-ledger"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(f"greenai: error: invalid port={port}")


def test_a_bad_interval_is_refused_before_anything_starts() -> None:
    done = subprocess.run([*GREENAI, "agent", "--interval", "0", "--no-ledger"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == ("greenai: error: invalid interval=0.0: a number of seconds > 0")
