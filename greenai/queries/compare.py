"""Model x technique comparisons on run totals: per-token figures, their spread over
repeated runs, savings against a baseline, quality against energy, prefill vs decode.

Pure functions on the DataFrames of :mod:`greenai.queries.frames`; no Streamlit, so the
dashboard, the reports and the CLI share them. Energy per token is IT energy over output
tokens; emissions per token use the run's emissions (facility energy x its factor).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from greenai.figures import definitions as defs
from greenai.queries.stats import RatioInterval, bootstrap_ratio, t_interval, welch_ratio
from greenai.queries.workloads import WORKLOAD_KEYS

# Per-run figures: column -> (label, unit, lower is better), from their definitions.
METRICS: dict[str, tuple[str, str, bool]] = {
    d.key: (d.label, d.unit, d.lower_is_better)
    for d in (defs.J_PER_OUTPUT_TOKEN, defs.TOKENS_PER_KWH, defs.G_PER_1K_TOKENS)
}
GROUP_KEYS = ("model", "technique", "hardware", "batch_size", "seq_len")
SAVING_FIGURES = {  # METRICS key -> the figure of a workload line it compares
    "j_per_output_token": "j_per_token",
    "tokens_per_kwh": "tokens_per_kwh",
    "g_per_1k_tokens": "g_per_1k_tokens",
}
BASELINE_TECHNIQUES = ("baseline", "none", "")
Method = Literal["welch", "bootstrap"]


def with_ratios(runs: pd.DataFrame) -> pd.DataFrame:
    """Token-producing runs (output tokens > 0, energy > 0) with their per-token figures.

    Adds ``j_per_output_token`` (J), ``tokens_per_kwh`` and ``g_per_1k_tokens``
    (gCO2e per 1,000 output tokens).
    """
    keep = (runs["tokens_output"].fillna(0) > 0) & (runs["energy_j"].fillna(0) > 0)
    out = runs.loc[keep].copy()
    tokens = out["tokens_output"].astype(float)
    energy = out["energy_j"].astype(float)
    out["j_per_output_token"] = defs.j_per_token(energy, tokens)
    out["tokens_per_kwh"] = defs.tokens_per_kwh(tokens, energy)
    emissions = out["emissions_kg"].astype(float).fillna(0.0)
    out["g_per_1k_tokens"] = defs.g_per_1k_tokens(emissions, tokens)
    return out.reset_index(drop=True)


def _plain(value: Any) -> Any:
    """A key value as a plain Python value: None for missing, int for whole floats."""
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _key_tuples(frame: pd.DataFrame, keys: Sequence[str]) -> pd.Series:
    """One hashable tuple per row (missing values as None, which pandas keeps as a key)."""
    values = [[_plain(v) for v in frame[k].tolist()] for k in keys]
    return pd.Series(list(zip(*values, strict=True)), index=frame.index, dtype=object)


def _grouped(frame: pd.DataFrame, keys: Sequence[str]) -> Any:
    """``frame`` grouped by its key tuple (``_key``), missing values included."""
    return frame.assign(_key=_key_tuples(frame, keys)).groupby("_key", sort=False)


def _expand(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Turns the ``_key`` index of an aggregate into the key columns."""
    flat = frame.reset_index()
    key_list: list[tuple[Any, ...]] = flat["_key"].tolist()
    order = sorted(range(len(flat)), key=lambda i: tuple(map(_order, key_list[i])))
    flat = flat.iloc[order].reset_index(drop=True)
    for i, key in enumerate(keys):
        flat[key] = pd.Series([k[i] for k in flat["_key"]], index=flat.index, dtype=object)
    return flat.drop(columns="_key")


