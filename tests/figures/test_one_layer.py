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


ENERGY_WORDS = ("energy", "joule", "kwh", "_j", "watt")


def _mentions(source: str, words: tuple[str, ...]) -> bool:
    text = source.lower()
    return any(word in text for word in words)


def test_no_module_outside_the_figures_layer_divides_energy_by_tokens() -> None:
    """Per-token figures come from greenai.figures.definitions, so "J per token" means
    one thing on every surface."""
    found = []
    for path in _sources():
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)):
                continue
            sides = [ast.get_source_segment(source, side) or "" for side in (node.left, node.right)]
            for top, bottom in (sides, sides[::-1]):
                per_token = _mentions(bottom, ("token",)) and not _mentions(bottom, ENERGY_WORDS)
                if _mentions(top, ENERGY_WORDS) and per_token:
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}")
                    break
    assert found == [], "use greenai.figures.definitions (j_per_token, tokens_per_kwh, ...)"
