"""The report as one self-contained HTML document (inline CSS and SVG charts, no script).

The report dict holds energies in kWh and emissions in tCO2e at fixed precision (as in
report.json); the document shows each figure in a unit that fits it, from
:mod:`greenai.figures.units`: a headline figure in its own unit (``39.9 MWh``,
``180 J``, ``6.81 tCO2e``), a table column (or a row of the comparison table) in one unit
chosen for all its cells (:class:`Column`), three significant digits and thousands
separators. The ESRS mapping keeps the units ESRS prescribes (MWh, tCO2e), with the
values exactly as in report.json.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from greenai.errors import GreenAIError
from greenai.figures import units
from greenai.reports import charts
from greenai.reports.caveats import LABELS
from greenai.reports.outputs import plain_decimal

__all__ = [
    "Column", "Parts", "count_parts", "energy_column", "energy_parts", "mass_column",
    "mass_parts", "render_html",
]  # fmt: skip

TEMPLATE = "report.html.j2"
DASH = "—"
"""What the document shows for a figure that is unknown."""
MAX_DECIMALS = 12
"""Most decimals of a breakdown's cells (a total far below its unit's range reads 0)."""


def _kg(tonnes: float) -> float:
    """The report dict's tCO2e in the kg that :func:`units.mass_scale` takes."""
    return tonnes * units.KG_PER_T


@dataclass(frozen=True)
class Column:
    """One unit for every cell of a table column.

    Attributes:
        unit: The unit shown in the header (``MWh``, ``J``, ``kg``).
        per: Base units (J or kg) per ``unit``.
        base: The report's value (kWh or tCO2e) in base units.
    """

    unit: str
    per: float
    base: Callable[[float], float]

    def scaled(self, value: float | None) -> float | None:
        """``value`` (kWh or tCO2e) in :attr:`unit`; None when unknown."""
        if value is None or not math.isfinite(float(value)):
            return None
        return self.base(float(value)) / self.per

    def __call__(self, value: float | None) -> str:
        """A cell: ``value`` in :attr:`unit`, three significant digits, no unit."""
        scaled = self.scaled(value)
        return DASH if scaled is None else units.significant(scaled)


def _flat(values: Iterable[Any]) -> list[float | None]:
    out: list[float | None] = []
    for value in values:
        if value is None or isinstance(value, int | float):
            out.append(None if value is None else float(value))
        elif isinstance(value, str):
            raise TypeError(f"a figure, not text: {value!r}")
        else:
            out.extend(_flat(value))
    return out


def energy_column(*values: Any) -> Column:
    """The column of energies ``values`` in kWh (numbers, None, or iterables of them)."""
    unit, per = units.energy_scale(units.joules(v) for v in _flat(values) if v is not None)
    return Column(unit, per, units.joules)


def mass_column(*values: Any) -> Column:
    """The column of emissions ``values`` in tCO2e (numbers, None, or iterables of them)."""
    unit, per = units.mass_scale(_kg(v) for v in _flat(values) if v is not None)
    return Column(unit, per, _kg)


@dataclass(frozen=True)
class Parts:
    """The cells of a breakdown column whose printed rows add up to its printed total.

    Every cell takes the decimals that give the total three significant digits, and the
    rows are rounded by the largest-remainder method (:func:`units.largest_remainder`),
    so a reader adding up the rows finds the total row.

    Attributes:
        unit: The column's unit, shown in the header.
        cells: One cell per row (``—`` for an unknown figure).
        total: The total row's cell.
    """

    unit: str
    cells: tuple[str, ...]
    total: str

    def __call__(self, index: int) -> str:
        """The cell of row ``index`` (0-based, as Jinja's ``loop.index0``)."""
        return self.cells[index]


def energy_parts(values: Iterable[float | None]) -> Parts:
    """A breakdown column of energies in kWh (:class:`Parts`)."""
    values = list(values)
    return _parts(energy_column(values), values)


def mass_parts(values: Iterable[float | None]) -> Parts:
    """A breakdown column of emissions in tCO2e (:class:`Parts`)."""
    values = list(values)
    return _parts(mass_column(values), values)


def count_parts(values: Iterable[float | None]) -> Parts:
    """A breakdown column of counts (tokens split pro rata may be fractional)."""
    return _parts(Column("", 1.0, float), list(values), digits=0)


def _parts(column: Column, values: Sequence[float | None], digits: int = 3) -> Parts:
    scaled = [column.scaled(v) for v in values]
    known = [v for v in scaled if v is not None]
    if not known:
        return Parts(column.unit, tuple(DASH for _ in values), DASH)
    total = math.fsum(known)
    places = min(units.decimals(total, digits), MAX_DECIMALS) if digits else 0
    rounded = units.largest_remainder(known, places)
    rows = iter(rounded)
    cells = tuple(DASH if v is None else f"{next(rows):,.{places}f}" for v in scaled)
    return Parts(column.unit, cells, f"{math.fsum(rounded):,.{places}f}")


def _kg_column(*values: Any) -> Column:
    """The column of emissions ``values`` already in kg (the runs of the appendix)."""
    unit, per = units.mass_scale(_flat(values))
    return Column(unit, per, float)


def _energy(value_kwh: float | None) -> str:
    """A figure on its own: ``39.9 MWh``, ``180 J``; ``—`` when unknown."""
    return DASH if value_kwh is None else units.format_energy(units.joules(value_kwh))