def group_stats(
    rows: pd.DataFrame,
    keys: Sequence[str] = GROUP_KEYS,
    metrics: Sequence[str] = tuple(METRICS),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean, t-interval and n of each metric per group of repeated runs.

    Args:
        rows: Output of :func:`with_ratios`.
        keys: Columns that define a group (missing values form their own group).
        metrics: Per-run columns to summarize.
        confidence: Confidence level of the intervals.

    Returns:
        One row per group: the keys, ``n``, and ``<metric>_mean``, ``_low``, ``_high``,
        ``_std`` per metric (bounds NaN when n < 2), sorted by the keys.
    """
    columns = [*keys, "n"] + [f"{m}_{s}" for m in metrics for s in ("mean", "low", "high", "std")]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    records: list[dict[str, Any]] = []
    for group_key, group in _grouped(rows, keys):
        record: dict[str, Any] = dict(zip(keys, group_key, strict=True))
        record["n"] = len(group)
        for metric in metrics:
            interval = t_interval(group[metric].to_numpy(dtype=float), confidence)
            record.update(
                {
                    f"{metric}_mean": interval.mean,
                    f"{metric}_low": interval.low,
                    f"{metric}_high": interval.high,
                    f"{metric}_std": interval.std,
                }
            )
        records.append(record)
    records.sort(key=lambda r: tuple(_order(r[k]) for k in keys))
    return _frame(records, columns, keys)


def _frame(
    records: list[dict[str, Any]], columns: Sequence[str], keys: Sequence[str]
) -> pd.DataFrame:
    """Records as a frame whose key columns keep plain values (8, not 8.0; None, not NaN)."""
    out = pd.DataFrame.from_records(records, columns=list(columns))
    for key in keys:
        out[key] = pd.Series([r[key] for r in records], index=out.index, dtype=object)
    return out


def _order(value: Any) -> tuple[int, float, str]:
    """Sort order of key values: numbers numerically, then text, missing last."""
    if value is None:
        return (2, 0.0, "")
    if isinstance(value, int | float):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def _is_baseline(technique: Any, baselines: Sequence[str]) -> bool:
    return technique is None or str(technique).strip().lower() in baselines


def savings(
    rows: pd.DataFrame,
    metric: str = "j_per_token",
    *,
    method: Method = "welch",
    confidence: float = 0.95,
    pair_keys: Sequence[str] = WORKLOAD_KEYS,
    baselines: Sequence[str] = BASELINE_TECHNIQUES,
    seed: int = 0,
) -> pd.DataFrame:
    """Change of ``metric`` of each technique against the baseline of its base model,
    like for like.

    Args:
        rows: Workload lines (:func:`~greenai.queries.workloads.workload_lines`).
        metric: One of their figures (``j_per_token``, ``tokens_per_kwh``,
            ``g_per_1k_tokens``).

    A technique group is (model, technique, base_model) plus ``pair_keys``; its baseline
    is the lines of ``base_model`` without a technique (or ``baseline``) with the same
    ``pair_keys``: the same workload (hardware, basis, window or phase, batch size,
    sequence length), never pooled across workloads. The change is
    ``mean(technique) / mean(baseline) - 1`` with an interval of that ratio: Welch (delta
    method on the log ratio, as ``greenai bench`` computes it) or a percentile bootstrap
    with a fixed ``seed``. Groups without a baseline: :func:`without_baseline`.

    Returns:
        One row per technique group with a baseline: the keys, ``n``, ``n_baseline``,
        ``mean``, ``baseline_mean``, ``change``, ``change_low``, ``change_high``
        (fractions: -0.38 is 38% less), ``significant`` (True/False, None without an
        interval) and ``label`` ("int8: -38% J/token (-45% to -31%), n=5").
    """
    keys = ["model", "technique", "base_model", *pair_keys]
    columns = [*keys, "n", "n_baseline", "mean", "baseline_mean", "change", "change_low",
               "change_high", "significant", "label"]  # fmt: skip
    if rows.empty:
        return pd.DataFrame(columns=columns)
    values = rows[metric].to_numpy(dtype=float)
    is_base = [_is_baseline(_plain(t), baselines) for t in rows["technique"].tolist()]
    has_base_model = rows["base_model"].notna().tolist()
    treated: dict[tuple[Any, ...], list[float]] = {}
    reference: dict[tuple[Any, ...], list[float]] = {}
    groups = zip(_key_tuples(rows, keys), _key_tuples(rows, ["model", *pair_keys]), strict=True)
    for i, (group_key, base_key) in enumerate(groups):
        if is_base[i]:
            reference.setdefault(base_key, []).append(values[i])
        elif has_base_model[i]:
            treated.setdefault(group_key, []).append(values[i])
    records = []
    for group_key in sorted(treated, key=lambda k: tuple(map(_order, k))):
        match = dict(zip(keys, group_key, strict=True))
        wanted = _baseline_of(match, pair_keys)
        if wanted not in reference:
            continue
        a, b = np.asarray(treated[group_key]), np.asarray(reference[wanted])
        interval = (
            bootstrap_ratio(a, b, confidence, seed=seed)
            if method == "bootstrap"
            else welch_ratio(a, b, confidence)
        )
        records.append({**match, **_saving_fields(interval, a, b, match["technique"], metric)})
    return _frame(records, columns, keys)


def _baseline_of(match: dict[str, Any], pair_keys: Sequence[str]) -> tuple[Any, ...]:
    return (match["base_model"], *(match[k] for k in pair_keys))


def without_baseline(
    rows: pd.DataFrame,
    *,
    pair_keys: Sequence[str] = WORKLOAD_KEYS,
    baselines: Sequence[str] = BASELINE_TECHNIQUES,
) -> pd.DataFrame:
    """Technique groups of ``rows`` (workload lines) that have no like-for-like baseline:
    no line of their base model without a technique on the same workload.

    Returns:
        model, technique, base_model, the ``pair_keys`` and ``n``, one row per group.
    """
    keys = ["model", "technique", "base_model", *pair_keys]
    if rows.empty:
        return pd.DataFrame(columns=[*keys, "n"])
    is_base = pd.Series(
        [_is_baseline(_plain(t), baselines) for t in rows["technique"].tolist()],
        index=rows.index,
        dtype=bool,
    )
    available = set(_key_tuples(rows[is_base], ["model", *pair_keys]))
    treated = rows[~is_base & rows["base_model"].notna()]
    counts: dict[tuple[Any, ...], int] = {}
    for group_key in _key_tuples(treated, keys):
        counts[group_key] = counts.get(group_key, 0) + 1
    records = [
        {**match, "n": n}
        for group_key, n in sorted(counts.items(), key=lambda kv: tuple(map(_order, kv[0])))
        if _baseline_of(match := dict(zip(keys, group_key, strict=True)), pair_keys)
        not in available
    ]
    return _frame(records, [*keys, "n"], keys)


def _saving_fields(
    interval: RatioInterval, a: np.ndarray, b: np.ndarray, technique: str, metric: str
) -> dict[str, Any]:
    low, high = interval.low - 1.0, interval.high - 1.0
    has_interval = not (math.isnan(low) or math.isnan(high))
    significant = bool(not low <= 0.0 <= high) if has_interval else None
    fields: dict[str, Any] = {
        "n": interval.n_treated,
        "n_baseline": interval.n_reference,
        "mean": float(np.nanmean(a)),
        "baseline_mean": float(np.nanmean(b)),
        "change": interval.ratio - 1.0,
        "change_low": low,
        "change_high": high,
        "significant": significant,
    }
    fields["label"] = saving_label(technique, metric, fields)
    return fields


def saving_label(technique: str, metric: str, fields: dict[str, Any]) -> str:
    """One line such as ``int8: -38% J/token (-45% to -31%), n=5``."""
    known = defs.DEFINITIONS.get(metric)
    unit = known.unit if known else metric
    n = fields["n"]
    if fields["significant"] is None:
        return f"{technique}: {fields['change']:+.0%} {unit}, n={n} (too few runs for an interval)"
    bounds = f"({fields['change_low']:+.0%} to {fields['change_high']:+.0%})"
    if not fields["significant"]:
        return f"{technique}: no significant difference in {unit} {bounds}, n={n}"
    return f"{technique}: {fields['change']:+.0%} {unit} {bounds}, n={n}"


def latest_metric(metrics: pd.DataFrame, name: str) -> pd.Series:
    """Each run's last logged value of the quality metric ``name`` (index: run id)."""
    chosen = metrics[metrics["name"] == name]
    if chosen.empty:
        return pd.Series(dtype=float, name=name)
    ordered = chosen.sort_values(["run_id", "step", "id"], na_position="first")
    return ordered.groupby("run_id")["value"].last().rename(name)


def pareto_frontier(
    energy: Sequence[float], quality: Sequence[float], *, higher_is_better: bool = True
) -> list[bool]:
    """Which points no other point beats on both energy (lower) and quality.

    Args:
        energy: Energy figure of each point (lower is better).
        quality: Quality figure of each point.
        higher_is_better: Whether a higher quality is better (accuracy) or worse
            (perplexity, loss).
    """
    sign = 1.0 if higher_is_better else -1.0
    points = [(float(e), sign * float(q)) for e, q in zip(energy, quality, strict=True)]
    on_front = []
    for i, (e_i, q_i) in enumerate(points):
        dominated = any(
            e_j <= e_i and q_j >= q_i and (e_j < e_i or q_j > q_i)
            for j, (e_j, q_j) in enumerate(points)
            if j != i
        )
        on_front.append(not dominated)
    return on_front


def quality_vs_energy(
    rows: pd.DataFrame,
    metrics: pd.DataFrame,
    quality_metric: str,
    *,
    energy_metric: str = "j_per_output_token",
    keys: Sequence[str] = ("model", "technique", "hardware", "batch_size"),
    higher_is_better: bool = True,
) -> pd.DataFrame:
    """Mean energy and mean quality per group, flagged ``on_frontier`` (Pareto).

    Only runs that logged ``quality_metric`` take part.
    """
    columns = [*keys, "n", energy_metric, quality_metric, "on_frontier"]
    quality = latest_metric(metrics, quality_metric)
    joined = rows.merge(quality, left_on="id", right_index=True, how="inner")
    if joined.empty:
        return pd.DataFrame(columns=columns)
    out = _expand(
        _grouped(joined, keys).agg(
            n=("id", "size"),
            **{energy_metric: (energy_metric, "mean"), quality_metric: (quality_metric, "mean")},
        ),
        keys,
    )
    out["on_frontier"] = pareto_frontier(
        out[energy_metric].tolist(), out[quality_metric].tolist(), higher_is_better=higher_is_better
    )
    return out[columns]


def window_split(
    rows: pd.DataFrame,
    windows: pd.DataFrame,
    keys: Sequence[str] = ("model", "technique", "hardware", "batch_size"),
) -> pd.DataFrame:
    """Energy per token by window name (prefill, decode, ...) per group of runs.

    A window's J/token is its energy over the tokens processed in it, input and output
    together (:data:`~greenai.figures.definitions.J_PER_TOKEN`, as ``greenai bench``
    counts a window). Windows whose energy is unknown (below the counter's resolution)
    are left out.

    Returns:
        keys, ``window``, ``n`` (windows), ``energy_j`` (mean per window),
        ``j_per_token`` (mean) and ``share`` (mean share of its run's energy).
    """
    columns = [*keys, "window", "n", "energy_j", "j_per_token", "share"]
    if rows.empty or windows.empty:
        return pd.DataFrame(columns=columns)
    known = windows[windows["energy_j"].notna()].copy()
    known["tokens"] = known["tokens_input"].astype(float) + known["tokens_output"].astype(float)
    known = known[known["tokens"] > 0]
    run_cols = ["id", "energy_j", *keys]
    merged = known.merge(rows[run_cols], left_on="run_id", right_on="id", suffixes=("", "_run"))
    if merged.empty:
        return pd.DataFrame(columns=columns)
    merged["j_per_token"] = defs.j_per_token(merged["energy_j"].astype(float), merged["tokens"])
    merged["share"] = defs.share(merged["energy_j"].astype(float), merged["energy_j_run"])
    merged = merged.rename(columns={"name": "window"})
    aggregated = _grouped(merged, [*keys, "window"]).agg(
        n=("window", "size"),
        energy_j=("energy_j", "mean"),
        j_per_token=("j_per_token", "mean"),
        share=("share", "mean"),
    )
    return _expand(aggregated, [*keys, "window"])[columns]
