"""What an emission factor is: its dataset, vintage year, basis and GWP set, and the
generation mix of its grid — stored with each run, so a report states them as recorded.

A field the dataset does not state is :data:`UNKNOWN`, never guessed. The basis says
which emissions a factor counts: :data:`LIFE_CYCLE` (construction, fuel supply and
combustion, per kWh generated) or :data:`COMBUSTION` (stack emissions at the plant
only, e.g. EPA eGRID output emission rates); summing figures of both bases mixes two
things, which a report says.

The mix is the grid's generation shares (``fossil``, ``nuclear``, ``renewable``, each in
[0, 1]) with the place it describes (:data:`MIX_COUNTRY` where a region's own mix is not
in the data), or None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

UNKNOWN = "unknown"
LIFE_CYCLE = "life-cycle"
COMBUSTION = "combustion"
BASES = (LIFE_CYCLE, COMBUSTION, UNKNOWN)

MIX_COUNTRY = "country"
MIX_REGION = "region"
MIX_FAMILIES = ("fossil", "nuclear", "renewable")


@dataclass(frozen=True)
class FactorEvidence:
    """The evidence of one emission factor.

    Attributes:
        dataset: The dataset and file it comes from, e.g.
            ``CodeCarbon 3.3.2 global_energy_mix (FRA)``.
        vintage: The year its data describe, or None where the dataset does not say.
        basis: :data:`LIFE_CYCLE`, :data:`COMBUSTION` or :data:`UNKNOWN`.
        gwp: The global-warming-potential set of its CO2e (``AR5``...), or
            :data:`UNKNOWN`.
        mix: Generation shares of the factor's grid, or None.
        mix_of: The place the mix describes: :data:`MIX_REGION`, :data:`MIX_COUNTRY`
            (a region's factor with its country's mix), or None without a mix.
    """

    dataset: str
    vintage: int | None = None
    basis: str = UNKNOWN
    gwp: str = UNKNOWN
    mix: Mapping[str, float] | None = field(default=None, compare=False)
    mix_of: str | None = None

    def __post_init__(self) -> None:
        if self.basis not in BASES:
            raise ValueError(f"basis {self.basis!r} is not one of {', '.join(BASES)}")

    def as_dict(self) -> dict[str, Any]:
        """The evidence as stored on a run (JSON)."""
        return {
            "dataset": self.dataset,
            "vintage": self.vintage,
            "basis": self.basis,
            "gwp": self.gwp,
            "mix": dict(self.mix) if self.mix is not None else None,
            "mix_of": self.mix_of,
        }


def evidence_from(stored: object) -> FactorEvidence | None:
    """The evidence stored on a run (:meth:`FactorEvidence.as_dict`), or None for a run
    recorded without it (or a value that is not one)."""
    if not isinstance(stored, Mapping) or not isinstance(stored.get("dataset"), str):
        return None
    vintage = stored.get("vintage")
    basis = stored.get("basis")
    mix = stored.get("mix")
    return FactorEvidence(
        dataset=stored["dataset"],
        vintage=vintage if isinstance(vintage, int) and not isinstance(vintage, bool) else None,
        basis=basis if basis in BASES else UNKNOWN,
        gwp=str(stored.get("gwp") or UNKNOWN),
        mix=_mix(mix),
        mix_of=str(stored["mix_of"]) if stored.get("mix_of") and _mix(mix) else None,
    )


def _mix(value: object) -> dict[str, float] | None:
    if not isinstance(value, Mapping):
        return None
    try:
        shares = {family: float(value[family]) for family in MIX_FAMILIES}
    except (KeyError, TypeError, ValueError):
        return None
    if not all(0.0 <= s <= 1.0 for s in shares.values()):
        return None
    return shares


NOT_RECORDED = FactorEvidence("not recorded with the run")
"""The evidence of a run recorded before factors carried theirs."""


COLUMN_KEYS = {"factor_dataset": "dataset", "factor_vintage": "vintage",
               "factor_basis": "basis", "factor_gwp": "gwp", "mix": "mix",
               "mix_of": "mix_of"}  # fmt: skip
"""Each report line column of a factor's evidence, and its key in the stored evidence."""
EVIDENCE_COLUMNS = tuple(COLUMN_KEYS)
"""The columns a report line carries for its factor's evidence."""


def evidence_columns(evidence: FactorEvidence | None) -> dict[str, Any]:
    """A line's :data:`EVIDENCE_COLUMNS` (:data:`NOT_RECORDED` for a run without)."""
    stored = (evidence or NOT_RECORDED).as_dict()
    return {column: stored[key] for column, key in COLUMN_KEYS.items()}
