"""Conversions live in the figures layer only: no other module spells out J per kWh."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("greenai", "dashboard", "collectors", "benchmarks")
FIGURES = REPO / "greenai" / "figures"
KWH_IN_J = 3.6e6


def _sources() -> list[Path]:
    return [
        path
        for package in PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
        if FIGURES not in path.parents
    ]


def test_no_module_outside_the_figures_layer_converts_kwh_itself() -> None:
    found = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Constant):
                continue
            value = node.value
            as_text = isinstance(value, str) and "3.6e6" in value  # code generated as text
            as_number = isinstance(value, int | float) and value == KWH_IN_J
            if as_text or as_number:
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert found == [], "use greenai.figures.units (J_PER_KWH, kwh, joules, emissions_kg)"
