"""Serving runs in the ledger: one per engine, deployment and UTC day, each interval a
window, carried on by an agent restarted the same day, and none where a tracked run
(``greenai run -- <engine>``) already measures the engine's processes.

The engines need a GPU, so a stand-in serves their metrics format
(:mod:`tests.agent.engine_standin`); the GPUs are the fake NVML library.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from greenai.agent.serve_config import parse_serve
from greenai.agent.serving_record import SiteFigures, serving_run_id
from greenai.config import load_settings
from greenai.figures.frame import read_lines
from greenai.ledger import Ledger, schema
from tests.agent.engine_standin import EngineStandin, Series, counters_text
from tests.agent.process import GREENAI, start_agent, stop_agent
from tests.agent.scrape import scrape
from tests.agent.test_serving import (
    COUNTER_STEP_J,
    served_on_the_clock,
    serving_agent,
    standins,
    step,
    varying_power,
)
from tests.fake_nvml.driver import subprocess_env

__all__ = ["standins"]

SERVE = "vllm={url},gpus=0,deployment=chat-prod,technique=int8"


def _runs(url: str) -> list[dict[str, Any]]:
    with Ledger.open(url) as ledger:
        ids = [r["id"] for r in ledger.list_runs(limit=1000)]
        found = [ledger.get_run(i) for i in sorted(ids)]
    return [r for r in found if r is not None]


def test_one_run_per_day_with_each_interval_a_window(
    fake_nvml: Any, tmp_path: Path, ledger_url: str, standins: list[EngineStandin]
) -> None:
    series = [Series("llama", 0, 0, (("engine", "0"),))]
    standins.append(EngineStandin(lambda: counters_text("vllm", series)))
    serve = [SERVE.format(url=standins[0].url)]
    agent = serving_agent(fake_nvml, tmp_path, serve, record=True, db_url=ledger_url)
    try:  # the agent starts at 23:58 UTC
        for prompt, seconds in ((100, 60.0), (250, 60.0), (400, 30.0)):
            series[0] = Series("llama", prompt, prompt // 2, (("engine", "0"),))
            step(agent, fake_nvml, seconds)  # windows end 23:59, 00:00, 00:00:30
    finally:
        agent.close()  # a last interval of no time: no window

    day1, day2 = _runs(ledger_url)
    assert day1["run"]["id"] == serving_run_id("node-s", parse_serve(serve[0]), day1["run"][
        "started_at"].date())  # fmt: skip
    assert day1["run"]["started_at"].isoformat() == "2026-07-01T23:58:00+00:00"
    assert day2["run"]["started_at"].isoformat() == "2026-07-02T00:00:00+00:00"
    assert [len(day1["windows"]), len(day2["windows"])] == [2, 1]
    run = day1["run"]
    assert (run["host_id"], run["phase"], run["technique"], run["model"], run["status"]) == (
        "node-s", "inference", "int8", "llama", "completed")  # fmt: skip
    assert (run["tokens_input"], run["tokens_output"]) == (250, 125)
    assert run["energy_j"] == pytest.approx(24000.0, abs=0.01)  # 120 s at 200 W
    assert run["attribution"] == "configured" and "attribution:configured" in run["flags"]
    (device,) = day1["devices"]
    assert (device["device_id"], device["method"], device["share"], device["share_rule"]) == (
        "gpu:0", "counter", 1.0, "exclusive")  # fmt: skip
    assert device["energy_j"] == pytest.approx(run["energy_j"])
    for day in (day1, day2):
        windows = day["windows"]
        assert sum(w["tokens_input"] for w in windows) == day["run"]["tokens_input"]
        assert sum(w["energy_j"] for w in windows) == pytest.approx(day["run"]["energy_j"])
    assert [w["tokens_input"] for w in day2["windows"]] == [150]
    assert day2["run"]["energy_j"] == pytest.approx(6000.0, abs=0.01)


def test_the_days_run_and_its_windows_hold_the_exact_energy_of_the_served_tokens(
    fake_nvml: Any, tmp_path: Path, ledger_url: str, standins: list[EngineStandin]
) -> None:
    """One clock for the stand-in and the fake GPUs: each window holds its interval's
    exact GPU energy and served tokens, the run their sums (its J/token is theirs)."""
    tokens = served_on_the_clock(fake_nvml)
    standins.append(EngineStandin(lambda: counters_text("vllm", tokens.series())))
    serve = [f"vllm={standins[0].url},gpus=0,1,deployment=big"]
    agent = serving_agent(fake_nvml, tmp_path, serve, power=varying_power, record=True,
                          db_url=ledger_url)  # fmt: skip
    expected = []
    try:
        for seconds in (10.0, 3.3, 47.0, 0.9):
            t0_s = fake_nvml.now()
            step(agent, fake_nvml, seconds)
            t1_s = fake_nvml.now()
            exact_j = fake_nvml.energy_j(0, t0_s, t1_s) + fake_nvml.energy_j(1, t0_s, t1_s)
            expected.append((exact_j, *tokens.tokens("llama-70b", t0_s, t1_s)))
    finally:
        agent.close()
    (day,) = _runs(ledger_url)
    windows = sorted(day["windows"], key=lambda w: w["started_at"])
    assert len(windows) == len(expected)
    for window, (exact_j, prompt, generated) in zip(windows, expected, strict=True):
        assert (window["tokens_input"], window["tokens_output"]) == (prompt, generated)
        assert window["energy_j"] == pytest.approx(exact_j, abs=2 * COUNTER_STEP_J)
    run = day["run"]
    assert run["tokens_input"] == sum(p for _, p, _ in expected)
    assert run["tokens_output"] == sum(g for _, _, g in expected)
    assert run["energy_j"] == pytest.approx(sum(e for e, _, _ in expected), abs=2 * COUNTER_STEP_J)
    shares = {(d["device_id"], d["share"], d["share_rule"]) for d in day["devices"]}
    assert shares == {("gpu:0", 1.0, "exclusive"), ("gpu:1", 1.0, "exclusive")}


def test_an_agent_restarted_the_same_day_carries_the_run_on(
    fake_nvml: Any, tmp_path: Path, ledger_url: str, standins: list[EngineStandin]
) -> None:
    series = [Series("llama", 0, 0, (("engine", "0"),))]
    standins.append(EngineStandin(lambda: counters_text("vllm", series)))
    serve = [SERVE.format(url=standins[0].url)]
    for start_t, prompt in ((100.0, 100), (130.0, 300)):
        agent = serving_agent(fake_nvml, tmp_path, serve, start_t=start_t, record=True,
                              db_url=ledger_url)  # fmt: skip
        try:
            series[0] = Series("llama", prompt, 10, (("engine", "0"),))
            step(agent, fake_nvml, 30.0)
        finally:
            agent.close()
        # the next agent's baseline: the counters as they are now
    (day,) = _runs(ledger_url)
    assert day["run"]["tokens_input"] == 100 + 200
    assert day["run"]["energy_j"] == pytest.approx(2 * 6000.0, abs=0.01)
    assert [w["started_at"].isoformat() for w in day["windows"]] == [
        "2026-07-01T23:58:00+00:00", "2026-07-01T23:58:30+00:00"]  # fmt: skip


def test_the_nodes_idle_line_leaves_the_serving_runs_energy_out(
    fake_nvml: Any, tmp_path: Path, ledger_url: str, standins: list[EngineStandin]
) -> None:
    """The serving run is charged on the agent's host: the node's idle and unallocated
    line is the node's energy without it (here gpu:1, which serves nothing)."""
    series = [Series("llama", 0, 0, (("engine", "0"),))]
    standins.append(EngineStandin(lambda: counters_text("vllm", series)))
    site = SiteFigures(intensity_g_per_kwh=56.0, intensity_source="test", country="FRA")
    agent = serving_agent(fake_nvml, tmp_path, [SERVE.format(url=standins[0].url)],
                          record=True, db_url=ledger_url, site=site)  # fmt: skip
    try:
        series[0] = Series("llama", 10, 10, (("engine", "0"),))
        step(agent, fake_nvml, 30.0)  # gpu:0 (200 W) serves, gpu:1 (50 W) idles
    finally:
        agent.close()
    (day,) = _runs(ledger_url)
    assert day["run"]["host_id"] == "node-s" and day["run"]["parent_run_id"] is None
    with Ledger.open(ledger_url) as ledger:
        with ledger.read() as conn:
            table = schema.node_energy
            rows = [dict(r._mapping) for r in conn.execute(sa.select(table))]
        period = (datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 7, 2, tzinfo=UTC))
        settings = load_settings({"db_url": ledger_url, "country": "FRA"})
        lines, notes = read_lines(ledger, [period], settings=settings,
                                  as_of=datetime.now(UTC)).period(*period)  # fmt: skip
    by_id = {line["id"]: line for line in lines.to_dict("records")}
    served_j = sum(r["energy_j"] for r in rows if r["device_id"] == "gpu:0")
    # the CPU's modelled energy (real CPU time) in the intervals that took time: the last
    # one, of no time on the manual clock, counts for none in a period
    cpu_j = sum(r["energy_j"] for r in rows if r["kind"] != "gpu" and r["end_at"] > r["start_at"])
    assert served_j == pytest.approx(6000.0, abs=0.01) and not notes
    assert by_id[day["run"]["id"]]["energy_it_j"] == pytest.approx(served_j, abs=0.01)
    assert by_id["node:node-s"]["energy_it_j"] == pytest.approx(1500.0 + cpu_j, abs=0.01)


