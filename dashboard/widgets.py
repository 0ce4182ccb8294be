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

from greenai.queries import RunFilter

STATE_KEY = "greenai_filters"
CUSTOM = "Custom range"
ALL_TIME = "All time"
PERIODS: dict[str, int | None] = {
    "Last 7 days": 7,
    "Last 30 days": 30,
    "Last 90 days": 90,
    "Last 12 months": 365,
    ALL_TIME: None,
    CUSTOM: None,
}
DEFAULT_PERIOD = "Last 30 days"


@dataclass(frozen=True)
class Filters:
    """What the sidebar selected.

    Attributes:
        start, end: The period ``[start, end)`` (aware UTC), None for all time.
        label: The period in words.
        projects, phases, hardware, models: Selected values (empty: all).
    """

    start: datetime | None
    end: datetime | None
    label: str
    projects: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    hardware: tuple[str, ...] = ()
    models: tuple[str, ...] = ()

    def runs(
        self, *, root_only: bool = True, statuses: tuple[str, ...] = (), previous: bool = False
    ) -> RunFilter:
        """The query layer's filter for these selections (or the period before them)."""
        start, end = self.start, self.end
        if previous:
            if start is None or end is None:
                raise ValueError("all time has no previous period")
            start, end = start - (end - start), start
        return RunFilter(
            start=start,
            end=end,
            projects=self.projects,
            phases=self.phases,
            hardware=self.hardware,
            models=self.models,
            root_only=root_only,
            statuses=statuses,
        )

    @property
    def has_previous(self) -> bool:
        """Whether a previous period of the same length exists (not for all time)."""
        return self.start is not None and self.end is not None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def period_bounds(
    choice: str, today: date, custom: tuple[date, date] | None = None
) -> tuple[datetime | None, datetime | None]:
    """``[start, end)`` of a period choice; whole UTC days, today included.

    Raises:
        ValueError: Unknown choice, or a custom range without two dates.
    """
    if choice not in PERIODS:
        raise ValueError(f"unknown period {choice!r}; one of {', '.join(PERIODS)}")
    if choice == ALL_TIME:
        return None, None
    if choice == CUSTOM:
        if not custom or len(custom) != 2:
            raise ValueError("a custom range needs a first and a last day")
        first, last = sorted(custom)
        return _midnight(first), _midnight(last) + timedelta(days=1)
    days = PERIODS[choice]
    assert days is not None
    end = _midnight(today) + timedelta(days=1)
    return end - timedelta(days=days), end


def sidebar_filters(options: dict[str, list[str]], today: date | None = None) -> Filters:
    """Draws the filters in the sidebar and returns (and remembers) the selection."""
    today = today or datetime.now(UTC).date()
    side = st.sidebar
    side.header("Filters")
    choice = side.selectbox(
        "Period (UTC)", list(PERIODS), index=list(PERIODS).index(DEFAULT_PERIOD), key="period"
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
    start, end = period_bounds(choice, today, custom)  # type: ignore[arg-type]
    filters = Filters(
        start=start,
        end=end,
        label=choice if choice != CUSTOM else f"{start:%Y-%m-%d} to {end:%Y-%m-%d} (excl.)",
        projects=_multi(side, "Project", options.get("projects", []), "f_projects"),
        phases=_multi(side, "Phase", options.get("phases", []), "f_phases"),
        hardware=_multi(side, "Hardware", options.get("hardware", []), "f_hardware"),
        models=_multi(side, "Model", options.get("models", []), "f_models"),
    )
    st.session_state[STATE_KEY] = filters
    return filters


def _multi(side: Any, label: str, values: list[str], key: str) -> tuple[str, ...]:
    picked = side.multiselect(label, values, key=key, placeholder="All")
    return tuple(str(v) for v in picked)


def current_filters() -> Filters:
    """The filters drawn by the entry script in this run (defaults if none)."""
    found = st.session_state.get(STATE_KEY)
    if isinstance(found, Filters):
        return found
    start, end = period_bounds(DEFAULT_PERIOD, datetime.now(UTC).date())
    return Filters(start=start, end=end, label=DEFAULT_PERIOD)


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
