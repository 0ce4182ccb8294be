"""The canonical frame of run lines, and the totals every surface shows.

One loader for the dashboard, the reports, the CLI and exports:

- **Lines**: one per root run inside a period (a multi-rank job is one line, its parts
  add up into it), with scope, location, factor, method and share labels
  (:mod:`greenai.figures.lines`); a run crossing a period boundary is split by its stored
  power series, else pro rata by time (:mod:`greenai.figures.split`), in the configured
  time zone (:mod:`greenai.figures.periods`).
- **Boundary**: node idle and unallocated energy from the agents, as lines of their own
  (:mod:`greenai.figures.node`), only when no selection narrows the runs (node energy
  belongs to no project, phase, model or hardware of a run).
- **Totals** (:func:`totals`): sums with :func:`math.fsum` in line order, so that the
  same lines give the same figures to the last bit on every surface; runs-only and
  boundary totals kept apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from greenai.figures import definitions as defs
from greenai.figures.evidence import evidence_columns
from greenai.figures.inputs import ReportInputs, load_inputs
from greenai.figures.lines import Defaults, missing, run_lines
from greenai.figures.node import HostProfile, host_profiles, node_lines
from greenai.figures.scope import SCOPE2, SCOPE3_CLOUD, MarketFactors, apply_market, scope_of
from greenai.figures.split import period_shares

if TYPE_CHECKING:
    from greenai.config import Settings
    from greenai.ledger import Ledger

__all__ = [
    "NODE_GROUP", "PeriodLines", "Selection", "changes", "in_period", "largest", "over_time",
    "read_lines", "run_figures", "total", "totals",
]  # fmt: skip

SCALED = ("energy_it_j", "facility_j", "measured_j", "loc_kg", "market_kg",
          "tokens_input", "tokens_output", "water_l", "cost")  # fmt: skip
"""Line figures a period's share scales."""


@dataclass(frozen=True)
class Selection:
    """Which runs' lines to keep (empty: all). Projects are applied when reading; any
    selection leaves node energy out of the boundary (it belongs to no run).

    Attributes:
        projects, phases, models, hardware, techniques: Keep only these values.
        hosts: Keep only runs that drew energy on one of these hosts (a multi-host job
            lists each of its hosts).
    """

    projects: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    hardware: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()

    @property
    def narrows(self) -> bool:
        """Whether any value is selected."""
        chosen = (self.projects, self.phases, self.models, self.hardware, self.techniques)
        return any(chosen) or bool(self.hosts)

    def keep(self, lines: pd.DataFrame) -> pd.DataFrame:
        """The run lines whose columns match the selection."""
        kept = lines
        for column, values in (
            ("project", self.projects),
            ("phase", self.phases),
            ("model", self.models),
            ("hardware", self.hardware),
            ("technique", self.techniques),
        ):
            if values:
                kept = kept[kept[column].isin(values)]
        if self.hosts:
            wanted = set(self.hosts)
            kept = kept[[bool(wanted.intersection(listed or ())) for listed in kept["hosts"]]]
        return kept


def total(values: Iterable[Any]) -> float:
    """The exact (fsum) sum of the values present (None and NaN left out)."""
    return math.fsum(float(v) for v in values if not missing(v))


def in_period(
    lines: pd.DataFrame, series: Mapping[str, pd.DataFrame], start_s: float, end_s: float
) -> pd.DataFrame:
    """The run lines with a share in ``[start_s, end_s)``, figures scaled by that share.

    Adds ``share`` and ``split_method``; keeps line order.
    """
    if not len(lines):
        return lines.assign(share=pd.Series(dtype=float), split_method=pd.Series(dtype=object))
    shares = period_shares(lines, start_s, end_s, series)
    out = lines.assign(share=shares["share"], split_method=shares["split_method"].astype(object))
    out = out[out["share"] > 0].copy()
    for column in SCALED:
        if column in out:
            out[column] = out[column].astype(float) * out["share"]
    return out.reset_index(drop=True)


