"""Workload lines: what a saving compares, like for like.

A technique's energy per token is compared with its baseline's only on the same
workload: the same hardware, the same part of the work (a steady-state window by its
name, else the run's phase), the same batch size and sequence length, and the same
basis of the figure. A run with windows its caller marked steady state
(``run.window(name, steady_state=True)``; every measured window of ``greenai bench``)
gives one line per such window: the window's IT energy over the tokens processed in it
(:data:`~greenai.figures.definitions.STEADY_J_PER_TOKEN`), as ``greenai bench`` reports
it. A run without one gives one line: its whole-run energy per output token
(:data:`~greenai.figures.definitions.J_PER_OUTPUT_TOKEN`). Windows are never taken as
steady state from their name.
"""

from __future__ import annotations

import pandas as pd

from greenai.figures import definitions as defs

BASES = {"steady_state": defs.STEADY_J_PER_TOKEN, "whole_run": defs.J_PER_OUTPUT_TOKEN}
WORKLOAD_KEYS = ("hardware", "basis", "workload", "batch_size", "seq_len")
RUN_KEYS = ("id", "model", "base_model", "technique", "hardware", "batch_size", "seq_len")
FIGURES = ("j_per_token", "tokens_per_kwh", "g_per_1k_tokens")
LINE_COLUMNS = (*RUN_KEYS, "basis", "workload", "energy_j", "emissions_kg", "tokens", *FIGURES)


def workload_lines(rows: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """One line per steady-state window of each run, or per run without one.

    Args:
        rows: Runs with ``RUN_KEYS``, ``phase``, ``energy_j``, ``emissions_kg`` and
            ``tokens_output`` (the output of :func:`~greenai.queries.compare.with_ratios`).
        windows: Their windows (``run_id``, ``name``, ``steady_state``, ``energy_j``,
            ``tokens_input``, ``tokens_output``).

    Returns:
        ``LINE_COLUMNS``: ``basis`` (``steady_state`` or ``whole_run``), ``workload`` (the
        window's name or the run's phase), the energy, emissions and tokens the figures
        divide, and the figures: ``j_per_token`` (see ``BASES``), ``tokens_per_kwh`` and
        ``g_per_1k_tokens`` over the same tokens (a window's emissions are its energy at
        its run's emissions per joule). Windows below the counters' resolution (no
        energy) or without tokens give no line; their run then gives none either.
    """
    marked = _marked_runs(windows)
    steady = _steady_windows(windows)
    whole = rows[~rows["id"].isin(marked)]
    whole = whole[whole["tokens_output"].fillna(0) > 0]
    run_lines = whole.assign(
        basis="whole_run",
        workload=whole["phase"],
        tokens=whole["tokens_output"].astype(float),
    )
    parts = [run_lines]
    if not steady.empty:
        runs = rows[[*RUN_KEYS, "energy_j", "emissions_kg"]]
        merged = steady.merge(runs, left_on="run_id", right_on="id")
        merged = merged[merged["tokens"] > 0]
        kg_per_j = defs.share(merged["emissions_kg"].astype(float).fillna(0.0), merged["energy_j"])
        parts.append(
            merged.assign(
                basis="steady_state",
                workload=merged["name"],
                energy_j=merged["w_j"],
                emissions_kg=merged["w_j"] * kg_per_j.fillna(0.0),
            )
        )
    columns = list(LINE_COLUMNS[: -len(FIGURES)])
    lines = pd.concat([p.reindex(columns=columns) for p in parts], ignore_index=True)
    energy, tokens = lines["energy_j"].astype(float), lines["tokens"].astype(float)
    lines["j_per_token"] = defs.j_per_token(energy, tokens)
    lines["tokens_per_kwh"] = defs.tokens_per_kwh(tokens, energy)
    emissions = lines["emissions_kg"].astype(float).fillna(0.0)
    lines["g_per_1k_tokens"] = defs.g_per_1k_tokens(emissions, tokens)
    return lines[list(LINE_COLUMNS)]


def _marked(windows: pd.DataFrame) -> pd.Series:
    """Which windows were marked steady state (missing counts as not)."""
    return windows["steady_state"].fillna(False).astype(bool)


def _marked_runs(windows: pd.DataFrame) -> set[str]:
    """Runs with at least one window marked steady state."""
    if windows.empty or "steady_state" not in windows:
        return set()
    return set(windows.loc[_marked(windows), "run_id"])


def _steady_windows(windows: pd.DataFrame) -> pd.DataFrame:
    """Steady-state windows with an energy, as ``run_id``, ``name``, ``w_j``, ``tokens``."""
    if windows.empty or "steady_state" not in windows:
        return pd.DataFrame(columns=["run_id", "name", "w_j", "tokens"])
    chosen = windows[_marked(windows) & windows["energy_j"].notna()]
    tokens = chosen["tokens_input"].fillna(0).astype(float) + chosen["tokens_output"].fillna(0)
    return pd.DataFrame(
        {
            "run_id": chosen["run_id"],
            "name": chosen["name"],
            "w_j": chosen["energy_j"].astype(float),
            "tokens": tokens.astype(float),
        }
    )
