"""Live energy per token of serving engines: the agent reads an engine's /metrics and
joins its token deltas with its GPUs' energy over each interval.

The engines need a GPU, so a stand-in serves their metrics in their own format
(:mod:`tests.agent.engine_standin`) over real HTTP from this process; the GPUs are the
fake NVML library on its manual clock, so every expected J/token is exact.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from greenai.agent.config import AgentConfig
from greenai.agent.serve_config import parse_serve
from greenai.agent.service import Agent
from greenai.errors import ConfigError
from greenai.figures.units import J_PER_KWH
from tests.agent.engine_standin import (
    EngineStandin,
    Request,
    Series,
    Served,
    ServedTokens,
    counters_text,
    tgi_text,
)
from tests.agent.scrape import scrape

START_WALL = datetime(2026, 7, 1, 23, 58, tzinfo=UTC)
START_T = 100.0
COUNTER_STEP_J = 0.001
"""NVML's energy counter counts whole millijoules: a delta is exact to one step."""


def manual_wall(fake: Any) -> Any:
    """UTC wall time following the fake's clock: START_WALL at START_T."""
    return lambda: START_WALL + timedelta(seconds=fake.now() - START_T)


def serving_agent(
    fake: Any,
    tmp_path: Path,
    serve: list[str],
    *,
    start_t: float = START_T,
    real_wall: bool = False,
    power: Callable[[Any], None] | None = None,
    **config: Any,
) -> Agent:
    """A started agent on the fake GPUs (gpu:0 at 200 W, gpu:1 at 50 W, unless ``power``
    sets them) reading ``serve``, from the fake's time ``start_t``; its wall clock follows
    the fake's unless real."""
    fake.set_time(start_t)
    fake.set_constant(0, 200.0)
    fake.set_constant(1, 50.0)
    if power is not None:
        power(fake)
    settings = {"host_id": "node-s", "port": 0, "address": "127.0.0.1", "record": False,
                "repair_jobs": False, "powercap_root": tmp_path / "no-rapl", **config}  # fmt: skip
    config = AgentConfig(serve=tuple(parse_serve(s) for s in serve), **settings)
    agent = Agent(config) if real_wall else Agent(config, wall=manual_wall(fake))
    agent.start()
    return agent


def step(agent: Agent, fake: Any, seconds: float) -> None:
    """Move the GPUs' clock on and close the agent's interval."""
    fake.set_time(fake.now() + seconds)
    agent.interval()


def serving(found: dict[Any, float], name: str, **labels: str) -> float:
    """The value of a serving sample with these labels (host node-s)."""
    wanted = tuple(sorted({"host": "node-s", **labels}.items()))
    return found[(name, wanted)]


@pytest.fixture
def standins() -> Iterator[list[EngineStandin]]:
    made: list[EngineStandin] = []
    yield made
    for standin in made:
        standin.close()


def varying_power(fake: Any) -> None:
    """gpu:0 a square wave, gpu:1 a sine: energy that only an exact counter gets right."""
    fake.set_square_wave(0, 120.0, 650.0, 1.3, 0.4)
    fake.set_sine(1, 300.0, 80.0, 2.9)


def served_on_the_clock(fake: Any) -> ServedTokens:
    """A vLLM deployment of two engine cores serving a request every 0.37 s of the
    fake's clock, from START_T on."""
    served = [Served(START_T + 0.37 * (i + 1), "llama-70b", 11 + i % 5, 3 + i % 7, str(i % 2))
              for i in range(600)]  # fmt: skip
    return ServedTokens(fake.now, served)


