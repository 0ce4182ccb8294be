"""User workloads (module:function and the entry point group) through the real runner."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from greenai.bench.config import BenchConfig
from greenai.bench.plugins import ENTRY_POINT_GROUP, load_workload, registered_workloads
from greenai.bench.runner import run_bench
from greenai.errors import ConfigError
from greenai.ledger import Ledger


def _user_config(tiny_config: BenchConfig, *workloads: str) -> BenchConfig:
    return replace(tiny_config, models=(), workloads=workloads, repeats=2)


def test_module_function_workload_runs_as_tracked_runs(tiny_config: BenchConfig) -> None:
    result = run_bench(
        _user_config(tiny_config, "tests.bench.sample_workloads:matmul"), show_progress=False
    )
    assert not result.failures and len(result.measurements) == 2
    ledger = Ledger.open()
    try:
        records = [ledger.get_run(m.run_id) for m in result.measurements]
    finally:
        ledger.close()
    for record in records:
        assert record is not None
        run = record["run"]
        assert (run["model"], run["technique"], run["precision"]) == (
            "toy-matmul",
            "baseline",
            "fp32",
        )
        assert run["batch_size"] == 2 and run["tags"]["workload"].endswith(":matmul")
        assert record["windows"][0]["name"] == "decode"
        assert record["windows"][0]["tokens_output"] == 400
        assert [m["name"] for m in record["metrics"]] == ["accuracy"]


def test_a_failing_repeat_is_recorded_failed_and_the_others_go_on(tiny_config: BenchConfig) -> None:
    config = _user_config(
        tiny_config, "tests.bench.sample_workloads:flaky", "tests.bench.sample_workloads:no_windows"
    )
    result = run_bench(config, show_progress=False)
    assert result.failures == [
        "workload:tests.bench.sample_workloads:flaky/b2 #1: RuntimeError: out of memory"
    ]
    windows = sorted((m.cell.split(":")[-1], m.window, m.tokens) for m in result.measurements)
    assert windows == [
        ("flaky/b2", "step", 1),
        ("no_windows/b2", "run", 12),
        ("no_windows/b2", "run", 12),
    ]
    ledger = Ledger.open()
    try:
        statuses = sorted(r["status"] for r in ledger.list_runs(project="bench-test"))
    finally:
        ledger.close()
    assert statuses == ["completed", "completed", "completed", "failed"]


def test_entry_point_workloads_are_found_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = tmp_path / "greenai_sample-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: greenai-sample\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\ntoy = tests.bench.sample_workloads:matmul\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "toy" in registered_workloads()
    fn, meta = load_workload("toy")
    assert fn.__name__ == "matmul" and meta["model"] == "toy-matmul"


@pytest.mark.parametrize(
    "spec", ["no-such-workload", "tests.bench.sample_workloads:nope", "no_such_module:fn"]
)
def test_unknown_workloads_are_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_workload(spec)
    assert caught.value.key == "workload" and "module:function" in str(caught.value)


def test_undecorated_functions_get_default_metadata() -> None:
    _, meta = load_workload("tests.bench.sample_workloads:no_windows")
    assert meta == {"technique": "baseline", "phase": "inference", "model": "no_windows"}
