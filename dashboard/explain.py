"""Words for the codes stored on runs: attribution rules, methods, data-quality flags.

The flags' words, severities and groups come from the registry
(:mod:`greenai.figures.flags`); only the GPU attribution rules and the methods are
worded here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from greenai.figures import flags as fl
from greenai.figures.units import MISSING
from greenai.tracking import attribution as rules

_BY_PROCESSES = "GPUs on which the job's processes held a compute context (NVML's process list)"
ATTRIBUTION = {
    rules.RULE_UTILIZATION: f"{_BY_PROCESSES}; a GPU shared with other processes was split "
    "by their SM utilization where NVML sampled it, else equally",
    rules.RULE_PROCESSES: f"{_BY_PROCESSES}; a GPU shared with other processes was split "
    "equally, the job's processes counting as one",
    rules.RULE_MIG: "the job's MIG instances: their slices of each GPU",
    rules.RULE_LOCAL_RANK: "the GPU of the process's LOCAL_RANK among the visible devices "
    "(NVML listed none of the job's processes)",
    rules.RULE_VISIBLE: "every visible GPU, in full (neither NVML nor LOCAL_RANK could tell)",
    rules.RULE_NONE: "no GPU was charged",
}
"""The run-level GPU rules (``runs.attribution``), as :mod:`greenai.tracking.shares`
applies them."""
METHODS = {
    "counter": "hardware energy counter (exact)",
    "power": "hardware power sensor, integrated over time",
    "model": "estimated by a model (e.g. CPU time x TDP)",
    "mixed": "several methods across devices",
}


def attribution_text(rule: object) -> str:
    """A sentence on the GPU attribution rule (fixed wording, never the stored text)."""
    meaning = ATTRIBUTION.get(str(rule or "none"))
    return (
        f"GPUs charged: {meaning}."
        if meaning
        else "GPUs charged by a rule this version does not know."
    )


def flag_meaning(flag: str) -> str:
    """What a data-quality flag means (empty when this version does not know it)."""
    info = fl.describe(flag)
    return info.meaning if info.code else ""


def flags_table(flags: list[str]) -> pd.DataFrame:
    """Flags with their meaning, severity and data-quality group, as text (unknown flags
    say so)."""
    infos = [fl.describe(str(f)) for f in flags]
    return pd.DataFrame(
        {
            "Flag": [str(f) for f in flags],
            "Meaning": [i.meaning for i in infos],
            "Severity": [i.severity.value for i in infos],
            "Group": [fl.GROUPS[i.group].label if i.code else MISSING for i in infos],
        }
    )


def caveats_text(run: Mapping[str, Any]) -> str:
    """Where a run counts on the Data quality page and in reports (empty: nowhere)."""
    flags = run.get("flags")
    found = fl.caveats(
        flags if isinstance(flags, list | tuple) else (),
        status=run.get("status"),
        located=fl.has_location(run.get("country"), run.get("cloud_provider")),
    )
    labels = [fl.GROUPS[g].label for g in fl.COUNTED if g in found]
    return f"Counted in data quality as: {', '.join(labels)}." if labels else ""