def _mass(value_t: float | None) -> str:
    """A figure on its own: ``6.81 tCO2e``, ``244 kgCO2e``; ``—`` when unknown."""
    return DASH if value_t is None else units.format_mass(_kg(value_t))


def _exact(value: Any) -> str:
    """A value exactly as report.json holds it (every digit), thousands separated."""
    if value is None:
        return DASH
    whole, _, decimals = plain_decimal(float(value)).partition(".")
    grouped = f"{int(whole):,}" if whole.lstrip("-").isdigit() else whole
    if whole.startswith("-") and grouped[0] != "-":  # -0.5: int("-0") loses the sign
        grouped = "-" + grouped
    return f"{grouped}.{decimals}" if decimals else grouped


def _fixed(decimals: int) -> Any:
    def render(value: Any) -> str:
        if value is None:
            return DASH
        return f"{float(value):,.{decimals}f}"

    return render


def _pct(value: Any) -> str:
    return DASH if value is None else f"{float(value) * 100:.1f} %"


def _change(value: Any) -> str:
    return DASH if value is None else f"{float(value) * 100:+.1f} %"


def _dash(value: Any) -> str:
    return DASH if value is None or value == "" else str(value)


def _when(value: Any) -> str:
    """``2026-07-01T06:00:00Z`` -> ``2026-07-01 06:00``."""
    return DASH if not value else str(value).replace("T", " ")[:16]


def _entries(mapping: Mapping[str, Any], keys: Iterable[str]) -> list[Any]:
    """``mapping``'s values at ``keys``, in their order."""
    return [mapping[key] for key in keys]


FILTERS = {
    "energy": _energy,
    "mass": _mass,
    "exact": _exact,
    "g": _fixed(3),
    "n0": _fixed(0),
    "n2": _fixed(2),
    "pct": _pct,
    "change": _change,
    "dash": _dash,
    "when": _when,
}
GLOBALS = {
    "energy_column": energy_column,
    "mass_column": mass_column,
    "energy_parts": energy_parts,
    "mass_parts": mass_parts,
    "count_parts": count_parts,
    "kg_column": _kg_column,
    "entries": _entries,
}


def _scaled(column: Column, values: Sequence[float | None]) -> list[float]:
    return [column.scaled(v) or 0.0 for v in values]


def _charts(report: Mapping[str, Any]) -> dict[str, str]:
    """The charts: energy by project, emissions by period, energy intensity trend, mix."""
    by_project = [(row["energy_it_kwh"], row["cloud_energy_it_kwh"])
                  for row in report["by_project"]]  # fmt: skip
    energy = energy_column(by_project)
    projects = [
        (row["project"] or "(no project)", _scaled(energy, values))
        for row, values in zip(report["by_project"], by_project, strict=True)
    ]
    periods = [report["previous_year"], report["previous_period"], report]
    keys = (
        ("Scope 2 location-based", "scope2_location_tco2e"),
        ("Scope 2 market-based", "scope2_market_tco2e"),
        ("Scope 3 cat. 1 (cloud)", "scope3_cloud_tco2e"),
    )
    emitted = [(name, [p.get(key) for p in periods]) for name, key in keys]
    mass = mass_column([values for _, values in emitted])
    trend = report["intensity_trend"]
    intensity = energy_column(row["kwh_per_million_tokens"] for row in trend)
    mix = report["energy_mix"]
    families = ("fossil", "nuclear", "renewable", "unknown")
    mixed = [mix.get(f"{f}_kwh") for f in families]
    mix_unit = energy_column(mixed)
    return {
        "projects": charts.stacked_bars(
            projects, ["Scope 2 (on premises)", "Scope 3 cat. 1 (cloud)"],
            f"{energy.unit} (IT)", "IT energy by project",
        ),
        "emissions": charts.grouped_columns(
            [p["period_label"] for p in periods],
            [(name, [mass.scaled(v) for v in values]) for name, values in emitted],
            f"{mass.unit}CO2e",
            "Emissions by period",
        ),
        "trend": charts.column_chart(
            [row["label"] for row in trend],
            [intensity.scaled(row["kwh_per_million_tokens"]) for row in trend],
            f"{intensity.unit} per million tokens",
            "Energy intensity trend",
        ),
        "mix": charts.stacked_bars(
            [("Facility energy", _scaled(mix_unit, mixed))],
            [f.capitalize() for f in families],
            mix_unit.unit,
            "Energy mix",
            charts.MIX_COLORS,
        ),
    }  # fmt: skip


def _environment() -> Any:
    try:
        import jinja2
    except ImportError as exc:
        raise GreenAIError("the HTML report needs jinja2: pip install 'greenai[report]'") from exc
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("greenai.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.globals.update(GLOBALS)
    return env


def render_html(report: Mapping[str, Any], *, generated_at: datetime | None = None) -> str:
    """The report as an HTML document.

    Args:
        report: A report from :func:`greenai.reports.build_report`.
        generated_at: Generation time shown in the document (default now, UTC).

    Returns:
        The HTML text (UTF-8, self-contained).

    Raises:
        GreenAIError: jinja2 is not installed.
    """
    import greenai

    moment = (generated_at or datetime.now(UTC)).astimezone(UTC)
    template = _environment().get_template(TEMPLATE)
    return str(
        template.render(
            r=report,
            charts=_charts(report),
            quality_labels=LABELS,
            generated_at=moment.strftime("%Y-%m-%d %H:%M:%S UTC"),
            greenai_version=greenai.__version__,
        )
    )
