"""Sidebar filters shared by every page (period, project, phase, hardware, model), the
friendly empty state, and text that is always shown as text.

The entry script draws the filters on each run and keeps them in ``st.session_state``;
pages read them with :func:`current_filters`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import streamlit as st

from greenai.errors import GreenAIError
from greenai.figures.frame import Selection
from greenai.figures.periods import Period, last_period, zone
from greenai.queries import RunFilter

STATE_KEY = "greenai_filters"
CUSTOM = "Custom range"
ALL_TIME = "All time"
LAST_QUARTER = "Last complete quarter"
LAST_MONTH = "Last complete month"
PERIODS: dict[str, int | None] = {
    "Last 7 days": 7,
    "Last 30 days": 30,
    "Last 90 days": 90,
    "Last 12 months": 365,
    LAST_MONTH: None,
    LAST_QUARTER: None,
    ALL_TIME: None,
    CUSTOM: None,
}
DEFAULT_PERIOD = "Last 30 days"


@dataclass(frozen=True)
class Filters:
    """What the sidebar selected.

    Attributes:
        period: The period, whole days in the configured time zone (today included for
            the "Last N days" choices); None for all time.
        label: The period in words.
        projects, phases, hardware, models: Selected values (empty: all).
    """

    period: Period | None
    label: str
    projects: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    hardware: tuple[str, ...] = ()
    models: tuple[str, ...] = ()

    @property
    def start(self) -> datetime | None:
        """Start of the period (aware UTC), None for all time."""
        return self.period.start_utc if self.period else None

    @property
    def end(self) -> datetime | None:
        """End of the period, excluded (aware UTC), None for all time."""
        return self.period.end_utc if self.period else None

    @property
    def selection(self) -> Selection:
        """The figures layer's selection of runs."""
        return Selection(
            projects=self.projects, phases=self.phases, models=self.models, hardware=self.hardware
        )

    def runs(
        self, *, root_only: bool = True, statuses: tuple[str, ...] = (), previous: bool = False
    ) -> RunFilter:
        """The query layer's filter for these selections (or the period before them)."""
        period = self.period
        if previous:
            if period is None:
                raise ValueError("all time has no previous period")
            period = period.previous()
        return RunFilter(
            start=period.start_utc if period else None,
            end=period.end_utc if period else None,
            projects=self.projects,
            phases=self.phases,
            hardware=self.hardware,
            models=self.models,
            root_only=root_only,
            statuses=statuses,
        )

    @property
    def has_previous(self) -> bool:
        """Whether a previous period exists (not for all time)."""
        return self.period is not None


def period_of(
    choice: str, today: date, custom: tuple[date, date] | None = None, timezone: str = "UTC"
) -> Period | None:
    """The period of a choice: whole days in ``timezone``, today included; the last
    complete calendar month or quarter; None for all time.

    Raises:
        ValueError: Unknown choice, or a custom range without two dates.
    """
    if choice not in PERIODS:
        raise ValueError(f"unknown period {choice!r}; one of {', '.join(PERIODS)}")
    if choice == ALL_TIME:
        return None
    if choice in (LAST_MONTH, LAST_QUARTER):
        noon = datetime.combine(today, time(12), zone(timezone))
        kind = "month" if choice == LAST_MONTH else "quarter"
        return last_period(kind, now=noon, timezone=timezone)
    if choice == CUSTOM:
        if not custom or len(custom) != 2:
            raise ValueError("a custom range needs a first and a last day")
        first, last = sorted(custom)
        return Period("range", first, last, timezone)
    days = PERIODS[choice]
    assert days is not None
    return Period("range", today - timedelta(days=days - 1), today, timezone)


def today() -> date:
    """Today in the configured time zone."""
    return local_today(configured_timezone())


def local_today(timezone: str) -> date:
    """Today in ``timezone``."""
    return datetime.now(UTC).astimezone(zone(timezone)).date()


def configured_timezone() -> str:
    """The time zone periods are cut in (the ``timezone`` setting, read once with the
    rest of the configuration; UTC if unreadable)."""
    from dashboard import data

    try:
        return data.settings().timezone
    except GreenAIError:
        return "UTC"


def sidebar_filters(options: dict[str, list[str]], today: date | None = None) -> Filters:
    """Draws the filters in the sidebar and returns (and remembers) the selection."""
    timezone = configured_timezone()
    today = today or local_today(timezone)
    side = st.sidebar
    side.header("Filters")
    choice = side.selectbox(
        f"Period ({timezone})",
        list(PERIODS),
        index=list(PERIODS).index(DEFAULT_PERIOD),
        key="period",
    )
    custom = None
    if choice == CUSTOM:
        picked = side.date_input(
            "From – to", (today - timedelta(days=29), today), key="period_range"
        )
        custom = tuple(picked) if isinstance(picked, list | tuple) else None
        if not custom or len(custom) != 2:
            side.caption("Pick a first and a last day.")
            choice, custom = DEFAULT_PERIOD, None
    period = period_of(choice, today, custom, timezone)  # type: ignore[arg-type]
    filters = Filters(
        period=period,
        label=_label(choice, period),
        projects=_multi(side, "Project", options.get("projects", []), "f_projects"),
        phases=_multi(side, "Phase", options.get("phases", []), "f_phases"),
        hardware=_multi(side, "Hardware", options.get("hardware", []), "f_hardware"),
        models=_multi(side, "Model", options.get("models", []), "f_models"),
    )
    st.session_state[STATE_KEY] = filters
    return filters


def _label(choice: str, period: Period | None) -> str:
    if period is None or choice not in (CUSTOM, LAST_MONTH, LAST_QUARTER):
        return choice
    days = f"{period.first_day:%Y-%m-%d} to {period.last_day:%Y-%m-%d}"
    if choice == CUSTOM:
        return days
    return f"{period.label} ({days})"


def _multi(side: Any, label: str, values: list[str], key: str) -> tuple[str, ...]:
    picked = side.multiselect(label, values, key=key, placeholder="All")
    return tuple(str(v) for v in picked)


def current_filters() -> Filters:
    """The filters drawn by the entry script in this run (defaults if none)."""
    found = st.session_state.get(STATE_KEY)
    if isinstance(found, Filters):
        return found
    timezone = configured_timezone()
    today = local_today(timezone)
    return Filters(period=period_of(DEFAULT_PERIOD, today, timezone=timezone), label=DEFAULT_PERIOD)


def empty_state() -> None:
    """The page shown while the ledger holds no run: how to record a first one."""
    st.title("No runs recorded yet")
    st.write(
        "greenai records the energy and carbon footprint of AI work. "
        "Record a first run, then reload this page."
    )
    st.subheader("Wrap a command")
    st.code("greenai run --project demo --model my-model -- python train.py", language="bash")
    st.subheader("Or track a block of Python")
    st.code(
        "import greenai\n\n"
        'with greenai.track(project="demo", model="my-model", phase="inference") as run:\n'
        "    outputs = generate(prompts)\n"
        "    run.add_tokens(output=count_tokens(outputs))",
        language="python",
    )
    st.caption("`greenai demo` measures a short workload on this machine.")


def no_match(filters: Filters) -> None:
    """Says that no run matches the filters."""
    st.info(f"No runs match the filters ({filters.label}). Widen the period or the filters.")


def plain(value: Any) -> None:
    """Shows ``value`` as plain text (run names and tags are never rendered as HTML)."""
    st.text("" if value is None else str(value))
