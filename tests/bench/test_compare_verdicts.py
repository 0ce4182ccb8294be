"""Compare and the bench summary give the same verdicts on the runs a bench produced.

A real benchmark (gpt-tiny on the CPU, three repeats) writes its runs into a SQLite
ledger; the dashboard's Compare figures are then computed from that ledger alone
(runs and their windows, as the page reads them) and set against the bench's own
summary: every saving the bench reports appears once, on the same workload, with the
same change and interval and so the same verdict, and Compare reports no other.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from dashboard import data
from greenai.bench.config import BenchConfig
from greenai.bench.runner import run_bench
from greenai.bench.summary import summarize
from greenai.ledger import Ledger
from greenai.queries import RunFilter, runs_frame, windows_frame
from greenai.queries.compare import savings, with_ratios, without_baseline
from greenai.queries.workloads import workload_lines

METRIC = "j_per_output_token"  # the Figure the page opens on; its savings are in J/token


def _verdict(change: float, low: float | None, high: float | None) -> str:
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return "no interval"
    if low <= 0.0 <= high:
        return "no significant difference"
    return "lower" if change < 0 else "higher"


def test_compare_gives_the_bench_summary_verdicts(tiny_config: BenchConfig, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    config = replace(
        tiny_config,
        techniques=("baseline", "bf16", "pruning"),
        phases=("inference",),
        batch_sizes=(1, 2),
        repeats=3,
        prefill_iters=320,  # prefill windows of tens of ms: several CPU-time ticks each
        decode_tokens=44,
        db_url=url,
    )
    result = run_bench(config, show_progress=False)
    assert not result.failures
    bench: dict[tuple[Any, ...], tuple[float, str]] = {}
    unpaired = set()  # measured, but its baseline's windows were all below resolution
    for row in summarize(result):
        meta = row.cell.meta
        key = (meta["model"], meta["technique"], row.window, meta["batch_size"])
        if row.change is not None:
            change = row.change
            bench[key] = (change.value, _verdict(change.value, change.low, change.high))
        elif row.j_per_token is not None and meta["technique"] != "baseline":
            unpaired.add(key)
    # 2 techniques x 2 windows x 2 batch sizes, less those a short window left unmeasured
    assert bench and len(bench) + len(unpaired) <= 8

    with Ledger.open(url) as ledger:
        runs = with_ratios(runs_frame(ledger, RunFilter(statuses=("completed",))))
        windows = windows_frame(ledger, tuple(runs["id"]))
    lines = workload_lines(runs, windows)
    assert set(lines["basis"]) == {"steady_state"}
    found = savings(lines, "j_per_token")
    compare = {
        (r.model, r.technique, r.workload, r.batch_size): (
            r.change,
            _verdict(r.change, r.change_low, r.change_high),
        )
        for r in found.itertuples()
    }
    assert len(found) == len(compare)  # one saving per workload: nothing pooled
    assert compare.keys() == bench.keys()
    for key, (change, verdict) in bench.items():
        assert compare[key][0] == pytest.approx(change, rel=1e-9), key
        assert compare[key][1] == verdict, key
    # the page's own data path (root runs, its columns, its cache) gives the same
    page = data.compare_savings(url, RunFilter(statuses=("completed",)), (), (), METRIC, "welch")
    assert page[["workload", "change"]].equals(found[["workload", "change"]])
    alone = without_baseline(lines)[["model", "technique", "workload", "batch_size"]]
    assert set(alone.itertuples(index=False, name=None)) == unpaired
