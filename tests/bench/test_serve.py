"""``greenai bench --serve``: the steady-state window rule, the streaming client, and the
bench end to end against a stand-in server.

Real serving engines need a GPU, so a stand-in OpenAI-compatible server
(``tests/bench/serve_standin.py``) streams the tokens; the GPUs are the fake NVML
library's (two at a constant 100 W, or a sine and a square wave). In lockstep the
stand-in moves the fake's manual clock, which the run is measured on, step by step, so
the expected J/token follows from its token times and the GPUs' waveforms alone.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from greenai.bench.serve import ServeResult, run_serve_bench
from greenai.bench.serve_client import piece_of, sse_data
from greenai.bench.serve_config import ServeConfig
from greenai.bench.serve_prompts import file_prompts, request_prompts
from greenai.bench.serve_window import (
    LiveWindow,
    NoSteadyWindow,
    RequestTrace,
    spread_tokens,
    steady_window,
    window_bounds,
)
from greenai.cli.main import app
from greenai.errors import ConfigError
from greenai.ledger import Ledger
from greenai.queries import RunFilter, runs_frame, windows_frame
from greenai.queries.compare import with_ratios
from greenai.queries.workloads import workload_lines
from tests.bench.serve_standin import Engine, serving
from tests.fake_nvml.driver import FakeNvml
from tests.tracking.manual import manual_hub

__all__ = ["manual_hub"]  # the fixture, for the tests that use it

LENGTHS = [2, 4, 3, 2, 4, 3]
"""Chunks of the six requests in order of arrival; at B = 2, one step a second from t = 1:
the 2nd first token comes at t = 1, the 4th end at t = 6, and in (1, 6] both slots
stream one token a step: 10 tokens over 5 s, while two GPUs draw 100 W each (1000 J)."""


# -- the window rule ------------------------------------------------------------------


@st.composite
def traces(draw: st.DrawFn) -> list[RequestTrace]:
    """2 to 10 requests on a coarse time grid (ties happen), some without tokens."""
    out = []
    for _ in range(draw(st.integers(2, 10))):
        times = sorted(draw(st.lists(st.integers(0, 30), max_size=6)))
        counts = draw(st.lists(st.integers(0, 3), min_size=len(times), max_size=len(times)))
        end = draw(st.integers(times[-1] if times else 0, 32))
        out.append(RequestTrace(tuple(float(t) for t in times), tuple(counts), float(end)))
    return out


def _expected_bounds(items: list[RequestTrace], b: int) -> tuple[float, float] | None:
    firsts = sorted(t.token_times_s[0] for t in items if t.token_times_s)
    if b >= len(items) or len(firsts) < b:
        return None
    start, end = firsts[b - 1], sorted(t.end_s for t in items)[len(items) - b - 1]
    return (start, end) if end > start else None


@settings(max_examples=300, deadline=None)
@given(traces(), st.integers(1, 10))
def test_the_window_is_the_bth_first_token_to_the_n_minus_bth_end(
    items: list[RequestTrace], b: int
) -> None:
    expected = _expected_bounds(items, b)
    if expected is None:
        with pytest.raises(NoSteadyWindow) as caught:
            steady_window(items, b)
        assert caught.value.reason  # says why, in words
        return
    window = steady_window(items, b)
    assert (window.start_s, window.end_s) == expected and window.duration_s > 0
    flat = [(t, n) for tr in items for t, n in zip(tr.token_times_s, tr.token_counts, strict=True)]
    total = sum(n for _, n in flat)
    before = sum(n for t, n in flat if t <= window.start_s)
    after = sum(n for t, n in flat if t > window.end_s)
    assert window.tokens == total - before - after  # exactly those in (start, end]


@settings(max_examples=300, deadline=None)
@given(traces(), st.integers(1, 9), st.integers(1, 9))
def test_a_larger_batch_gives_a_window_inside_the_smaller_ones(
    items: list[RequestTrace], b1: int, b2: int
) -> None:
    small, large = sorted((b1, b2))
    try:
        lo, hi = window_bounds(items, small), window_bounds(items, large)
    except NoSteadyWindow:
        return
    assert lo[0] <= hi[0] and hi[1] <= lo[1]
    assert steady_window(items, large).tokens <= steady_window(items, small).tokens


@settings(max_examples=300, deadline=None)
@given(traces(), st.integers(1, 9), st.randoms(use_true_random=False))
def test_the_live_rule_opens_and_closes_at_the_same_bounds(
    items: list[RequestTrace], b: int, rng: random.Random
) -> None:
    events = [(t.token_times_s[0], "first") for t in items if t.token_times_s]
    events += [(t.end_s, "end") for t in items]
    rng.shuffle(events)
    events.sort(key=lambda e: e[0])  # time order; ties in any order
    live, opened, closed = LiveWindow(len(items), b), None, None
    for time_s, kind in events:
        if kind == "first" and live.first_token():
            opened = time_s
        if kind == "end" and live.ended():
            closed = time_s
    expected = _expected_bounds(items, b)
    if expected is not None:
        assert (opened, closed) == expected
    elif opened is not None and closed is not None:
        assert closed <= opened  # a window of no length at a tie, never a real one


@given(st.integers(0, 10_000), st.integers(1, 500))
def test_usage_counts_spread_evenly_over_the_chunks(total: int, pieces: int) -> None:
    spread = spread_tokens(total, pieces)
    assert len(spread) == pieces and sum(spread) == total
    assert max(spread) - min(spread) <= 1
    for k in range(pieces + 1):  # at an even rate along the stream
        assert sum(spread[:k]) == k * total // pieces


def test_degenerate_inputs_say_why() -> None:
    one = RequestTrace((1.0,), (1,), 2.0)
    with pytest.raises(NoSteadyWindow, match="N > B"):
        steady_window([one, one], 2)
    silent = RequestTrace((), (), 2.0)
    with pytest.raises(NoSteadyWindow, match="only 1 of 3 requests streamed a token"):
        steady_window([one, silent, silent], 2)
    with pytest.raises(ValueError):
        spread_tokens(3, 0)


# -- the client's parsing, the prompts, the configuration ------------------------------


def test_server_sent_events_and_chunks_are_parsed_as_openai_streams_them() -> None:
    lines = [b": keep-alive\n", b"data: {\"a\":\r\n", b"data: 1}\r\n", b"\r\n", b"event: x\n",
             b"data:[DONE]\n", b"\n"]  # fmt: skip
    assert list(sse_data(lines)) == ['{"a":\n1}', "[DONE]"]
    chat = {"choices": [{"delta": {"content": "Hi", "reasoning_content": "!"}}]}
    assert piece_of(chat).text == "Hi!" and piece_of(chat).usage is None
    usage = {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 5}}
    assert piece_of(usage).text == "" and piece_of(usage).usage == usage["usage"]
    assert piece_of({"choices": [{"text": "legacy"}]}).text == "legacy"


def test_prompt_files_and_built_in_prompts(tmp_path: Path) -> None:
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('{"prompt": "a b"}\n\n{"messages": [{"role": "user", "content": "c"}]}\n')
    assert file_prompts(jsonl) == [
        [{"role": "user", "content": "a b"}],
        [{"role": "user", "content": "c"}],
    ]
    text = tmp_path / "p.txt"
    text.write_text("one\n  \ntwo\n")
    assert [m[0]["content"] for m in request_prompts(str(text), 5, 0)].count("one") in (2, 3)
    jsonl.write_text('{"prompt": "a"}\n[1]\n')
    with pytest.raises(ConfigError, match=r"p\.jsonl:2"):
        file_prompts(jsonl)
    built_in = request_prompts(None, 40, 1)
    assert len(built_in) == 40 and len({m[0]["content"] for m in built_in}) == 40
    assert built_in == request_prompts(None, 40, 1)  # seeded


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"requests": 4, "concurrency": 4}, "requests"),
        ({"url": "127.0.0.1:8000"}, "serve"),
        ({"gpus": "0,x"}, "gpus"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"model": " "}, "model"),
    ],
)
def test_bad_settings_are_config_errors(changes: dict[str, Any], key: str) -> None:
    values: dict[str, Any] = {"url": "http://127.0.0.1:1/v1", "model": "m", **changes}
    with pytest.raises(ConfigError) as caught:
        ServeConfig(**values)
    assert caught.value.key == key


def test_no_server_at_the_url_is_a_config_error_before_any_run() -> None:
    config = ServeConfig(url="http://127.0.0.1:9/v1", model="m", requests=3, concurrency=2)
    with pytest.raises(ConfigError, match="did not answer"):
        run_serve_bench(config)
    with Ledger.open() as ledger:
        assert ledger.list_runs() == []


# -- the bench against the stand-in, in lockstep on the fake's clock --------------------


def _lockstep(
    fake: FakeNvml, engine_kw: dict[str, Any], **config: Any
) -> tuple[ServeResult, Engine]:
    """One bench against a stand-in stepping once a second from the fake's time now."""
    lengths, slots = config.pop("lengths", LENGTHS), config.pop("slots", 2)
    engine = Engine(lengths, slots, fake.set_time, clients=config.get("concurrency", 2),
                    start_s=fake.now(), **engine_kw)  # fmt: skip
    with serving(engine) as url:
        values = {"model": "tiny", "requests": len(lengths), "concurrency": 2, **config}
        result = run_serve_bench(ServeConfig(url=url, **values), observer=engine.ack)
    assert engine.error is None
    return result, engine