def _configured_profile(settings: Settings) -> HostProfile:
    """The profile of a host without runs: the configured location, factor and PUE."""
    from greenai.emissions import resolve_factor

    factor = resolve_factor(settings)
    location = factor.location if factor.location not in ("unset", "world") else "unknown"
    return HostProfile(
        scope_of(settings.cloud_provider),
        settings.country,
        settings.region,
        location,
        settings.pue,
        factor.intensity_g_per_kwh,
        factor.source,
        factor.codecarbon_version,
        evidence_columns(factor.evidence),
    )


class PeriodLines:
    """Lines read once, and each period's share of them.

    Args:
        inputs: What was read (:func:`~greenai.figures.inputs.load_inputs`).
        settings: Water, price, market factors and the configured location of hosts
            without runs.
        selection: Which runs to keep (projects were applied when reading).
    """

    def __init__(
        self, inputs: ReportInputs, settings: Settings, selection: Selection | None = None
    ) -> None:
        self.inputs = inputs
        self.selection = selection or Selection()
        self.market = MarketFactors.from_settings(settings)
        self.defaults = Defaults(settings.wue, settings.price_per_kwh, settings.currency)
        lines = apply_market(run_lines(inputs.runs, self.defaults), self.market)
        self.profiles = host_profiles(lines)
        self.runs = self.selection.keep(lines).reset_index(drop=True)
        with_nodes = len(inputs.nodes) and not self.selection.narrows
        self.default_profile = _configured_profile(settings) if with_nodes else None

    def period(self, start: datetime, end: datetime) -> tuple[pd.DataFrame, list[str]]:
        """The lines of ``[start, end)`` (aware): run lines, then node lines; and the
        notes of hosts whose runs exceed their node's energy."""
        start_s, end_s = start.timestamp(), end.timestamp()
        runs = in_period(self.runs, self.inputs.series, start_s, end_s)
        if self.default_profile is None:
            return runs, []
        nodes, notes = node_lines(
            self.inputs.nodes, runs, self.profiles, self.default_profile, start_s, end_s,
            self.defaults,
        )  # fmt: skip
        if not len(nodes):
            return runs, notes
        nodes = apply_market(nodes, self.market)
        return pd.concat([runs, nodes], ignore_index=True), notes


def read_lines(
    ledger: Ledger,
    periods: Sequence[tuple[datetime, datetime]],
    *,
    settings: Settings,
    as_of: datetime,
    selection: Selection | None = None,
) -> PeriodLines:
    """Reads what the ``periods`` (``[start, end)``, aware) need, once.

    Runs that started up to a year before the first period are read, so a run that
    runs into a period is split, not lost; runs crossing any boundary get their series.
    """
    chosen = selection or Selection()
    boundaries = sorted({moment for period in periods for moment in period})
    inputs = load_inputs(
        ledger,
        window_start=min(start for start, _ in periods),
        window_end=max(end for _, end in periods),
        boundaries=boundaries,
        projects=sorted(set(chosen.projects)),
        as_of=as_of,
        tiers=[t for t, _ in settings.series_tiers],
    )
    return PeriodLines(inputs, settings, chosen)


