"""A job's GPU energy from the node agents' counters through a real Prometheus, against
the ledger; and the arithmetic on raw counter samples (interpolation, resets, edges)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from greenai.fleet.prometheus_energy import (
    compare_with_ledger,
    corrected,
    counter_at,
    window_energy,
)
from greenai.ledger import Ledger
from tests.agent.process import GREENAI, start_agent, stop_agent
from tests.fleet.launch import finish, rank_env, start_rank, wait_for
from tests.fleet.parts import part
from tests.fleet.prometheus_server import PrometheusServer

NODES = {"node-a": 200.0, "node-b": 300.0}
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana-dashboard.json"


def check_dashboard_queries(prometheus: PrometheusServer) -> None:
    """Every query of the Grafana dashboard is valid PromQL; those on devices find data."""
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel["targets"]:
            expr = target["expr"].replace("$host", ".*").replace("$__range", "5m")
            result = prometheus.query(expr)
            if "greenai_device_" in expr:
                assert result, f"{panel['title']}: {expr} found nothing"


def test_the_counter_between_raw_samples_is_interpolated() -> None:
    samples = [(10.0, 100.0), (11.0, 300.0), (12.0, 500.0)]
    assert counter_at(samples, 10.25) == (150.0, False)
    assert counter_at(samples, 12.0) == (500.0, False)
    assert counter_at(samples, 9.0) == (100.0, True)  # before the first sample: partial
    assert window_energy(samples, 10.5, 11.75) == (250.0, 0, False)


def test_a_counter_reset_restarts_from_zero() -> None:
    samples = [(0.0, 1000.0), (1.0, 1200.0), (2.0, 50.0), (3.0, 250.0)]
    fixed, resets = corrected(samples)
    assert resets == 1 and fixed == [(0.0, 1000.0), (1.0, 1200.0), (2.0, 1250.0), (3.0, 1450.0)]
    assert window_energy(samples, 0.0, 3.0) == (450.0, 1, False)


def test_job_energy_from_prometheus_agrees_with_the_ledger(
    fake_nvml_library: Path, tmp_path: Path, ledger_url: str
) -> None:
    agents = {
        host: start_agent(
            fake_nvml_library, "--no-ledger", power_w=str(power), env={"GREENAI_HOST_ID": host}
        )
        for host, power in NODES.items()
    }
    prometheus = PrometheusServer(
        tmp_path / "prometheus", [f"127.0.0.1:{p}" for _, p in agents.values()]
    )
    try:
        energy = "greenai_device_energy_joules_total"
        gpus = energy + '{kind="gpu"}'  # each agent also serves its CPU and DRAM estimates
        wait_for(lambda: len(prometheus.query(gpus)) == 4, "both agents scraped")
        ranks = {}
        for rank, (host, power) in enumerate(NODES.items()):
            extra = {"TEST_POWER_W_0": str(power), "TEST_POWER_W_1": str(power)}
            env = rank_env(fake_nvml_library, job="jp", rank=rank, world_size=2, local_rank=0,
                           local_world_size=1, host=host, db_url=ledger_url,
                           extra=extra)  # fmt: skip
            ranks[rank] = start_rank(tmp_path, env)
        wait_for(lambda: all((tmp_path / f"ready-{r}").exists() for r in ranks), "2 ranks")
        time.sleep(3.0)  # the job works for a while
        (tmp_path / "go").touch()
        for rank, process in ranks.items():
            code, _out, err = finish(process)
            assert code == 0, f"rank {rank}: {err[-2000:]}"
        with Ledger.open(ledger_url) as ledger:
            job = ledger.get_run("torchelastic-jp")
            parts = [ledger.get_run(f"torchelastic-jp/rank{r}") for r in ranks]
        assert job is not None and all(parts)
        ended_s = job["run"]["ended_at"].timestamp()
        newest = f"min(timestamp({energy}))"
        wait_for(lambda: float(prometheus.query(newest)[0]["value"][1]) > ended_s + 1, "scrapes")

        total, rows = compare_with_ledger(prometheus.url, job, parts)  # type: ignore[arg-type]
        assert total["complete"] and not total["missing"], (total, rows)
        assert {(r["host"], r["device"]) for r in rows} == {
            ("node-a", "gpu:0"),
            ("node-b", "gpu:0"),
        }
        for row in rows:
            assert row["prometheus_energy_j"] == pytest.approx(row["ledger_energy_j"], rel=0.01)
        assert total["prometheus_gpu_energy_j"] == pytest.approx(
            job["run"]["energy_gpu_j"], rel=0.01
        )

        shown = subprocess.run(
            [*GREENAI, "runs", "show", "torchelastic-jp", "--source", "prometheus", "--format",
             "json", "--prometheus-url", prometheus.url, "--db", ledger_url],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert shown.returncode == 0, shown.stderr
        printed = json.loads(shown.stdout)
        assert printed["prometheus_gpu_energy_j"] == pytest.approx(total["prometheus_gpu_energy_j"])
        assert len(printed["devices"]) == 2
        check_dashboard_queries(prometheus)
    finally:
        prometheus.stop()
        for process, _port in agents.values():
            stop_agent(process)


def test_an_unreachable_prometheus_is_a_one_line_error(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        ledger.save_run(part("j", 0, "a", [("gpu:0", "gpu", 10.0, 1.0)], world_size=1))
    done = subprocess.run(
        [*GREENAI, "runs", "show", "j/rank0", "--source", "prometheus", "--prometheus-url",
         "http://127.0.0.1:1", "--db", ledger_url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("greenai: error: cannot query Prometheus at http://127.0.0.1:1")