@pytest.mark.usefixtures("manual_hub")
def test_j_per_token_is_the_windows_gpu_energy_over_its_tokens(fake_nvml: FakeNvml) -> None:
    result, engine = _lockstep(fake_nvml, {}, project="serve-test")
    window = result.window
    assert window is not None and (window.start_s, window.end_s) == (1.0, 6.0)
    assert window.tokens == 10 and window.tokens_per_s == pytest.approx(2.0)
    assert result.gpu_energy_j == pytest.approx(1000.0, abs=0.01)  # 2 x 100 W x 5 s
    assert result.j_per_token == pytest.approx(100.0, abs=0.001)
    assert result.tokens_method == "usage" and result.ok == 6 and result.failed == 0
    assert result.gpu_ids == ["gpu:0", "gpu:1"] and result.gpu_method == "counter"
    assert result.tokens_output == sum(LENGTHS)
    assert result.tokens_input == sum(engine.prompt_tokens) > 0
    with Ledger.open() as ledger:
        record = ledger.get_run(result.run_id)
        assert record is not None
        runs = with_ratios(runs_frame(ledger, RunFilter(statuses=("completed",))))
        windows = windows_frame(ledger, tuple(runs["id"]))
    run = record["run"]
    assert run["project"] == "serve-test" and run["phase"] == "inference"
    assert run["model"] == "tiny" and run["technique"] == "baseline" and run["batch_size"] == 2
    assert run["tags"]["bench_id"] == result.bench_id
    assert run["tags"]["bench_method"] == "serve-steady-state"
    assert (run["tokens_input"], run["tokens_output"]) == (result.tokens_input, 18)
    (stored,) = record["windows"]
    assert stored["name"] == "serve" and stored["steady_state"]
    assert (stored["tokens_input"], stored["tokens_output"]) == (0, 10)
    assert stored["energy_j"] == pytest.approx(1000.0, abs=0.01)
    assert stored["duration_s"] == pytest.approx(5.0)
    lines = workload_lines(runs, windows)  # what the dashboard's Compare divides
    (line,) = lines.itertuples()
    assert (line.basis, line.workload) == ("steady_state", "serve")
    assert line.j_per_token == pytest.approx(100.0, abs=0.001)