def test_j_per_token_is_the_served_tokens_over_the_gpus_exact_energy(
    fake_nvml: Any, tmp_path: Path, standins: list[EngineStandin]
) -> None:
    """One clock for the stand-in and the fake GPUs: each interval's J/token is the GPUs'
    exact energy over the tokens the stand-in served in that interval."""
    tokens = served_on_the_clock(fake_nvml)
    standins.append(EngineStandin(lambda: counters_text("vllm", tokens.series())))
    serve = [f"vllm={standins[0].url},gpus=0,1,deployment=big"]
    agent = serving_agent(fake_nvml, tmp_path, serve, power=varying_power)
    labels = {"engine": "vllm", "model": "llama-70b", "deployment": "big"}
    total_j, total_out = 0.0, 0
    try:
        assert agent.port is not None
        for seconds in (10.0, 3.3, 47.0, 0.9, 60.0):
            t0_s = fake_nvml.now()
            step(agent, fake_nvml, seconds)
            t1_s = fake_nvml.now()
            found = scrape(agent.port)
            exact_j = fake_nvml.energy_j(0, t0_s, t1_s) + fake_nvml.energy_j(1, t0_s, t1_s)
            prompt, generated = tokens.tokens("llama-70b", t0_s, t1_s)
            total_j, total_out = total_j + exact_j, total_out + generated
            error_j = 2 * COUNTER_STEP_J  # one step on each GPU
            assert serving(found, "greenai_serving_j_per_token", **labels) == pytest.approx(
                exact_j / (prompt + generated), abs=error_j / (prompt + generated))  # fmt: skip
            assert serving(found, "greenai_serving_j_per_output_token", **labels) == (
                pytest.approx(exact_j / generated, abs=error_j / generated))  # fmt: skip
            assert serving(found, "greenai_serving_tokens_per_kwh", **labels) == pytest.approx(
                generated * J_PER_KWH / exact_j, rel=error_j / exact_j)  # fmt: skip
    finally:
        agent.close()
    assert serving(found, "greenai_serving_tokens_total", direction="output", **labels) == (
        total_out)  # fmt: skip
    assert serving(found, "greenai_serving_energy_joules_total", **labels) == pytest.approx(
        total_j, abs=2 * COUNTER_STEP_J)  # fmt: skip


def test_vllm_engines_are_summed_and_tensor_ranks_counted_once(
    fake_nvml: Any, tmp_path: Path, standins: list[EngineStandin]
) -> None:
    def engine(e: str, prompt: float, gen: float) -> list[Series]:
        return [Series("llama-8b", prompt, gen, (("engine", e), ("tp_rank", r))) for r in "01"]

    series = engine("0", 100, 10) + engine("1", 200, 20)
    standin = EngineStandin(lambda: counters_text("vllm", series))
    standins.append(standin)
    fake_nvml.add_process(0, os.getpid(), 1 << 30)  # the engine's process is on gpu:0
    agent = serving_agent(fake_nvml, tmp_path, [f"vllm={standin.url},deployment=chat-prod"])
    try:
        series[:] = engine("0", 400, 110) + engine("1", 300, 40)  # +400 input, +120 output
        step(agent, fake_nvml, 10.0)  # gpu:0: 2000 J
        assert agent.port is not None
        found = scrape(agent.port)
    finally:
        agent.close()
    labels = {"engine": "vllm", "model": "llama-8b", "deployment": "chat-prod"}
    assert serving(found, "greenai_serving_j_per_token", **labels) == pytest.approx(
        2000.0 / 520, abs=1e-5)  # fmt: skip
    assert serving(found, "greenai_serving_j_per_output_token", **labels) == pytest.approx(
        2000.0 / 120, abs=1e-5)  # fmt: skip
    assert serving(found, "greenai_serving_tokens_per_kwh", **labels) == pytest.approx(
        120 / (2000.0 / J_PER_KWH), rel=1e-6)  # fmt: skip
    assert serving(found, "greenai_serving_tokens_total", direction="input", **labels) == 400
    assert serving(found, "greenai_serving_tokens_total", direction="output", **labels) == 120
    assert serving(found, "greenai_serving_energy_joules_total", **labels) == pytest.approx(
        2000.0, abs=0.002)  # fmt: skip
    gpu = {"engine": "vllm", "deployment": "chat-prod", "device": "gpu:0",
           "attribution": "discovered"}  # fmt: skip
    assert serving(found, "greenai_serving_gpu_info", **gpu) == 1.0
    assert not any(dict(k[1]).get("device") == "gpu:1" for k in found
                   if k[0] == "greenai_serving_gpu_info")  # fmt: skip


