"""@track, with track(), start/stop, current_run: results unchanged, runs recorded."""

from __future__ import annotations

import asyncio
import warnings

import pytest

import greenai
from greenai.tracking.run import GreenAIWarning
from tests.tracking.helpers import burn_cpu, stored


def test_context_manager_records_model_energy_with_method_and_flags() -> None:
    with greenai.track(project="p", model="m", technique="int8", phase="inference") as run:
        burn_cpu(0.3)
        run.add_tokens(input=10, output=30)
    assert run.status == "completed"
    assert run.energy_j > 0
    assert run.energy_by_kind["cpu"]["method"] == "model"
    assert run.j_per_output_token == pytest.approx(run.energy_j / 30)
    assert run.j_per_token == pytest.approx(run.energy_j / 40)
    assert run.facility_energy_j == pytest.approx(run.energy_j)  # default PUE 1.0
    flags = run.to_dict()["flags"]
    assert "estimated:cpu" in flags and "unknown_location" in flags
    row = stored(run.id)["run"]
    assert row["status"] == "completed"
    assert row["energy_j"] == pytest.approx(run.energy_j)
    assert row["tokens_output"] == 30 and row["technique"] == "int8"
    assert row["base_model"] == "m"
    assert row["intensity_source"] and row["codecarbon_version"]


def test_idle_run_costs_less_cpu_energy_than_busy_run() -> None:
    with greenai.track() as idle:
        burn_cpu(0.0)
    with greenai.track() as busy:
        burn_cpu(0.4)
    assert busy.energy_by_kind["cpu"]["energy_j"] > idle.energy_by_kind["cpu"]["energy_j"]


def test_decorator_keeps_result_and_counts_tokens_from_it() -> None:
    @greenai.track(model="m", tokens=lambda out: {"input": 3, "output": len(out)})
    def generate(n: int) -> list[int]:
        return list(range(n))

    assert generate(7) == list(range(7))
    run = greenai.current_run()
    assert run is None  # outside any run again
    record = stored_last()
    assert record["tokens_output"] == 7 and record["tokens_input"] == 3


def stored_last() -> dict:
    from greenai.ledger import Ledger

    ledger = Ledger.open()
    try:
        return ledger.list_runs(limit=1)[0]
    finally:
        ledger.close()


def test_decorator_reraises_the_same_exception_and_records_failure() -> None:
    class BoomError(Exception):
        pass

    error = BoomError("bad batch")

    @greenai.track(model="m")
    def job() -> None:
        raise error

    with pytest.raises(BoomError) as caught:
        job()
    assert caught.value is error
    row = stored_last()
    assert row["status"] == "failed" and "BoomError: bad batch" in row["error"]


def test_async_function_and_async_context_manager() -> None:
    @greenai.track(model="m", tokens=lambda out: out)
    async def infer() -> int:
        await asyncio.sleep(0.01)
        return 5

    async def main() -> tuple[int, str]:
        result = await infer()
        async with greenai.track(model="n") as run:
            await asyncio.sleep(0.01)
        return result, run.status

    assert asyncio.run(main()) == (5, "completed")


def test_generator_is_one_run_over_its_whole_iteration() -> None:
    @greenai.track(model="gen")
    def stream(n: int):
        for i in range(n):
            run = greenai.current_run()
            assert run is not None
            run.add_tokens(output=1)
            yield i

    assert list(stream(4)) == [0, 1, 2, 3]
    row = stored_last()
    assert row["tokens_output"] == 4 and row["status"] == "completed"


def test_async_generator() -> None:
    @greenai.track(model="agen")
    async def stream(n: int):
        for i in range(n):
            yield i

    async def collect() -> list[int]:
        return [i async for i in stream(3)]

    assert asyncio.run(collect()) == [0, 1, 2]
    assert stored_last()["status"] == "completed"


def test_explicit_start_stop_and_current_run() -> None:
    assert greenai.current_run() is None
    run = greenai.start(model="m", batch_size=4)
    assert greenai.current_run() is run
    run.add_samples(12)
    run.stop()
    assert greenai.current_run() is None
    assert stored(run.id)["run"]["samples"] == 12


def test_child_runs_count_tokens_up_and_totals_add_roots_only() -> None:
    with greenai.track(model="parent") as parent, greenai.track(model="child") as child:
        burn_cpu(0.1)
        child.add_tokens(output=5)
    assert child.parent_run_id == parent.id
    assert parent.tokens_output == 5
    assert parent.energy_j >= child.energy_j
    row = stored(child.id)["run"]
    assert row["parent_run_id"] == parent.id


def test_windows_have_their_own_energy_and_tokens() -> None:
    with greenai.track(model="m") as run:
        with run.window("prefill"):
            burn_cpu(0.15)
            run.add_tokens(input=100)
        with run.window("decode") as decode:
            with run.window("steady", steady_state=True):
                burn_cpu(0.3)
                run.add_tokens(output=50)
            run.add_tokens(output=10)
    windows = {w["name"]: w for w in (x.to_dict() for x in run.windows)}
    assert windows["prefill"]["tokens_input"] == 100
    assert windows["decode"]["tokens_output"] == 60
    assert windows["steady"]["tokens_output"] == 50
    assert windows["steady"]["parent_window_id"] == decode.id
    assert run.tokens_output == 60
    stored_windows = {w["name"]: w for w in stored(run.id)["windows"]}
    assert set(stored_windows) == {"prefill", "decode", "steady"}
    assert stored_windows["decode"]["tokens_output"] == 60
    # only the window marked so is steady state, whatever the names say
    assert {n: w["steady_state"] for n, w in stored_windows.items()} == {
        "prefill": False, "decode": False, "steady": True}  # fmt: skip


def test_misuse_during_a_run_warns_and_flags_never_raises() -> None:
    with greenai.track(model="m") as run:
        with pytest.warns(GreenAIWarning, match="ignored"):
            run.add_tokens(output=-5)
        with pytest.warns(GreenAIWarning):
            run.add_tokens(input="many")
        with pytest.warns(GreenAIWarning):
            run.log_metric("ppl", "low")
        run.add_tokens(output=2.0)  # a whole float is accepted
    assert run.tokens_output == 2 and run.tokens_input == 0
    assert "invalid_count" in run.flags and "invalid_metric" in run.flags
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        run.add_tokens(output=1)
    assert run.tokens_output == 2
    assert "update_after_stop" in run.flags


def test_unknown_keyword_is_a_type_error_listing_valid_ones() -> None:
    with pytest.raises(TypeError, match=r"unknown keyword.*'modle'.*valid: .*model"):
        greenai.track(modle="m")


def test_invalid_configuration_fails_before_the_job_starts() -> None:
    called = []

    @greenai.track(country="XXQ")
    def job() -> None:
        called.append(1)

    with pytest.raises(greenai.ConfigError, match="country"):
        job()
    assert called == []
    with pytest.raises(greenai.ConfigError, match="batch_size"):
        greenai.track(batch_size=0)


def test_metrics_and_tags_are_stored() -> None:
    with greenai.track(model="m", tags={"team": "nlp"}) as run:
        run.log_metric("perplexity", 12.5)
    record = stored(run.id)
    assert record["run"]["tags"] == {"team": "nlp"}
    assert [(m["name"], m["value"]) for m in record["metrics"]] == [("perplexity", 12.5)]