def _standin_expectation(
    fake: FakeNvml, engine: Engine, b: int, tokens_per_chunk: int
) -> tuple[float, float, int, float]:
    """The window, its tokens and the GPUs' energy from the stand-in's own token times
    (a request ends in the step of its last token) and the fake's waveforms alone."""
    times = engine.token_times_s
    start_s = sorted(t[0] for t in times)[b - 1]
    end_s = sorted(t[-1] for t in times)[len(times) - b - 1]
    tokens = sum(tokens_per_chunk for t in times for at_s in t if start_s < at_s <= end_s)
    return start_s, end_s, tokens, sum(fake.energy_j(i, start_s, end_s) for i in (0, 1))


@pytest.mark.parametrize(
    ("b", "count", "tokens_per_chunk", "seed"), [(3, 12, 1, 7), (4, 9, 3, 11), (1, 5, 2, 3)]
)
@pytest.mark.usefixtures("manual_hub")
def test_j_per_token_matches_the_standins_token_times_and_the_gpus_waveforms(
    fake_nvml: FakeNvml, b: int, count: int, tokens_per_chunk: int, seed: int
) -> None:
    fake_nvml.set_sine(0, 150.0, 50.0, 7.0)
    fake_nvml.set_square_wave(1, 60.0, 240.0, 3.0, duty=0.25)
    lengths = [random.Random(seed + k).randint(1, 6) for k in range(count)]
    result, engine = _lockstep(
        fake_nvml, {"tokens_per_chunk": tokens_per_chunk}, lengths=lengths, slots=b,
        concurrency=b,
    )  # fmt: skip
    start_s, end_s, tokens, energy_j = _standin_expectation(fake_nvml, engine, b, tokens_per_chunk)
    window = result.window
    assert window is not None and (window.start_s, window.end_s) == (start_s, end_s)
    assert window.tokens == tokens > 0
    assert result.gpu_energy_j == pytest.approx(energy_j, abs=0.01)  # counters in mJ
    assert result.j_per_token == pytest.approx(energy_j / tokens, abs=0.01 / tokens)
    assert result.tokens_output == sum(lengths) * tokens_per_chunk and result.ok == count


