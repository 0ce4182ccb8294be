"""The Overview's KPI row: totals in readable units with their change vs the previous period."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import streamlit as st

from greenai.figures import units
from greenai.figures.definitions import (
    EMISSIONS_LOCATION,
    ENERGY_BOUNDARY,
    ENERGY_RUNS_ONLY,
    J_PER_OUTPUT_TOKEN,
)

DeltaColor = Literal["normal", "inverse", "off"]
# KPI -> (label, formatter, delta colour: "inverse" when a rise is bad, help).
KPIS: dict[str, tuple[str, Callable[[float], str], DeltaColor, str]] = {
    "energy_j": ("IT energy", units.format_energy, "inverse", ENERGY_RUNS_ONLY.text),
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
        EMISSIONS_LOCATION.text,
    ),
    "runs": (
        "Runs",
        units.format_count,
        "off",
        "Root runs with a share in the period (child runs and rank parts are breakdowns).",
    ),
    "tokens_output": ("Output tokens", units.format_count, "off", "Tokens generated."),
    "j_per_output_token": (
        J_PER_OUTPUT_TOKEN.label,
        lambda v: units.format_joules(v, per="token"),
        "inverse",
        J_PER_OUTPUT_TOKEN.text,
    ),
}
Kpi = tuple[str, Callable[[float], str], DeltaColor, str]
BOUNDARY: tuple[str, Kpi] = (
    "boundary_energy_j",
    (ENERGY_BOUNDARY.label, units.format_energy, "inverse", ENERGY_BOUNDARY.text),
)
"""Shown when the agents measured node idle energy (the boundary exceeds the runs)."""


def show(current: dict[str, float], changes: dict[str, float | None], per_row: int = 3) -> None:
    """Draws one metric per KPI with its change against the previous period (if any)."""
    items = list(KPIS.items())
    if current.get(BOUNDARY[0], 0.0) != current.get("energy_j", 0.0):
        items.insert(1, BOUNDARY)
    for first in range(0, len(items), per_row):
        row = items[first : first + per_row]
        for column, (name, (label, fmt, color, help_text)) in zip(
            st.columns(per_row), row, strict=False
        ):
            delta = units.format_change(changes.get(name))
            column.metric(
                label, fmt(current[name]), delta, delta_color=color, help=help_text, border=True
            )
