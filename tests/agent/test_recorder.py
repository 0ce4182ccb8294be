"""What the agent writes to the ledger: node energy per interval (contiguous, exact,
written once whatever the retries), downsampled series, and job rows brought up to date."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from collectors.types import Kind, Method, Reading
from greenai.agent.config import AgentConfig
from greenai.agent.recorder import LedgerOutbox, SeriesBuckets, _write_node_rows
from greenai.agent.service import Agent
from greenai.errors import ConfigError
from greenai.ledger import Ledger, schema
from greenai.ledger.ranks import save_part
from tests.collectors.powercap_tree import server_tree
from tests.fleet.parts import part

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/ledger"


def _node_rows(url: str) -> list[dict[str, Any]]:
    with Ledger.open(url) as ledger, ledger.read() as conn:
        table = schema.node_energy
        query = sa.select(table).order_by(table.c.device_id, table.c.start_at)
        return [dict(r._mapping) for r in conn.execute(query)]


def test_intervals_are_contiguous_and_hold_the_nodes_exact_energy(
    fake_nvml, tmp_path: Path, ledger_url: str
) -> None:
    fake_nvml.set_count(2)
    fake_nvml.set_time(50.0)
    fake_nvml.set_constant(0, 300.0)
    fake_nvml.set_constant(1, 120.0)
    tree = server_tree(tmp_path / "rapl")
    config = AgentConfig(host_id="n1", port=0, address="127.0.0.1", db_url=ledger_url,
                         powercap_root=tree.root, repair_jobs=False)  # fmt: skip
    agent = Agent(config)
    agent.start()
    fake_nvml.set_time(60.0)
    tree.advance("intel-rapl:0", 4_000_000)
    agent.interval()
    fake_nvml.set_time(65.0)
    tree.advance("intel-rapl:0:1", 500_000)
    agent.interval()
    agent.close()  # the last, partial interval (nothing moved)

    rows = _node_rows(ledger_url)
    by_device: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_device.setdefault(row["device_id"], []).append(row)
    assert set(by_device) == {"gpu:0", "gpu:1", "cpu:package-0", "dram:package-0"}
    for device_rows in by_device.values():
        assert len(device_rows) == 3
        for before, after in itertools.pairwise(device_rows):
            assert before["end_at"] == after["start_at"]  # contiguous: nothing missed
    energy = {d: [r["energy_j"] for r in rs] for d, rs in by_device.items()}
    assert energy["gpu:0"] == pytest.approx([3000.0, 1500.0, 0.0], abs=0.002)
    assert energy["gpu:1"] == pytest.approx([1200.0, 600.0, 0.0], abs=0.002)
    assert energy["cpu:package-0"] == pytest.approx([4.0, 0.0, 0.0])
    assert energy["dram:package-0"] == pytest.approx([0.0, 0.5, 0.0])
    assert {(r["host_id"], r["kind"], r["method"]) for r in by_device["gpu:0"]} == {
        ("n1", "gpu", "counter")}  # fmt: skip


def test_rows_wait_while_the_ledger_is_down_then_are_written_once(tmp_path: Path) -> None:
    target = {"url": UNREACHABLE}
    outbox = LedgerOutbox(lambda: Ledger.open(target["url"]), repair_jobs=False)
    t0, t1 = datetime(2026, 7, 1, 10, tzinfo=UTC), datetime(2026, 7, 1, 10, 1, tzinfo=UTC)
    row = {"host_id": "n1", "device_id": "gpu:0", "kind": "gpu", "method": "counter",
           "start_at": t0, "end_at": t1, "energy_j": 42.0}  # fmt: skip
    series = {"run_id": "", "host_id": "n1", "device_id": "gpu:0", "tier": "1m", "ts": t0,
              "power_w": 0.7, "energy_j": 42.0, "sample_count": 60}  # fmt: skip
    outbox.add([row], [series])
    assert outbox.flush() is False and outbox.pending == 2 and outbox.failures == 1
    target["url"] = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert outbox.flush() is True and outbox.pending == 0
    outbox.add([row], [series])  # the same interval again (a retry after a lost answer)
    assert outbox.flush() is True
    outbox.close()
    assert [r["energy_j"] for r in _node_rows(target["url"])] == [42.0]
    with Ledger.open(target["url"]) as ledger, ledger.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.series)).scalar() == 1


def test_the_backlog_is_bounded(tmp_path: Path) -> None:
    outbox = LedgerOutbox(lambda: Ledger.open(UNREACHABLE), max_backlog=3, repair_jobs=False)
    rows = [{"host_id": "n", "device_id": f"d{i}"} for i in range(5)]
    outbox.add(rows, [])
    assert outbox.pending == 3 and outbox.dropped == 2


def test_an_interval_is_stored_once_on_each_backend(backend_url: str) -> None:
    t0, t1 = datetime(2026, 7, 1, 10, tzinfo=UTC), datetime(2026, 7, 1, 10, 1, tzinfo=UTC)
    row = {"host_id": "n1", "device_id": "gpu:0", "kind": "gpu", "method": "counter",
           "start_at": t0, "end_at": t1, "energy_j": 42.0}  # fmt: skip
    with Ledger.open(backend_url) as ledger:
        _write_node_rows(ledger, [row])
        _write_node_rows(ledger, [row, {**row, "device_id": "gpu:1"}])
    assert [(r["device_id"], r["energy_j"]) for r in _node_rows(backend_url)] == [
        ("gpu:0", 42.0), ("gpu:1", 42.0)]  # fmt: skip


def _reading(t: float, power_w: float, energy_j: float | None) -> Reading:
    method = Method.COUNTER if energy_j is not None else Method.POWER
    return Reading("gpu:0", Kind.GPU, t, power_w, energy_j, method)


def test_series_buckets_hold_mean_power_and_the_energy_that_went_by() -> None:
    buckets = SeriesBuckets("n1", "1s", 1, wall_minus_mono_s=lambda: 1000.0)
    buckets.add([_reading(0.1, 100.0, 10.0)])
    buckets.add([_reading(0.6, 200.0, 85.0)])
    buckets.add([_reading(1.1, 300.0, 210.0)])
    assert buckets.take(1001.0) == [
        {"run_id": "", "host_id": "n1", "device_id": "gpu:0", "tier": "1s",
         "ts": datetime.fromtimestamp(1000, UTC), "power_w": 150.0, "energy_j": 75.0,
         "sample_count": 2}]  # fmt: skip
    (last,) = buckets.take(1001.5, final=True)
    assert last["power_w"] == 300.0 and last["energy_j"] == 125.0 and last["sample_count"] == 1
    assert buckets.take(5000.0, final=True) == []


def test_the_agent_brings_job_rows_up_to_date(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        save_part(ledger, part("j", 0, "a", [("gpu:0", "gpu", 100.0, 1.0)], world_size=2))
        ledger.save_run(part("j", 1, "b", [("gpu:0", "gpu", 70.0, 1.0)], world_size=2))
    outbox = LedgerOutbox(lambda: Ledger.open(ledger_url))
    assert outbox.flush() is True and outbox.repaired_jobs == ["j"]
    outbox.close()
    with Ledger.open(ledger_url) as ledger:
        job = ledger.get_run("j")
    assert job is not None and job["run"]["energy_j"] == 170.0


def test_configuration_mistakes_name_the_key() -> None:
    with pytest.raises(ConfigError, match="interval"):
        AgentConfig(host_id="n", interval_s=0)
    with pytest.raises(ConfigError, match="series_tier"):
        AgentConfig(host_id="n", series_tier="5 minutes")
    with pytest.raises(ConfigError, match="port"):
        AgentConfig(host_id="n", port=70000)
    with pytest.raises(ConfigError, match="host_id"):
        AgentConfig(host_id="a b")
