"""GHG Protocol scopes of report lines and the market-based Scope 2 factors.

- A run with a ``cloud_provider`` ran in a public cloud: purchased cloud services are the
  customer's Scope 3, category 1, outside the ESRS E1-5 energy total. Every other run (and
  node-level energy) is electricity consumed on premises or in colocation: Scope 2.
- Scope 2 is reported twice (dual reporting). Location-based: the grid-average factor stored
  with each run. Market-based, per location, highest first (GHG Protocol Scope 2 Guidance):
  contractual instruments with a volume (``instruments_file``, allocated per month by
  :mod:`greenai.figures.instruments`) for the MWh they cover; for the rest, a supplier-specific
  or contractual factor without volume the user supplies (``market_factors`` table, or a
  ``market_factors_file`` row whose source does not mention a residual mix); a residual-mix
  factor the user supplies (a ``market_factors_file`` row whose ``source`` mentions
  ``residual``); else the location-based factor, as a stated proxy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from greenai.figures.units import emissions_kg

if TYPE_CHECKING:
    import pandas as pd

    from greenai.config import Settings

__all__ = [
    "BASES",
    "BASIS_TEXT",
    "CONTRACTUAL",
    "INSTRUMENT",
    "LOCATION_PROXY",
    "RESIDUAL",
    "SCOPE2",
    "SCOPE3_CLOUD",
    "MarketFactor",
    "MarketFactors",
    "apply_market",
    "market_basis_label",
    "market_caveat",
    "scope_of",
]

SCOPE2 = "scope2"
SCOPE3_CLOUD = "scope3_cat1"

INSTRUMENT = "contractual_instrument"
CONTRACTUAL = "contractual_or_supplier"
RESIDUAL = "residual_mix"
LOCATION_PROXY = "location_based_proxy"
BASES = (INSTRUMENT, CONTRACTUAL, RESIDUAL, LOCATION_PROXY)
"""Market-based bases, highest in the GHG Protocol hierarchy first."""

BASIS_TEXT = {
    INSTRUMENT: "contractual instruments with a volume (instruments_file), for the MWh they cover",
    CONTRACTUAL: "supplier-specific or contractual factors without volume (user supplied)",
    RESIDUAL: "residual-mix factors (user supplied)",
    LOCATION_PROXY: "location-based grid-average factors used as a proxy",
}


@dataclass(frozen=True)
class MarketFactor:
    """A user-supplied market-based factor.

    Attributes:
        location: ``ISO3`` or ``ISO3/region``.
        intensity_g_per_kwh: gCO2e per kWh of facility energy.
        basis: :data:`CONTRACTUAL` or :data:`RESIDUAL`.
        source: Where it comes from, as the user wrote it.
    """

    location: str
    intensity_g_per_kwh: float
    basis: str
    source: str


@dataclass(frozen=True)
class MarketFactors:
    """The user's market-based factors, by location key."""

    factors: Mapping[str, MarketFactor] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> MarketFactors:
        """Reads ``market_factors`` and ``market_factors_file``; the table wins on a tie.

        Raises:
            ConfigError: The CSV file is unreadable or invalid.
        """
        found: dict[str, MarketFactor] = {}
        if settings.market_factors_file is not None:
            from greenai.emissions import read_factor_table

            path = settings.market_factors_file
            for key, row in read_factor_table(path, "market_factors_file").items():
                basis = RESIDUAL if "residual" in row.source.casefold() else CONTRACTUAL
                source = f"market_factors_file {path.name}: {key}"
                if row.source:
                    source += f" ({row.source})"
                found[key] = MarketFactor(key, row.intensity_g_per_kwh, basis, source)
        for key, value in settings.market_factors.items():
            source = f"market_factors table (configuration): {key}"
            found[key] = MarketFactor(key, float(value), CONTRACTUAL, source)
        return cls(dict(sorted(found.items())))

    def lookup(self, country: str | None, region: str | None) -> MarketFactor | None:
        """The factor for ``ISO3/region``, else ``ISO3``, else None."""
        if not country:
            return None
        if region:
            found = self.factors.get(f"{country.upper()}/{' '.join(region.split()).casefold()}")
            if found is not None:
                return found
        return self.factors.get(country.upper())

    def as_rows(self) -> list[dict[str, object]]:
        """The factors as plain rows, sorted by location (for the report's inputs)."""
        return [
            {
                "location": f.location,
                "intensity_g_per_kwh": f.intensity_g_per_kwh,
                "basis": f.basis,
                "source": f.source,
            }
            for f in self.factors.values()
        ]