def test_older_vllm_without_engine_label_and_sglang(
    fake_nvml: Any, tmp_path: Path, standins: list[EngineStandin]
) -> None:
    old = [Series(None, 50, 5)]  # no label at all: the configured model
    sglang = [Series("qwen-7b", 1000, 100)]
    standins += [EngineStandin(lambda: counters_text("vllm", old)),
                 EngineStandin(lambda: counters_text("sglang", sglang))]  # fmt: skip
    agent = serving_agent(fake_nvml, tmp_path, [
        f"vllm={standins[0].url},gpus=1,deployment=old,model=mistral-7b",
        f"sglang={standins[1].url},gpus=0,deployment=sg",
    ])  # fmt: skip
    try:
        old[0] = Series(None, 90, 15)  # +50 tokens on gpu:1 (50 W)
        sglang[0] = Series("qwen-7b", 1300, 200)  # +400 tokens on gpu:0 (200 W)
        step(agent, fake_nvml, 20.0)
        assert agent.port is not None
        found = scrape(agent.port)
    finally:
        agent.close()
    old_labels = {"engine": "vllm", "model": "mistral-7b", "deployment": "old"}
    assert serving(found, "greenai_serving_j_per_token", **old_labels) == pytest.approx(
        1000.0 / 50, abs=1e-5)  # fmt: skip
    sg_labels = {"engine": "sglang", "model": "qwen-7b", "deployment": "sg"}
    assert serving(found, "greenai_serving_j_per_token", **sg_labels) == pytest.approx(
        4000.0 / 400, abs=1e-5)  # fmt: skip
    assert serving(found, "greenai_serving_gpu_info", engine="vllm", deployment="old",
                   device="gpu:1", attribution="configured") == 1.0  # fmt: skip


def test_tgi_intervals_shorter_than_a_few_requests_are_labelled_biased(
    fake_nvml: Any, tmp_path: Path, standins: list[EngineStandin]
) -> None:
    done = [Request(100, 50, 5.0)]
    standins.append(EngineStandin(lambda: tgi_text(done)))
    agent = serving_agent(fake_nvml, tmp_path, [f"tgi={standins[0].url},gpus=0,model=gemma"])
    labels = {"engine": "tgi", "model": "gemma", "deployment": f"tgi@127.0.0.1:{standins[0].port}"}
    try:
        assert agent.port is not None
        done += [Request(30, 10, 5.0), Request(70, 30, 5.0)]  # 140 tokens, 5 s each
        step(agent, fake_nvml, 10.0)  # 10 s < 3 x 5 s: biased
        short = scrape(agent.port)
        done += [Request(60, 40, 5.0)]
        step(agent, fake_nvml, 60.0)  # 60 s: long enough
        long = scrape(agent.port)
    finally:
        agent.close()
    assert serving(short, "greenai_serving_interval_biased", **labels) == 1.0
    assert serving(short, "greenai_serving_j_per_token", **labels) == pytest.approx(
        2000.0 / 140, abs=1e-5)  # fmt: skip
    assert serving(long, "greenai_serving_interval_biased", **labels) == 0.0
    assert serving(long, "greenai_serving_j_per_token", **labels) == pytest.approx(
        12000.0 / 100, abs=1e-5)  # fmt: skip


def test_models_sharing_a_gpu_split_its_energy_by_their_tokens(
    fake_nvml: Any, tmp_path: Path, standins: list[EngineStandin]
) -> None:
    a = [Series("model-a", 0, 0, (("engine", "0"),))]
    b = [Series("model-b", 0, 0)]
    standins += [EngineStandin(lambda: counters_text("vllm", a)),
                 EngineStandin(lambda: counters_text("sglang", b))]  # fmt: skip
    serve = [f"vllm={standins[0].url},gpus=0,deployment=a",
             f"sglang={standins[1].url},gpus=0,deployment=b"]  # fmt: skip
    agent = serving_agent(fake_nvml, tmp_path, serve)
    try:
        a[0] = Series("model-a", 200, 100, (("engine", "0"),))  # 300 tokens
        b[0] = Series("model-b", 80, 20)  # 100 tokens
        step(agent, fake_nvml, 10.0)  # gpu:0: 2000 J = 1500 + 500
        assert agent.port is not None
        found = scrape(agent.port)
        step(agent, fake_nvml, 10.0)  # no tokens: equal split
        idle = scrape(agent.port)
    finally:
        agent.close()
    energy = "greenai_serving_energy_joules_total"
    a_labels = {"engine": "vllm", "model": "model-a", "deployment": "a"}
    b_labels = {"engine": "sglang", "model": "model-b", "deployment": "b"}
    assert serving(found, energy, **a_labels) == pytest.approx(1500.0, abs=0.002)
    assert serving(found, energy, **b_labels) == pytest.approx(500.0, abs=0.002)
    assert serving(idle, energy, **a_labels) == pytest.approx(2500.0, abs=0.002)
    assert serving(idle, energy, **b_labels) == pytest.approx(1500.0, abs=0.002)
    assert ("greenai_serving_j_per_token", tuple(sorted({"host": "node-s", **a_labels}.items()))
            ) not in idle  # fmt: skip