def totals(lines: pd.DataFrame) -> dict[str, float]:
    """The totals of a period's lines, in base units (J, kg, tokens); NaN where a ratio
    has no denominator.

    Returns:
        Runs only, every scope: ``energy_j``, ``facility_energy_j``, ``emissions_kg``
        (location-based), ``measured_energy_j``, ``measured_share``, ``runs`` (root runs
        with a share), ``tokens_input``, ``tokens_output`` and ``j_per_output_token``.
        The boundary (runs + node idle energy), every scope: ``boundary_energy_j``,
        ``boundary_facility_energy_j``, ``boundary_emissions_kg``.
        Scope 2 (own operations, boundary): ``scope2_energy_j``,
        ``scope2_runs_energy_j`` (its runs only), ``scope2_facility_energy_j``,
        ``scope2_location_kg``, ``scope2_market_kg``, ``scope2_measured_share``.
        Cloud (Scope 3 category 1): ``scope3_cloud_energy_j``,
        ``scope3_cloud_facility_energy_j``, ``scope3_cloud_kg``.
        Tokens, every scope: ``tokens`` (input + output), ``tokens_energy_j`` (IT energy
        of the runs that counted tokens) and ``kwh_per_million_tokens``.
    """
    frame = lines if len(lines) else pd.DataFrame(columns=[*SCALED, "kind", "scope"])
    runs = frame[frame["kind"] == "run"]
    s2, s3 = frame[frame["scope"] == SCOPE2], frame[frame["scope"] == SCOPE3_CLOUD]
    producing = runs[runs["tokens_output"].astype(float) > 0]
    counted = runs[(runs["tokens_output"].astype(float) + runs["tokens_input"].astype(float)) > 0]
    energy, measured = total(runs["energy_it_j"]), total(runs["measured_j"])
    tokens_output, tokens_input = total(runs["tokens_output"]), total(runs["tokens_input"])
    tokens, tokens_energy = math.fsum((tokens_input, tokens_output)), total(counted["energy_it_j"])
    scope2 = total(s2["energy_it_j"])
    return {
        "energy_j": energy,
        "facility_energy_j": total(runs["facility_j"]),
        "emissions_kg": total(runs["loc_kg"]),
        "measured_energy_j": measured,
        "measured_share": defs.share(measured, energy),
        "runs": float(len(runs)),
        "tokens_input": tokens_input,
        "tokens_output": tokens_output,
        "j_per_output_token": defs.j_per_token(total(producing["energy_it_j"]), tokens_output),
        "boundary_energy_j": total(frame["energy_it_j"]),
        "boundary_facility_energy_j": total(frame["facility_j"]),
        "boundary_emissions_kg": total(frame["loc_kg"]),
        "scope2_energy_j": scope2,
        "scope2_runs_energy_j": total(s2[s2["kind"] == "run"]["energy_it_j"]),
        "scope2_facility_energy_j": total(s2["facility_j"]),
        "scope2_location_kg": total(s2["loc_kg"]),
        "scope2_market_kg": total(s2["market_kg"]) if "market_kg" in s2 else math.nan,
        "scope2_measured_share": defs.share(total(s2["measured_j"]), scope2),
        "scope3_cloud_energy_j": total(s3["energy_it_j"]),
        "scope3_cloud_facility_energy_j": total(s3["facility_j"]),
        "scope3_cloud_kg": total(s3["loc_kg"]),
        "tokens": tokens,
        "tokens_energy_j": tokens_energy,
        "kwh_per_million_tokens": defs.kwh_per_million_tokens(tokens_energy, tokens),
    }


RUN_FIGURES = {"energy_it_j": "energy_j", "facility_j": "facility_energy_j",
               "loc_kg": "emissions_kg"}  # fmt: skip
"""Line columns under the names of the runs table, for per-run views of a period."""


def run_figures(lines: pd.DataFrame) -> pd.DataFrame:
    """The run lines of a period with their figures under the runs table's names
    (``energy_j``, ``facility_energy_j``, ``emissions_kg``): each run's share of the
    period, for breakdowns such as the largest consumers."""
    runs = lines[lines["kind"] == "run"] if len(lines) else lines
    return runs.rename(columns=RUN_FIGURES).reset_index(drop=True)


NODE_GROUP = "node idle"
"""The group of node idle energy in breakdowns by a run's column."""


