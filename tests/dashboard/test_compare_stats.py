"""greenai.queries.stats and .compare: t quantiles against published tables, intervals,
savings against the right baseline, Pareto frontier, prefill vs decode."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from greenai.queries import compare, stats
from greenai.queries.workloads import workload_lines


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [(0.975, 1, 12.706204736), (0.975, 2, 4.302652730), (0.975, 4, 2.776445105),
     (0.975, 10, 2.228138852), (0.975, 30, 2.042272456), (0.995, 3, 5.840909310),
     (0.025, 5, -2.570581836), (0.975, math.inf, 1.959963985)],
)  # fmt: skip
def test_t_quantiles_match_tables(p: float, df: float, expected: float) -> None:
    assert stats.t_quantile(p, df) == pytest.approx(expected, abs=1e-8)


def test_t_quantile_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        stats.t_quantile(1.0, 3)
    with pytest.raises(ValueError):
        stats.t_quantile(0.9, 0)


def test_t_interval() -> None:
    found = stats.t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    half = 2.776445105 * math.sqrt(2.5) / math.sqrt(5)
    assert (found.mean, found.n) == (3.0, 5)
    assert found.low == pytest.approx(3.0 - half) and found.high == pytest.approx(3.0 + half)
    single = stats.t_interval([7.0, math.nan])
    assert single.n == 1 and math.isnan(single.low)


def test_welch_ratio_by_hand() -> None:
    treated, reference = [0.62, 0.60, 0.64, 0.61, 0.63], [1.00, 1.02, 0.98, 1.01, 0.99]
    a, b = 0.00025 / (5 * 0.62**2), 0.00025 / 5  # s^2 / (n mean^2)
    df = (a + b) ** 2 / (a**2 / 4 + b**2 / 4)
    half = stats.t_quantile(0.975, df) * math.sqrt(a + b)
    found = stats.welch_ratio(treated, reference)
    assert found.ratio == pytest.approx(0.62)
    assert found.low == pytest.approx(0.62 * math.exp(-half))
    assert found.high == pytest.approx(0.62 * math.exp(half))
    assert found.low == pytest.approx(0.6004, abs=1e-4) and df == pytest.approx(6.68, abs=0.01)


def test_bootstrap_is_seeded_and_covers_the_ratio() -> None:
    rng = np.random.default_rng(1)
    treated, reference = rng.normal(6.0, 0.5, 8), rng.normal(10.0, 0.8, 8)
    one = stats.bootstrap_ratio(treated, reference, seed=3)
    assert one == stats.bootstrap_ratio(treated, reference, seed=3)
    assert one.low < one.ratio < one.high
    assert stats.bootstrap_ratio(treated, reference, seed=4) != one


def _runs(rows: list[tuple[str, str | None, str | None, str, int | None, list[float]]]):
    out: list[dict[str, object]] = []
    for model, technique, base, hardware, batch, energies in rows:
        for energy in energies:
            out.append({"id": f"r{len(out)}", "model": model, "technique": technique,
                        "base_model": base, "hardware": hardware, "batch_size": batch,
                        "seq_len": None, "phase": "inference", "energy_j": energy,
                        "tokens_output": 100, "emissions_kg": energy * 1e-7})  # fmt: skip
    return compare.with_ratios(pd.DataFrame(out))


def test_savings_pair_on_hardware_and_batch_size() -> None:
    rows = _runs([
        ("m", "baseline", None, "H100", 8, [100, 102, 98]),
        ("m", None, None, "A100", 8, [300, 310, 290]),  # no technique = baseline too
        ("m", "baseline", None, "H100", 64, [30, 31, 29]),
        ("m-q", "int8", "m", "H100", 8, [60, 61, 59]),
        ("m-q", "int8", "m", "A100", 8, [290, 320, 300]),
        ("m-q", "int8", "m", "H100", 16, [50, 50]),  # no baseline at batch 16: left out
    ])  # fmt: skip
    found = compare.savings(workload_lines(rows, pd.DataFrame()))
    assert list(zip(found["hardware"], found["batch_size"], strict=True)) == [
        ("A100", 8), ("H100", 8)]  # fmt: skip
    a100, h100 = found.iloc[0], found.iloc[1]
    assert found["significant"].tolist() == [False, True]
    assert h100["change"] == pytest.approx(-0.4)
    assert h100["n_baseline"] == 3 and h100["label"].startswith("int8: -40% J/token (")
    assert a100["change_low"] < 0 < a100["change_high"]
    assert a100["label"].startswith("int8: no significant difference in J/token (")


def test_savings_never_pool_unlike_workloads() -> None:
    """Prefill-like runs (sequence 256) and decode-like runs (sequence 64) of one model on
    one machine: each technique is compared on its own workload only, and a workload
    with no baseline is reported as such, not folded into another."""
    out: list[dict[str, object]] = []
    for model, technique, base, seq, energies in (
        ("m", "baseline", None, 256, [100.0, 101.0, 99.0]),
        ("m", "baseline", None, 64, [10.0, 10.2, 9.8]),
        ("m-bf16", "bf16", "m", 256, [54.0, 55.0, 53.0]),  # -46% on the long sequences
        ("m-bf16", "bf16", "m", 64, [10.1, 9.9, 10.0]),  # no change on the short ones
        ("m-bf16", "bf16", "m", 128, [30.0, 31.0]),  # no baseline at 128
    ):
        for energy in energies:
            out.append({"id": f"r{len(out)}", "model": model, "technique": technique,
                        "base_model": base, "hardware": "H100", "batch_size": 8,
                        "seq_len": seq, "phase": "inference", "energy_j": energy,
                        "tokens_output": 100, "emissions_kg": 0.0})  # fmt: skip
    lines = workload_lines(compare.with_ratios(pd.DataFrame(out)), pd.DataFrame())
    found = compare.savings(lines)
    assert found["seq_len"].tolist() == [64, 256]
    assert found["change"].tolist() == pytest.approx([0.0, -0.46], abs=1e-9)
    assert found["significant"].tolist() == [False, True]
    alone = compare.without_baseline(lines)
    assert alone[["technique", "seq_len", "n"]].to_dict("records") == [
        {"technique": "bf16", "seq_len": 128, "n": 2}
    ]


def test_saving_without_an_interval_says_so() -> None:
    rows = _runs(
        [("m", "baseline", None, "H100", 8, [100, 102]), ("q", "fp8", "m", "H100", 8, [90])]
    )
    (label,) = compare.savings(workload_lines(rows, pd.DataFrame()))["label"]
    assert label == "fp8: -11% J/token, n=1 (too few runs for an interval)"


def test_group_stats_keep_missing_keys_as_groups() -> None:
    rows = _runs([("m", "baseline", None, "H100", None, [100, 110]),
                  ("m", "baseline", None, "H100", 8, [50])])  # fmt: skip
    found = compare.group_stats(rows)
    assert list(found["batch_size"]) == [8, None] and list(found["n"]) == [1, 2]
    assert found["j_per_output_token_mean"].tolist() == pytest.approx([0.5, 1.05])


def test_pareto_frontier() -> None:
    energy, quality = [1.0, 0.62, 1.0, 0.25, 2.0], [0.80, 0.78, 0.79, 0.75, 0.80]
    assert compare.pareto_frontier(energy, quality) == [True, True, False, True, False]
    # Lower is better (perplexity): the cheapest point with the lowest perplexity wins.
    assert compare.pareto_frontier([1.0, 2.0], [5.0, 4.0], higher_is_better=False) == [True, True]
    assert compare.pareto_frontier([1.0, 2.0], [4.0, 5.0], higher_is_better=False) == [True, False]


def test_window_split_uses_input_tokens_for_prefill() -> None:
    rows = _runs([("m", "baseline", None, "H100", 8, [1000])])
    windows = pd.DataFrame(
        [("r0", "prefill", 200.0, 500, 0), ("r0", "decode", 800.0, 0, 100),
         ("r0", "tiny", None, 0, 5)],  # energy below the counter's resolution: left out
        columns=["run_id", "name", "energy_j", "tokens_input", "tokens_output"],
    )  # fmt: skip
    split = compare.window_split(rows, windows)
    got = dict(
        zip(split["window"], zip(split["j_per_token"], split["share"], strict=True), strict=True)
    )
    assert got == {"decode": (8.0, 0.8), "prefill": (0.4, 0.2)}