def test_a_counter_reset_counts_the_new_value(
    fake_nvml: Any, tmp_path: Path, standins: list[EngineStandin]
) -> None:
    series = [Series("llama", 5000, 1000, (("engine", "0"),))]
    standins.append(EngineStandin(lambda: counters_text("vllm", series)))
    agent = serving_agent(fake_nvml, tmp_path, [f"vllm={standins[0].url},gpus=0,deployment=d"])
    try:
        series[0] = Series("llama", 30, 20, (("engine", "0"),))  # restarted: 50 tokens since
        step(agent, fake_nvml, 10.0)
        assert agent.port is not None
        found = scrape(agent.port)
        (latest,) = agent.serving.latest if agent.serving else []
    finally:
        agent.close()
    labels = {"engine": "vllm", "model": "llama", "deployment": "d"}
    assert serving(found, "greenai_serving_tokens_total", direction="input", **labels) == 30
    assert serving(found, "greenai_serving_j_per_token", **labels) == pytest.approx(
        2000.0 / 50, abs=1e-5)  # fmt: skip
    assert "token_counter_reset" in latest.flags


def test_an_engine_that_cannot_be_read_counts_its_tokens_later(
    fake_nvml: Any, tmp_path: Path, standins: list[EngineStandin]
) -> None:
    series = [Series("llama", 0, 0, (("engine", "0"),))]
    standins.append(EngineStandin(lambda: counters_text("vllm", series)))
    agent = serving_agent(fake_nvml, tmp_path, [f"vllm={standins[0].url},gpus=0,deployment=d"])
    try:
        standins[0].fail = True
        series[0] = Series("llama", 60, 40, (("engine", "0"),))
        step(agent, fake_nvml, 10.0)
        assert agent.port is not None
        down = scrape(agent.port)
        standins[0].fail = False
        step(agent, fake_nvml, 10.0)
        up = scrape(agent.port)
    finally:
        agent.close()
    labels = {"engine": "vllm", "model": "llama", "deployment": "d"}
    assert serving(down, "greenai_serving_up", engine="vllm", deployment="d") == 0.0
    assert serving(up, "greenai_serving_up", engine="vllm", deployment="d") == 1.0
    assert serving(up, "greenai_serving_energy_joules_total", **labels) == pytest.approx(
        4000.0, abs=0.002)  # fmt: skip
    assert serving(up, "greenai_serving_j_per_token", **labels) == pytest.approx(
        2000.0 / 100, abs=1e-5)  # fmt: skip


def test_configuration_is_checked_before_the_agent_starts(fake_nvml: Any, tmp_path: Path) -> None:
    target = parse_serve("vllm=http://127.0.0.1:8000/metrics,gpus=0,1,deployment=chat-prod,"
                         "technique=int8")  # fmt: skip
    assert (target.engine, target.gpus, target.deployment, target.technique, target.port) == (
        "vllm", ("0", "1"), "chat-prod", "int8", 8000)  # fmt: skip
    uuid = parse_serve("tgi=http://h:80/metrics,gpus=GPU-abc").gpus
    assert uuid == ("GPU-abc",)
    for bad, key in (("ollama=http://h:11434", "serve"), ("vllm=ftp://h/metrics", "serve"),
                     ("vllm=http://h:1/m,colour=red", "serve"),
                     ("vllm=http://h:1/m,deployment=", "serve deployment")):  # fmt: skip
        with pytest.raises(ConfigError) as err:
            parse_serve(bad)
        assert err.value.key == key
    with pytest.raises(ConfigError, match="serve gpus"):
        serving_agent(fake_nvml, tmp_path, ["vllm=http://127.0.0.1:1/metrics,gpus=7"])
    with pytest.raises(ConfigError, match="serve deployment"):
        AgentConfig(host_id="n", serve=(target, target))
