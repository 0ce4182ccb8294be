"""The Overview's KPI row: totals in readable units with their change vs the previous period."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import streamlit as st

from greenai.figures import units

DeltaColor = Literal["normal", "inverse", "off"]
# KPI -> (label, formatter, delta colour: "inverse" when a rise is bad, help).
KPIS: dict[str, tuple[str, Callable[[float], str], DeltaColor, str]] = {
    "energy_j": ("IT energy", units.format_energy, "inverse", "What the devices drew."),
    "facility_energy_j": (
        "Facility energy",
        units.format_energy,
        "inverse",
        "IT energy x PUE: what the grid supplied.",
    ),
    "emissions_kg": (
        "Emissions (location-based)",
        units.format_mass,
        "inverse",
        "Facility energy x the grid's average emission factor where the runs ran.",
    ),
    "runs": ("Runs", units.format_count, "off", "Root runs (child runs are breakdowns)."),
    "tokens_output": ("Output tokens", units.format_count, "off", "Tokens generated."),
    "j_per_output_token": (
        "Energy per output token",
        lambda v: units.format_joules(v, per="token"),
        "inverse",
        "IT energy of the runs that produced output tokens over those tokens.",
    ),
}


def show(current: dict[str, float], changes: dict[str, float | None], per_row: int = 3) -> None:
    """Draws one metric per KPI with its change against the previous period (if any)."""
    items = list(KPIS.items())
    for first in range(0, len(items), per_row):
        row = items[first : first + per_row]
        for column, (name, (label, fmt, color, help_text)) in zip(
            st.columns(per_row), row, strict=False
        ):
            delta = units.format_change(changes.get(name))
            column.metric(
                label, fmt(current[name]), delta, delta_color=color, help=help_text, border=True
            )
