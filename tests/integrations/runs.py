"""A run of exactly known figures on the fake GPUs, and what the ledger holds of it."""

from __future__ import annotations

from typing import Any

import greenai
from greenai.figures import logged
from greenai.figures.units import kwh
from tests.fake_nvml.driver import FakeNvml
from tests.tracking.helpers import stored

DURATION_S = 3.0
GPU_ENERGY_J = 600.0  # two fake GPUs at 100 W for 3 s
TOKENS_INPUT, TOKENS_OUTPUT = 100, 200

EXACT: dict[str, float] = {
    logged.ENERGY_KWH.key: kwh(GPU_ENERGY_J),  # PUE 1
    logged.IT_ENERGY_J.key: GPU_ENERGY_J,
    logged.GPU_ENERGY_J.key: GPU_ENERGY_J,
    logged.TOKENS.key: float(TOKENS_INPUT + TOKENS_OUTPUT),
    logged.J_PER_TOKEN.key: GPU_ENERGY_J / (TOKENS_INPUT + TOKENS_OUTPUT),
    logged.MEASURED_SHARE.key: 1.0,  # the fake GPUs have energy counters
    logged.DURATION_S.key: DURATION_S,
}
"""The figures of :func:`known_run` that do not depend on the emission factor."""


def known_run(fake_nvml: FakeNvml, name: str, **kwargs: Any) -> greenai.Run:
    """A 3 s run on the manual clock (``manual_hub``): 600 J, 300 tokens."""
    with greenai.track(name=name, **kwargs) as run:
        run.add_tokens(input=TOKENS_INPUT, output=TOKENS_OUTPUT)
        fake_nvml.set_time(DURATION_S)
    return run


def ledger_run(run: greenai.Run) -> dict[str, Any]:
    """The run as the ledger holds it."""
    return stored(run.id)["run"]


def ledger_figures(run: greenai.Run) -> dict[str, float]:
    """The tracker figures of the run as the ledger holds it."""
    return logged.tracker_figures(ledger_run(run))