def scope_of(cloud_provider: object) -> str:
    """:data:`SCOPE3_CLOUD` for a run in a public cloud, else :data:`SCOPE2`."""
    return SCOPE3_CLOUD if isinstance(cloud_provider, str) and cloud_provider.strip() else SCOPE2


def apply_market(lines: pd.DataFrame, market: MarketFactors) -> pd.DataFrame:
    """Adds market-based columns to report lines (whole-run figures, before any split).

    Args:
        lines: Lines with ``scope``, ``country``, ``region``, ``facility_j``,
            ``loc_intensity_g_per_kwh``, ``loc_kg``, ``loc_source``.
        market: The user's market factors.

    Returns:
        A copy with ``market_intensity_g_per_kwh``, ``market_basis``, ``market_source`` and
        ``market_kg`` (None for Scope 3 lines: dual reporting is a Scope 2 matter).
    """
    from greenai.figures.lines import records

    out = lines.copy()
    intensity: list[float | None] = []
    basis: list[str | None] = []
    source: list[str | None] = []
    kg: list[float | None] = []
    columns = ("scope", "country", "region", "loc_intensity_g_per_kwh", "loc_source", "loc_kg",
               "facility_j")  # fmt: skip
    for row in records(out, columns):
        if row["scope"] != SCOPE2:
            intensity.append(None)
            basis.append(None)
            source.append(None)
            kg.append(None)
            continue
        factor = market.lookup(_text(row["country"]), _text(row["region"]))
        if factor is None:
            intensity.append(row["loc_intensity_g_per_kwh"])
            basis.append(LOCATION_PROXY)
            source.append(row["loc_source"])
            kg.append(float(row["loc_kg"]))
            continue
        intensity.append(factor.intensity_g_per_kwh)
        basis.append(factor.basis)
        source.append(factor.source)
        kg.append(emissions_kg(float(row["facility_j"]), factor.intensity_g_per_kwh))
    import pandas as pd

    out["market_intensity_g_per_kwh"] = pd.Series(intensity, index=out.index, dtype=float)
    out["market_basis"] = pd.Series(basis, index=out.index, dtype=object)
    out["market_source"] = pd.Series(source, index=out.index, dtype=object)
    out["market_kg"] = pd.Series(kg, index=out.index, dtype=float)
    return out


def market_caveat(basis_label: str) -> str | None:
    """The caveat printed beside a market-based figure whose basis includes the
    location-based proxy (no instrument or residual mix supplied for some or all of its
    energy), or None when it has none."""
    used = basis_label.split(" + ")
    if LOCATION_PROXY not in used:
        return None
    share = "all" if used == [LOCATION_PROXY] else "part"
    return (
        f"for {share} of this energy no contractual instrument or residual mix was "
        "supplied: the location-based grid average stands in as a proxy"
    )


def market_basis_label(bases_used: list[str]) -> str:
    """The market-based basis named in the report: the bases used, hierarchy order,
    joined by `` + `` (``none`` when there is no Scope 2 energy); a line's own basis may
    already be such a join (an instrument covering part of its energy)."""
    parts = {part for label in bases_used if isinstance(label, str) for part in label.split(" + ")}
    used = [b for b in BASES if b in parts]
    return " + ".join(used) if used else "none"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