def bucket_lines(lines: PeriodLines, buckets: Sequence[tuple[datetime, datetime]]) -> pd.DataFrame:
    """The lines of each time bucket (``[start, end)``, aware, in order), each run split
    at the buckets' edges as a period is, with the bucket's start as ``period`` (aware
    UTC). Read once, then stacked by any column (:func:`over_time`)."""
    parts = []
    for start, end in buckets:
        frame = lines.period(start, end)[0]
        if len(frame):
            parts.append(frame.assign(period=pd.Timestamp(start).tz_convert("UTC")))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


OVER_TIME_COLUMNS = ["period", "group", "energy_j", "facility_energy_j", "emissions_kg", "runs"]


def over_time(buckets: pd.DataFrame, *, by: str = "project", keep: int = 7) -> pd.DataFrame:
    """Energy and emissions per time bucket and group (so the buckets add up to the
    period's totals).

    Args:
        buckets: The buckets' lines (:func:`bucket_lines`).
        by: Run column to stack by (``project``, ``phase``, ``model``...); node idle
            energy is its own group (:data:`NODE_GROUP`).
        keep: Largest groups kept by name; the rest are summed as ``other``.

    Returns:
        ``period`` (bucket start, aware UTC), ``group``, ``energy_j``,
        ``facility_energy_j``, ``emissions_kg``, ``runs`` (lines with a share in the
        bucket).
    """
    if not len(buckets):
        return pd.DataFrame(columns=OVER_TIME_COLUMNS)
    labels = buckets[by].astype(object).where(buckets[by].notna(), "(none)").astype(str)
    labels = labels.where(buckets["kind"] == "run", NODE_GROUP)
    ranked = buckets["energy_it_j"].astype(float).groupby(labels).sum()
    top = set(ranked.sort_values(ascending=False).index[:keep]) | {NODE_GROUP}
    out = (
        buckets.assign(group=labels.where(labels.isin(top), "other"))
        .groupby(["period", "group"], sort=True)
        .agg(
            energy_j=("energy_it_j", total),
            facility_energy_j=("facility_j", total),
            emissions_kg=("loc_kg", total),
            runs=("id", "size"),
        )
        .reset_index()
    )
    return out[OVER_TIME_COLUMNS]


def changes(current: Mapping[str, float], previous: Mapping[str, float]) -> dict[str, float | None]:
    """Relative change of each total against the period before (0.12 = +12%), from the
    unrounded totals; None where the earlier value is zero or unknown (no ratio)."""
    out: dict[str, float | None] = {}
    for name, now in current.items():
        before = previous.get(name)
        if before is None or missing(before) or before == 0 or missing(now):
            out[name] = None
        else:
            out[name] = (now - before) / abs(before)
    return out


def largest(
    runs: pd.DataFrame, by: Sequence[str] = ("project", "model"), n: int = 10
) -> pd.DataFrame:
    """The ``n`` groups of a period's run lines (:func:`run_figures`) that drew the most
    IT energy, with their share of the runs' total.

    Returns:
        The ``by`` columns (missing values as ``(none)``), ``runs``, ``energy_j``,
        ``facility_energy_j``, ``emissions_kg``, ``tokens_output``, ``share``; sums with
        :func:`math.fsum`, largest first.
    """
    columns = [*by, "runs", "energy_j", "facility_energy_j", "emissions_kg", "tokens_output",
               "share"]  # fmt: skip
    if runs.empty:
        return pd.DataFrame(columns=columns)
    frame = runs.copy()
    for key in by:
        frame[key] = frame[key].astype(object).where(frame[key].notna(), "(none)").astype(str)
    out = (
        frame.groupby(list(by), sort=False)
        .agg(
            runs=("id", "size"),
            energy_j=("energy_j", total),
            facility_energy_j=("facility_energy_j", total),
            emissions_kg=("emissions_kg", total),
            tokens_output=("tokens_output", total),
        )
        .reset_index()
    )
    whole = total(frame["energy_j"])
    out["share"] = defs.share(out["energy_j"], whole) if whole else 0.0
    out = out.sort_values("energy_j", ascending=False, kind="stable").head(n)
    return out.reset_index(drop=True)[columns]
