"""The agent's Prometheus endpoint: every GPU of the node and its CPU/DRAM, read at each
scrape, against the fake NVML library (in this process, its time driven by the test)
and a fake RAPL tree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from greenai.agent.config import AgentConfig
from greenai.agent.service import Agent
from tests.agent.scrape import device, scrape
from tests.collectors.powercap_tree import server_tree

ENERGY = "greenai_device_energy_joules_total"
POWER = "greenai_device_power_watts"


@pytest.fixture
def node(fake_nvml, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, ...]]:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")  # a job's view: the agent ignores it
    fake_nvml.set_count(3)
    fake_nvml.set_time(100.0)
    for i in range(3):
        fake_nvml.set_constant(i, 100.0 + 50.0 * i)
    tree = server_tree(tmp_path / "rapl")
    config = AgentConfig(host_id="node-x", port=0, address="127.0.0.1", record=False,
                         powercap_root=tree.root)  # fmt: skip
    agent = Agent(config)
    port = agent.start()
    try:
        yield agent, port, fake_nvml, tree
    finally:
        agent.close()


def test_every_gpu_and_the_machine_cpu_with_their_labels(node) -> None:
    _agent, port, _fake, _tree = node
    found = scrape(port)
    for i in range(3):
        assert found[device(POWER, "node-x", f"gpu:{i}", "gpu", "counter")] == 100.0 + 50.0 * i
        assert device(ENERGY, "node-x", f"gpu:{i}", "gpu", "counter") in found
    assert device(ENERGY, "node-x", "cpu:package-0", "cpu", "counter") in found
    assert device(ENERGY, "node-x", "dram:package-0", "dram", "counter") in found
    up = {dict(labels)["collector"]: v for (name, labels), v in found.items()
          if name == "greenai_collector_up"}  # fmt: skip
    assert up["nvml"] == 1.0 and up["rapl"] == 1.0


def test_energy_counters_are_read_at_the_scrape(node) -> None:
    _agent, port, fake, tree = node
    gpu1 = device(ENERGY, "node-x", "gpu:1", "gpu", "counter")
    cpu = device(ENERGY, "node-x", "cpu:package-0", "cpu", "counter")
    before = scrape(port)
    fake.set_time(112.0)
    tree.advance("intel-rapl:0", 7_250_000)
    after = scrape(port)
    assert after[gpu1] - before[gpu1] == pytest.approx(150.0 * 12.0, abs=0.002)
    assert after[cpu] - before[cpu] == pytest.approx(7.25, abs=1e-9)


def test_utilization_as_a_ratio(node) -> None:
    _agent, port, fake, _tree = node
    fake.set_utilization(2, 40, 10)
    found = scrape(port)
    assert found[device("greenai_device_utilization_ratio", "node-x", "gpu:2", "gpu",
                        "counter")] == pytest.approx(0.4)  # fmt: skip


def test_a_lost_gpu_and_a_failing_collector_leave_the_rest_measured(node) -> None:
    _agent, port, fake, tree = node
    fake.set_lost(0, True)
    (tree.zones["intel-rapl:0:1"].path / "energy_uj").unlink()  # DRAM counter unreadable
    fake.set_time(110.0)
    found = scrape(port)
    assert device(ENERGY, "node-x", "gpu:0", "gpu", "counter") not in found
    assert found[("greenai_device_lost", (("device", "gpu:0"), ("host", "node-x")))] == 1.0
    assert device(ENERGY, "node-x", "gpu:1", "gpu", "counter") in found
    assert device(ENERGY, "node-x", "cpu:package-0", "cpu", "counter") in found
    again = scrape(port)  # still serving
    assert device(ENERGY, "node-x", "gpu:2", "gpu", "counter") in again
