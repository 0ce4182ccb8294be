"""The figures greenai sends to experiment trackers (MLflow, W&B, trackio) and training
logs (the Trainer's log history, Lightning's loggers): one set of names, with units.

Every figure is cumulative from the run's start: a tracker's chart of
``greenai/energy_kwh`` over steps is the energy so far, and the last point is the run's.
Names carry the ``greenai/`` prefix (a section of its own in W&B and MLflow).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from greenai.figures.definitions import j_per_token_or_none, share
from greenai.figures.units import G_PER_KG, kwh

PREFIX = "greenai/"


@dataclass(frozen=True)
class Logged:
    """One logged figure: its name (without the prefix), unit and meaning."""

    name: str
    unit: str
    meaning: str

    @property
    def key(self) -> str:
        """The name as logged, with the prefix."""
        return PREFIX + self.name


ENERGY_KWH = Logged("energy_kwh", "kWh", "facility energy so far (IT energy x PUE)")
IT_ENERGY_J = Logged("it_energy_j", "J", "IT energy so far (devices, before PUE)")
GPU_ENERGY_J = Logged("gpu_energy_j", "J", "GPU energy so far")
CPU_ENERGY_J = Logged("cpu_energy_j", "J", "CPU energy so far")
DRAM_ENERGY_J = Logged("dram_energy_j", "J", "DRAM energy so far")
EMISSIONS_G = Logged("emissions_g", "gCO2e", "location-based emissions so far")
TOKENS = Logged("tokens", "tokens", "tokens counted so far (input + output)")
J_PER_TOKEN = Logged("j_per_token", "J/token", "IT energy per token so far")
MEASURED_SHARE = Logged(
    "measured_share", "fraction", "share of the IT energy measured by hardware (0 to 1)"
)
DURATION_S = Logged("duration_s", "s", "time since the run started")

LOGGED: tuple[Logged, ...] = (
    ENERGY_KWH,
    IT_ENERGY_J,
    GPU_ENERGY_J,
    CPU_ENERGY_J,
    DRAM_ENERGY_J,
    EMISSIONS_G,
    TOKENS,
    J_PER_TOKEN,
    MEASURED_SHARE,
    DURATION_S,
)
"""Every figure a tracker may receive, in the order they are logged."""

_KINDS = {"gpu": GPU_ENERGY_J, "cpu": CPU_ENERGY_J, "dram": DRAM_ENERGY_J}


def tracker_figures(run: Mapping[str, Any]) -> dict[str, float]:
    """The logged figures of a run record (``Run.to_dict()``), keyed by logged name.

    Device kinds the run has no energy for and J/token without tokens are left out
    (a tracker's chart then has no point rather than a false zero).
    """
    energy_j = float(run.get("energy_j") or 0.0)
    tokens = int(run.get("tokens_input") or 0) + int(run.get("tokens_output") or 0)
    figures = {
        ENERGY_KWH.key: kwh(float(run.get("facility_energy_j") or 0.0)),
        IT_ENERGY_J.key: energy_j,
    }
    for kind, logged in _KINDS.items():
        by_kind = (run.get("energy_by_kind") or {}).get(kind)
        if by_kind:
            figures[logged.key] = float(by_kind["energy_j"])
    figures[EMISSIONS_G.key] = float(run.get("emissions_kg") or 0.0) * G_PER_KG
    figures[TOKENS.key] = float(tokens)
    per_token = j_per_token_or_none(energy_j, tokens)
    if per_token is not None:
        figures[J_PER_TOKEN.key] = per_token
    if energy_j > 0:
        figures[MEASURED_SHARE.key] = float(
            share(float(run.get("measured_energy_j") or 0.0), energy_j)
        )
    figures[DURATION_S.key] = float(run.get("duration_s") or 0.0)
    return figures


def tracker_tags(run: Mapping[str, Any]) -> dict[str, str]:
    """Where the figures come from, as tracker tags: the run's id in the ledger, the
    emission factor and its source, the location, the data-quality flags, how each
    device kind's energy was obtained, and for a rank's part of a multi-rank job its
    rank and the job's number of ranks."""
    tags = {
        PREFIX + "run_id": str(run.get("id", "")),
        PREFIX + "intensity_g_per_kwh": str(run.get("intensity_g_per_kwh", "")),
        PREFIX + "intensity_source": str(run.get("intensity_source", "")),
        PREFIX + "country": str(run.get("country") or ""),
        PREFIX + "pue": str(run.get("pue", "")),
        PREFIX + "flags": ",".join(run.get("flags") or ()),
    }
    methods = {kind: str(v.get("method")) for kind, v in (run.get("energy_by_kind") or {}).items()}
    for kind, method in sorted(methods.items()):
        tags[f"{PREFIX}{kind}_method"] = method
    for key in ("rank", "world_size"):
        if run.get(key) is not None:
            tags[PREFIX + key] = str(run[key])
    return tags
