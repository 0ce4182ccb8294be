"""A tiny benchmark end to end: real models, real tracked runs, real ledger rows."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from greenai.bench.config import BenchConfig
from greenai.bench.runner import BenchResult, round_robin, run_bench
from greenai.ledger import Ledger


@pytest.fixture
def result(tiny_config: BenchConfig) -> BenchResult:
    return run_bench(tiny_config, show_progress=False)


def _records(run_ids: set[str]) -> list[dict[str, Any]]:
    ledger = Ledger.open()
    try:
        return [ledger.get_run(run_id) for run_id in sorted(run_ids)]  # type: ignore[misc]
    finally:
        ledger.close()


def test_every_cell_and_repeat_is_a_ledger_run_with_tokens_windows_and_quality(
    result: BenchResult,
) -> None:
    assert not result.failures
    assert len(result.cells) == 10  # 6 inference cells + 4 training (int8, pruning: inference only)
    assert {s.label for s in result.skipped} == {
        "gpt-tiny int8 training",
        "gpt-tiny pruning training",
    }
    run_ids = {m.run_id for m in result.measurements}
    assert len(run_ids) == len(result.cells) * 2
    for record in _records(run_ids):
        run = record["run"]
        assert run["status"] == "completed" and run["project"] == "bench-test"
        assert run["tags"]["bench_id"] == result.bench_id and run["tags"]["repeat"] in {"0", "1"}
        names = {w["name"] for w in record["windows"]}
        metrics = {m["name"] for m in record["metrics"]}
        if run["phase"] == "inference":
            assert names == {"prefill", "decode"} and "perplexity" in metrics
            prefill = next(w for w in record["windows"] if w["name"] == "prefill")
            decode = next(w for w in record["windows"] if w["name"] == "decode")
            assert prefill["tokens_input"] == 2 * 2 * 16  # iters x batch x prompt tokens
            assert decode["tokens_output"] == 16 * 2  # steps x batch, ramp and drain outside
            # the run counts every token it processed, the windows only their own
            assert run["tokens_input"] == (1 + 2 + 1) * 2 * 16 + 2 * 16
            assert run["tokens_output"] == (1 + 16 + 1) * 2
        else:
            assert names == {"train"} and "train_loss" in metrics
            train = record["windows"][0]
            assert train["tokens_output"] == 2 * 2 * 64  # steps x batch x context
        assert run["energy_j"] > 0
        assert run["base_model"] == "gpt-tiny"  # the teacher, also for student and small model


def test_techniques_give_really_different_models(result: BenchResult) -> None:
    info = {c.meta["technique"]: c.info for c in result.cells if c.meta["phase"] == "inference"}
    models = {c.meta["technique"]: c.meta["model"] for c in result.cells}
    base = info["baseline"]
    assert info["int8"]["backend"] == "torchao"
    assert info["int8"]["size_bytes"] < 0.6 * base["size_bytes"]
    assert info["int8"]["params"] == base["params"]
    assert info["bf16"]["size_bytes"] < 0.6 * base["size_bytes"]
    assert info["pruning"]["nonzero_params"] < 0.75 * base["params"]
    assert info["pruning"]["size_bytes"] == base["size_bytes"]  # zeros still stored densely
    assert info["distillation"]["params"] < 0.4 * base["params"]
    assert info["smaller-model"]["params"] == info["distillation"]["params"]
    assert (
        models["distillation"] == "gpt-tiny-distilled"
        and models["smaller-model"] == "gpt-tiny-half"
    )
    # same shape, different training: different models, different perplexities
    assert info["distillation"]["perplexity"] != info["smaller-model"]["perplexity"]
    assert all(v["perplexity"] > 1 for v in info.values())


def test_repeats_are_interleaved_round_robin(result: BenchResult) -> None:
    order: list[tuple[int, str]] = []
    for m in result.measurements:
        if not order or order[-1] != (m.repeat, m.cell):
            order.append((m.repeat, m.cell))
    keys = [c.key for c in result.cells]
    assert [cell for r, cell in order if r == 0] == keys
    assert [cell for r, cell in order if r == 1] == keys[1:] + keys[:1]
    assert round_robin(3, 4) == [1, 2, 0]


def test_seeded_training_is_repeatable_and_cached(tiny_config: BenchConfig, tmp_path: Path) -> None:
    config = replace(
        tiny_config,
        techniques=("baseline", "distillation"),
        phases=("inference",),
        repeats=1,
        data_dir=str(tmp_path / "a"),
    )
    first = run_bench(config, show_progress=False)
    again = run_bench(replace(config, data_dir=str(tmp_path / "b")), show_progress=False)
    cached = run_bench(config, show_progress=False)
    assert first.trained == ["gpt-tiny", "gpt-tiny-distilled", "gpt-tiny-half"]
    assert again.trained == first.trained and cached.trained == []
    quality = [[c.info["perplexity"] for c in r.cells] for r in (first, again, cached)]
    assert quality[0] == quality[1] == quality[2]
    assert list((tmp_path / "a" / "models").glob("gpt-tiny-*.pt"))


def test_runs_go_to_the_ledger_the_config_names(tiny_config: BenchConfig, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    config = replace(
        tiny_config, techniques=("baseline",), phases=("inference",), repeats=1, db_url=url
    )
    result = run_bench(config, show_progress=False)
    other = Ledger.open(url)
    try:
        runs = other.list_runs(project="bench-test")
    finally:
        other.close()
    assert [r["id"] for r in runs] == [result.measurements[0].run_id]
    default = Ledger.open()
    try:
        assert default.list_runs(project="bench-test") == []
    finally:
        default.close()