def test_no_serving_run_while_a_tracked_run_serves(
    fake_nvml: Any, fake_nvml_library: Path, tmp_path: Path, ledger_url: str
) -> None:
    env = subprocess_env(fake_nvml_library, GREENAI_DB_URL=ledger_url)
    env.update(GREENAI_DB_URL=ledger_url, GREENAI_HOST_ID="node-s", GREENAI_QUIET="1")
    tracked = subprocess.Popen(
        [sys.executable, "-m", "greenai.cli.main", "run", "--", sys.executable, "-m",
         "tests.agent.engine_standin", "vllm", "llama", "10", "5"],
        env=env, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    try:
        assert tracked.stdout is not None
        line = tracked.stdout.readline()
        assert line.startswith("listening "), line
        url = f"http://127.0.0.1:{int(line.split()[1])}/metrics"
        agent = serving_agent(fake_nvml, tmp_path, [SERVE.format(url=url)], record=True,
                              db_url=ledger_url, real_wall=True)  # fmt: skip
        try:
            step(agent, fake_nvml, 10.0)
        finally:
            agent.close()
    finally:
        tracked.terminate()
        tracked.wait(60)
    runs = _runs(ledger_url)
    assert [r["run"]["command"] is None for r in runs] == [True]  # the tracked run only
    assert not runs[0]["run"]["id"].startswith("serve-")
    assert agent.serving_ledger is not None and agent.serving_ledger.skipped_tracked == 2
    assert os.environ.get("GREENAI_PARENT_RUN_ID") is None


def test_greenai_agent_serve_records_the_day_with_the_sites_factor(
    fake_nvml_library: Path, ledger_url: str, standins: list[EngineStandin]
) -> None:
    """``greenai agent --serve`` as a node runs it (the fake GPUs at 100 W, real time)."""
    series = [Series("llama", 0, 0, (("engine", "0"),))]
    standins.append(EngineStandin(lambda: counters_text("vllm", series)))
    spec = f"vllm={standins[0].url},gpus=0,deployment=chat-prod,technique=fp8"
    env = {"GREENAI_COUNTRY": "FRA", "GREENAI_PUE": "1.5", "GREENAI_HOST_ID": "node-c"}
    process, port = start_agent(fake_nvml_library, "--interval", "1", "--db", ledger_url,
                                "--no-repair-jobs", "--serve", spec, env=env)  # fmt: skip
    labels = {"host": "node-c", "engine": "vllm", "model": "llama", "deployment": "chat-prod"}
    output = ("greenai_serving_tokens_total", tuple(sorted({**labels, "direction": "output"}
                                                            .items())))  # fmt: skip
    try:
        series[0] = Series("llama", 300, 100, (("engine", "0"),))
        while scrape(port).get(output) != 100.0:  # bounded by the agent's --duration
            assert process.poll() is None
            time.sleep(0.2)
    finally:
        code, err = stop_agent(process)
    assert code == 0, err[-2000:]
    (day,) = [r for r in _runs(ledger_url) if r["run"]["id"].startswith("serve-")]
    run = day["run"]
    assert (run["host_id"], run["technique"], run["tokens_input"], run["tokens_output"]) == (
        "node-c", "fp8", 300, 100)  # fmt: skip
    assert run["country"] == "FRA" and run["intensity_source"].startswith("codecarbon")
    assert run["facility_energy_j"] == pytest.approx(1.5 * run["energy_j"])
    assert run["emissions_kg"] == pytest.approx(
        run["facility_energy_j"] / 3.6e6 * run["intensity_g_per_kwh"] / 1000.0)  # fmt: skip
    with Ledger.open(ledger_url) as ledger, ledger.read() as conn:
        table = schema.node_energy
        query = sa.select(sa.func.sum(table.c.energy_j)).where(table.c.device_id == "gpu:0")
        node_gpu0_j = conn.execute(query).scalar()
    assert run["energy_j"] > 0 and run["energy_j"] == pytest.approx(node_gpu0_j, abs=0.01)


def test_an_unknown_engine_is_a_one_line_error() -> None:
    done = subprocess.run([*GREENAI, "agent", "--no-ledger", "--serve", "ollama=http://h:11434"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line == (
        "greenai: error: invalid serve='ollama=http://h:11434': ENGINE=URL with "
        "ENGINE one of vllm, sglang, tgi (Ollama has no metrics endpoint)"
    )
