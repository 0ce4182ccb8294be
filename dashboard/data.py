"""The dashboard's data: cached calls of greenai's query layer, on a read-only ledger.

The ledger is opened once per URL (``st.cache_resource``) on connections that cannot
write (SQLite ``query_only``, PostgreSQL read-only transactions) and that begin their
transactions deferred, so the dashboard never holds the write lock of a ledger that jobs
are writing. Every read is cached for :data:`TTL_S` seconds (``st.cache_data``) and
keyed by the ledger URL, so several ledgers can be served side by side.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa
import streamlit as st
from sqlalchemy import event

from greenai.errors import GreenAIError, StorageError
from greenai.figures import frame as figures
from greenai.figures.inputs import LOOKBACK_DAYS
from greenai.figures.periods import Period, zone
from greenai.ledger import Ledger, schema
from greenai.ledger.engine import parse_url, read_options
from greenai.queries import (
    RunFilter,
    child_runs_frame,
    compare,
    devices_frame,
    filter_options,
    metrics_frame,
    runs_frame,
    series_frame,
    windows_frame,
)
from greenai.queries.frames import RUN_COLUMNS
from greenai.queries.workloads import workload_lines

if TYPE_CHECKING:
    from greenai.config import Settings

TTL_S = 60
URL_ENV = "GREENAI_DB_URL"
# Run length (s) above which the power chart reads a coarser tier, finest first.
SERIES_TIERS = ((2 * 3600.0, None), (5 * 86400.0, "1m"), (float("inf"), "1h"))


def ledger_url() -> str:
    """The ledger to show: ``GREENAI_DB_URL``, else the configured or default ledger."""
    url = os.environ.get(URL_ENV, "").strip()
    if url:
        return url
    from greenai.config import load_settings
    from greenai.ledger.engine import default_url

    configured = load_settings().db_url
    return configured or default_url().render_as_string(hide_password=False)


def display_url(url: str) -> str:
    """``url`` with any password masked, for display."""
    try:
        return parse_url(url).display
    except GreenAIError:
        return "(invalid URL)"


def _read_only(engine: sa.Engine) -> sa.Engine:
    """The engine with connections that refuse writes and begin deferred."""
    dialect = engine.dialect.name

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        if dialect == "sqlite":
            cursor.execute("PRAGMA query_only = ON")
        elif dialect == "postgresql":
            cursor.execute("SET default_transaction_read_only = on")
        cursor.close()
        if dialect == "postgresql":
            dbapi_conn.commit()

    engine.dispose()  # connections made while opening did not go through the listener
    return engine.execution_options(**read_options())


def open_ledger(url: str) -> Ledger | None:
    """The ledger at ``url``, read-only; None while a SQLite ledger has no file yet (checked
    on every call, so the first recorded run shows up without a restart).

    Raises:
        greenai.errors.StorageError: Unreachable, foreign, newer or not upgraded ledger.
        greenai.errors.ConfigError: ``url`` is not a URL.
    """
    path = parse_url(url).sqlite_path
    if path is not None and (not path.exists() or path.stat().st_size == 0):
        return None  # nothing recorded yet: show how to start, create nothing
    return _open(url)


@st.cache_resource(show_spinner=False)
def _open(url: str) -> Ledger:
    """Opens the ledger once per URL and process (errors are not cached)."""
    target = parse_url(url)
    try:
        ledger = Ledger.open(url, auto_upgrade=False)
    except (sa.exc.SQLAlchemyError, ImportError) as exc:  # unknown dialect, missing driver
        raise StorageError(
            f"cannot open the ledger {target.display}: {exc}", target.display
        ) from exc
    ledger.engine = _read_only(ledger.engine)
    return ledger


def _ledger(url: str) -> Ledger:
    ledger = open_ledger(url)
    if ledger is None:
        raise LookupError(f"no ledger at {url}")
    return ledger


@st.cache_data(ttl=TTL_S, show_spinner=False)
def has_runs(url: str) -> bool:
    """Whether the ledger holds at least one run."""
    ledger = open_ledger(url)
    return ledger is not None and bool(ledger.list_runs(limit=1))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def options(url: str) -> dict[str, list[str]]:
    """Distinct projects, phases, hardware and models, for the sidebar filters."""
    ledger = open_ledger(url)
    if ledger is None:
        return {"projects": [], "phases": [], "hardware": [], "models": []}
    return filter_options(ledger)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def runs(url: str, flt: RunFilter) -> pd.DataFrame:
    """Run rows (totals only) matching ``flt``, oldest first."""
    return runs_frame(_ledger(url), flt)


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    """The configuration (time zone, factors, water and price defaults), read once."""
    from greenai.config import load_settings

    return load_settings()


def first_day(url: str, timezone: str) -> date | None:
    """The local day of the earliest root run, None for an empty ledger."""
    runs = schema.runs
    query = sa.select(sa.func.min(runs.c.started_at)).where(runs.c.parent_run_id.is_(None))
    with _ledger(url).read() as conn:
        earliest = conn.execute(query).scalar()
    return None if earliest is None else earliest.astimezone(zone(timezone)).date()


@dataclass(frozen=True)
class PeriodFigures:
    """A period's figures from the figures layer (what the reports compute alike).

    Attributes:
        period: The period (all time: from the first run's day to today).
        current: :func:`greenai.figures.frame.totals` of the period.
        previous: The same for the period before, None for all time.
        lines: The period's run lines (each run's share of it), figures under the runs
            table's names.
        series: :func:`greenai.figures.frame.over_time` per stack column.
    """

    period: Period
    current: dict[str, float]
    previous: dict[str, float] | None
    lines: pd.DataFrame
    series: dict[str, pd.DataFrame]


STACKS = ("project", "phase", "model")


@st.cache_data(ttl=TTL_S, show_spinner=False)
def period_figures(
    url: str, period: Period | None, selection: figures.Selection, today: date
) -> PeriodFigures | None:
    """The figures of ``period`` (None: all time) for the selected runs, None when the
    ledger has no run."""
    whole = period
    if whole is None:
        first = first_day(url, settings().timezone)
        if first is None:
            return None
        whole = Period("range", min(first, today), today, settings().timezone, "all time")
    spans = [whole, *whole.subperiods()] + ([whole.previous()] if period else [])
    read = figures.read_lines(
        _ledger(url),
        [(p.start_utc, p.end_utc) for p in spans],
        settings=settings(),
        as_of=datetime.now(UTC),
        selection=selection,
    )
    current = read.period(whole.start_utc, whole.end_utc)[0]
    previous = figures.totals(read.period(*_bounds(whole.previous()))[0]) if period else None
    buckets = figures.bucket_lines(read, [_bounds(p) for p in whole.subperiods()])
    return PeriodFigures(
        whole,
        figures.totals(current),
        previous,
        figures.run_figures(current),
        {by: figures.over_time(buckets, by=by) for by in STACKS},
    )


@st.cache_data(ttl=TTL_S, show_spinner=False)
def period_runs(
    url: str, period: Period | None, selection: figures.Selection, today: date
) -> pd.DataFrame:
    """The rows of the root runs with a share in ``period`` (those its figures count,
    whole: a run that started before the period but ran into it is one of them)."""
    found = period_figures(url, period, selection, today)
    if found is None or found.lines.empty:
        return pd.DataFrame(columns=list(RUN_COLUMNS))
    start = found.period.start_utc - timedelta(days=LOOKBACK_DAYS)
    candidates = runs(url, RunFilter(start=start, end=found.period.end_utc))
    return candidates[candidates["id"].isin(set(found.lines["id"]))].reset_index(drop=True)


def _bounds(period: Period) -> tuple[datetime, datetime]:
    return period.start_utc, period.end_utc


@st.cache_data(ttl=TTL_S, show_spinner=False)
def windows(url: str, run_ids: tuple[str, ...]) -> pd.DataFrame:
    """Windows (prefill, decode, ...) of the given runs."""
    return windows_frame(_ledger(url), run_ids)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def metrics(url: str, run_ids: tuple[str, ...]) -> pd.DataFrame:
    """Quality metrics of the given runs."""
    return metrics_frame(_ledger(url), run_ids)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def devices(url: str, run_ids: tuple[str, ...]) -> pd.DataFrame:
    """Per-device energy and method of the given runs."""
    return devices_frame(_ledger(url), run_ids)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def children(url: str, run_id: str) -> pd.DataFrame:
    """Child runs of ``run_id``."""
    return child_runs_frame(_ledger(url), run_id)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def run_record(url: str, run_id: str) -> dict[str, Any] | None:
    """A run with its devices, windows and metrics, or None when unknown."""
    return _ledger(url).get_run(run_id)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def series(url: str, run_id: str, duration_s: float) -> pd.DataFrame:
    """A run's power series per device, in a tier that suits its length.

    Runs up to 2 h read the finest tier stored, up to 5 days the 1-minute tier, longer
    ones the 1-hour tier; when that tier holds nothing, the finest one is read.
    """
    ledger = _ledger(url)
    tier = next(t for limit, t in SERIES_TIERS if duration_s <= limit)
    frame = series_frame(ledger, run_id, tier) if tier else pd.DataFrame()
    return frame if not frame.empty else series_frame(ledger, run_id)


Selection = tuple[str, ...]
COMPARE_COLUMNS = ("id", "model", "base_model", "technique", "phase", "hardware",
                   "batch_size", "seq_len", "energy_j", "emissions_kg", "tokens_input",
                   "tokens_output")  # fmt: skip


@st.cache_data(ttl=TTL_S, show_spinner=False)
def compare_rows(
    url: str, flt: RunFilter, models: Selection = (), techniques: Selection = ()
) -> pd.DataFrame:
    """Token-producing runs with a model (and the chosen models and techniques), with
    their per-token figures."""
    frame = runs(url, flt)[list(COMPARE_COLUMNS)]  # small frames are cheap to cache
    frame = frame[frame["model"].notna()]
    if models:
        frame = frame[frame["model"].isin(models)]
    if techniques:
        frame = frame[frame["technique"].isin(techniques)]
    return compare.with_ratios(frame)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def compare_groups(
    url: str, flt: RunFilter, models: Selection, techniques: Selection
) -> pd.DataFrame:
    """Mean, t-interval and n of each per-token figure per group."""
    return compare.group_stats(compare_rows(url, flt, models, techniques))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def compare_savings(
    url: str, flt: RunFilter, models: Selection, techniques: Selection, metric: str, method: str
) -> pd.DataFrame:
    """Savings of each technique against its baseline on the same workload (Welch or
    bootstrap interval)."""
    lines = compare_lines(url, flt, models, techniques)
    figure = compare.SAVING_FIGURES[metric]
    return compare.savings(lines, figure, method="bootstrap" if method == "bootstrap" else "welch")


@st.cache_data(ttl=TTL_S, show_spinner=False)
def compare_lines(
    url: str, flt: RunFilter, models: Selection, techniques: Selection
) -> pd.DataFrame:
    """Workload lines of the compared runs: one per steady-state window, else per run."""
    rows = compare_rows(url, flt, models, techniques)
    return workload_lines(rows, windows(url, tuple(rows["id"])))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def compare_unpaired(
    url: str, flt: RunFilter, models: Selection, techniques: Selection
) -> pd.DataFrame:
    """Technique workloads with no like-for-like baseline."""
    return compare.without_baseline(compare_lines(url, flt, models, techniques))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def compare_windows(
    url: str, flt: RunFilter, models: Selection, techniques: Selection
) -> pd.DataFrame:
    """Energy per token by window (prefill, decode, ...) per group."""
    rows = compare_rows(url, flt, models, techniques)
    return compare.window_split(rows, windows(url, tuple(rows["id"])))
