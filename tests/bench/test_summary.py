"""The summary from known measurements: intervals, change against the baseline, notes."""

from __future__ import annotations

import pytest
from rich.console import Console

from greenai.bench.cells import Cell, Skipped
from greenai.bench.config import BenchConfig
from greenai.bench.runner import BenchResult, Measurement
from greenai.bench.stats import Interval
from greenai.bench.summary import format_change, format_interval, print_summary, summarize


def _cell(technique: str, phase: str = "inference") -> Cell:
    meta = {
        "model": "m",
        "base_model": "m",
        "technique": technique,
        "phase": phase,
        "batch_size": 8,
    }
    info = {"perplexity": 12.5, "params": 1_000_000, "nonzero_params": 500_000, "size_bytes": 4e6}
    return Cell(f"m/{technique}/{phase}/b8", f"m {technique}", meta, {}, lambda ctx: None, info)


def _measure(
    cell: Cell, energies: list[float | None], tokens: int = 100, method: str = "model"
) -> list[Measurement]:
    return [
        Measurement(
            cell.key,
            r,
            f"{cell.key}#{r}",
            "decode",
            e,
            tokens,
            1.0,
            {"cpu": method} if e is not None else {},
            {"perplexity": 12.5},
        )
        for r, e in enumerate(energies)
    ]


def _result() -> BenchResult:
    base, int8, train = _cell("baseline"), _cell("int8"), _cell("baseline", "training")
    result = BenchResult("b" * 32, BenchConfig(), "cpu", cells=[base, int8, train])
    result.measurements = [
        *_measure(base, [10.0, 11.0, 12.0]),
        *_measure(int8, [13.0, 14.0, 15.0, None]),
        *[
            Measurement(
                train.key, 0, "t", "train", 2.0, 400, 1.0, {"cpu": "model"}, {"train_loss": 1.5}
            )
        ],
    ]
    result.skipped = [Skipped("m pruning training", "inference-only technique")]
    return result


def test_rows_give_mean_interval_and_change_against_the_baseline() -> None:
    rows = summarize(_result())
    base, int8, train = rows
    assert base.j_per_token is not None and base.j_per_token.value == pytest.approx(0.11)
    assert base.j_per_token.low == pytest.approx(0.11 - 4.303 * 0.01 / 3**0.5, rel=1e-3)
    assert base.change is None and base.quality == ("perplexity", 12.5)
    assert int8.missing == 1 and int8.j_per_token is not None and int8.j_per_token.n == 3
    assert int8.change is not None
    assert int8.change.value == pytest.approx(14.0 / 11.0 - 1)
    assert int8.change.low is not None and int8.change.low > 0  # int8 costs more here
    assert train.quality == ("train_loss", 1.5) and train.change is None
    assert train.j_per_token is not None and train.j_per_token.value == pytest.approx(2.0 / 400)


def test_printed_summary_says_the_figures_are_estimates_and_lists_skips() -> None:
    console = Console(record=True, width=250)
    print_summary(_result(), console)
    text = console.export_text()
    assert "estimates, not measurements" in text
    assert "skipped m pruning training: inference-only technique" in text
    assert "+27%" in text and "cpu:model" in text and "(+1 ?)" in text


def test_measured_figures_carry_no_estimate_note() -> None:
    result = _result()
    result.measurements = [
        m.__class__(**{**{f: getattr(m, f) for f in m.__slots__}, "methods": {"gpu": "counter"}})
        for m in result.measurements
    ]
    console = Console(record=True, width=250)
    print_summary(result, console)
    assert "estimates" not in console.export_text()


def test_formatting() -> None:
    assert format_interval(Interval(0.00123, 0.00118, 0.00128, 3)) == "1.23 mJ ± 50.0 µJ"
    assert format_interval(Interval(2.5, None, None, 1)) == "2.50 J"
    assert format_interval(None) == "-"
    assert format_change(Interval(-0.38, -0.45, -0.31, 5)) == "-38% (-45% to -31%)"
    assert format_change(Interval(0.02, -0.05, 0.09, 5)) == "+2% (-5% to +9%) n.s."
    assert format_change(None) == "-"
