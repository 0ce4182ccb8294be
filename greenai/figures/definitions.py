"""The named derived figures: what each means, in one line shown wherever it appears,
and the one function that computes it.

Every surface (dashboard, reports, CLI, bench, exports) divides energy by tokens here
and nowhere else, so "J per output token" means one thing everywhere. A ratio over a
group is a ratio of sums (total energy over total tokens), never a mean of per-run
ratios, unless a definition says otherwise. The functions take numbers or pandas
Series alike (element-wise); a figure without a denominator is NaN (None for a single
figure that callers store), never 0 or infinity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from greenai.figures.units import G_PER_KG, J_PER_KWH


@dataclass(frozen=True, slots=True)
class Definition:
    """A derived figure.

    Attributes:
        key: Its column or field name (base units in the name).
        label: Its name for people.
        unit: The unit it is shown in by default.
        lower_is_better: Whether a lower value is the better one.
        text: One line saying exactly what it is.
    """

    key: str
    label: str
    unit: str
    lower_is_better: bool
    text: str


J_PER_OUTPUT_TOKEN = Definition(
    "j_per_output_token",
    "Energy per output token",
    "J/token",
    True,
    "IT energy of the runs that produced output tokens over those tokens (whole runs).",
)
J_PER_TOKEN = Definition(
    "j_per_token",
    "Energy per token",
    "J/token",
    True,
    "IT energy over the tokens processed, input and output together.",
)
STEADY_J_PER_TOKEN = Definition(
    "steady_j_per_token",
    "Energy per token, steady state",
    "J/token",
    True,
    "IT energy of a window its caller marked steady state (ramp-up and drain outside it) "
    "over the tokens processed inside it, input and output together.",
)
TOKENS_PER_KWH = Definition(
    "tokens_per_kwh",
    "Output tokens per kWh",
    "tokens/kWh",
    False,
    "Output tokens produced per kWh of IT energy (the inverse of energy per output token).",
)
G_PER_1K_TOKENS = Definition(
    "g_per_1k_tokens",
    "Emissions per 1,000 output tokens",
    "gCO2e/1k tokens",
    True,
    "Location-based emissions (facility energy x the run's factor) per 1,000 output tokens.",
)
KWH_PER_MILLION_TOKENS = Definition(
    "kwh_per_million_tokens",
    "Energy per million tokens",
    "kWh/1M tokens",
    True,
    "IT energy of the runs that counted tokens per million tokens, input and output together.",
)
MEASURED_SHARE = Definition(
    "measured_share",
    "Measured share",
    "%",
    False,
    "Share of IT energy read from hardware counters or power sensors, not modelled.",
)
ENERGY_RUNS_ONLY = Definition(
    "energy_j",
    "IT energy, runs only",
    "kWh",
    True,
    "IT energy charged to tracked or imported runs (their share of each device).",
)
ENERGY_BOUNDARY = Definition(
    "boundary_energy_j",
    "IT energy, boundary",
    "kWh",
    True,
    "IT energy of the runs plus the node idle energy the agents measured between them.",
)

EMISSIONS_LOCATION = Definition(
    "emissions_kg",
    "Emissions (location-based)",
    "kgCO2e",
    True,
    "Facility energy (IT energy x PUE) x the average emission factor of the grid where "
    "the energy was drawn.",
)

DEFINITIONS: dict[str, Definition] = {
    d.key: d
    for d in (
        J_PER_OUTPUT_TOKEN,
        J_PER_TOKEN,
        STEADY_J_PER_TOKEN,
        TOKENS_PER_KWH,
        G_PER_1K_TOKENS,
        KWH_PER_MILLION_TOKENS,
        MEASURED_SHARE,
        ENERGY_RUNS_ONLY,
        ENERGY_BOUNDARY,
        EMISSIONS_LOCATION,
    )
}


def _over(numerator: Any, denominator: Any) -> Any:
    """``numerator / denominator`` where the denominator is positive, else NaN."""
    if hasattr(denominator, "where"):  # a pandas Series
        positive = denominator.astype(float).where(denominator.astype(float) > 0)
        return numerator / positive
    if denominator is None or not denominator > 0 or numerator is None:
        return math.nan
    return numerator / denominator


def j_per_token(energy_j: Any, tokens: Any) -> Any:
    """Energy over tokens, J/token (NaN without tokens): :data:`J_PER_OUTPUT_TOKEN`,
    :data:`J_PER_TOKEN` or :data:`STEADY_J_PER_TOKEN` depending on what is given."""
    return _over(energy_j, tokens)


def stored(value: float) -> float | None:
    """One figure as stored or written out: None rather than NaN."""
    return None if math.isnan(value) else float(value)


def j_per_token_or_none(energy_j: float | None, tokens: float | None) -> float | None:
    """:func:`j_per_token` of one figure that is stored: None rather than NaN."""
    return stored(_over(energy_j, tokens))


def tokens_per_kwh(tokens: Any, energy_j: Any) -> Any:
    """Tokens per kWh of ``energy_j`` (NaN without energy)."""
    return _over(tokens, energy_j / J_PER_KWH)


def g_per_1k_tokens(emissions_kg: Any, tokens: Any) -> Any:
    """gCO2e per 1,000 tokens (NaN without tokens)."""
    return _over(emissions_kg * G_PER_KG * 1000.0, tokens)


def kwh_per_million_tokens(energy_j: Any, tokens: Any) -> Any:
    """kWh per million tokens (NaN without tokens)."""
    return _over(energy_j / J_PER_KWH * 1e6, tokens)


def share(part: Any, whole: Any) -> Any:
    """``part`` as a fraction of ``whole`` (NaN when the whole is not positive)."""
    return _over(part, whole)