@pytest.mark.usefixtures("manual_hub")
def test_usage_counts_win_over_chunks_and_chunks_are_the_fallback(fake_nvml: FakeNvml) -> None:
    doubled, _ = _lockstep(fake_nvml, {"tokens_per_chunk": 2})
    assert doubled.tokens_method == "usage" and doubled.window is not None
    assert doubled.window.tokens == 20 and doubled.j_per_token == pytest.approx(50.0, abs=0.001)
    counted, _ = _lockstep(fake_nvml, {"tokens_per_chunk": 2, "usage": False})
    assert counted.tokens_method == "chunks" and counted.window is not None
    assert counted.window.tokens == 10  # one per chunk: what a server without usage allows
    assert counted.tokens_input == 0  # prompt tokens are known from usage only
    refused, engine = _lockstep(fake_nvml, {"reject_options": True})
    assert 1 <= engine.rejected <= 2  # the first requests asked with stream_options, then not
    assert refused.tokens_method == "chunks" and refused.ok == 6
    assert refused.j_per_token == pytest.approx(100.0, abs=0.001)


@pytest.mark.usefixtures("manual_hub")
def test_a_server_that_never_runs_the_batch_gives_no_window(fake_nvml: FakeNvml) -> None:
    result, _ = _lockstep(fake_nvml, {}, lengths=[2, 2, 2], slots=1, requests=3)
    assert result.window is None and result.j_per_token is None
    assert result.no_window is not None and "did not run 2 requests at once" in result.no_window
    with Ledger.open() as ledger:
        record = ledger.get_run(result.run_id)
    assert record is not None and record["windows"] == []
    assert record["run"]["tokens_output"] == 6  # the run still counts its work


@pytest.mark.usefixtures("manual_hub")
def test_a_batch_that_fills_and_drains_at_one_instant_is_no_steady_state(
    fake_nvml: FakeNvml,
) -> None:
    # at t = 1, in this order: request 0's first token, request 1's (the batch is full)
    # and request 1's end (N - B = 1 ended): the live window opens and closes at once
    result, _ = _lockstep(fake_nvml, {"ordered": True}, lengths=[3, 1, 3], requests=3)
    assert result.no_window is not None and "did not run 2 requests at once" in result.no_window
    assert result.window is None and result.j_per_token is None
    with Ledger.open() as ledger:
        record = ledger.get_run(result.run_id)
        runs = with_ratios(runs_frame(ledger, RunFilter(statuses=("completed",))))
        windows = windows_frame(ledger, tuple(runs["id"]))
    assert record is not None
    (stored,) = record["windows"]  # kept, as a plain window of no length and no tokens
    assert not stored["steady_state"] and stored["duration_s"] == 0.0
    assert stored["tokens_output"] == 0
    (line,) = workload_lines(runs, windows).itertuples()  # Compare sees the whole run
    assert (line.basis, line.workload) == ("whole_run", "inference")


# -- the command line ------------------------------------------------------------------


def test_the_command_records_a_bench_run_and_prints_the_method(
    fake_nvml: FakeNvml, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")  # restored after: --gpus sets it
    engine = Engine(LENGTHS, 2)  # free-running, in real time
    out = tmp_path / "serve.json"
    with serving(engine) as url:
        args = ["bench", "--serve", url, "--model", "tiny", "--requests", "6",
                "--concurrency", "2", "--gpus", "1", "--project", "serve-cli",
                "--no-progress", "--json", str(out)]  # fmt: skip
        result = CliRunner().invoke(app, args, catch_exceptions=False, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "J/token (GPU)" in said and "ML.ENERGY steady state" in said
    assert "tokens: the server's usage counts" in said
    assert "no process is computing on the measured GPUs" in said  # the fake lists none
    data = json.loads(out.read_text())
    assert data["j_per_token"] > 0 and data["window_tokens"] > 0 and data["ok"] == 6
    assert len(data["gpu_ids"]) == 1  # --gpus 1: one GPU measured
    with Ledger.open() as ledger:
        (row,) = ledger.list_runs(project="serve-cli")
        record = ledger.get_run(row["id"])
    assert record is not None and row["tags"]["bench_id"] == data["bench_id"]
    (window,) = record["windows"]
    assert window["steady_state"] and window["tokens_output"] == data["window_tokens"]


def test_a_bad_serve_flag_is_one_line() -> None:
    base = [sys.executable, "-m", "greenai.cli.main", "bench"]
    cases = {
        ("--serve", "http://127.0.0.1:9/v1", "--model", "m", "--requests", "2",
         "--concurrency", "2"): "invalid requests=2: more requests than the concurrency (2)",
        ("--model", "m"): "invalid serve=None: a server URL",
        ("--serve", "http://127.0.0.1:9/v1", "--model", "m", "--models", "gpt-tiny"):
            "no --models: they set the model matrix",
    }  # fmt: skip
    for args, expected in cases.items():
        done = subprocess.run([*base, *args], capture_output=True, text=True, timeout=120,
                              env=dict(os.environ), check=False)  # fmt: skip
        assert done.returncode == 2
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith("greenai: error: ") and expected in line, line
