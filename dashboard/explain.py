"""Words for the codes stored on runs: attribution rules, methods, data-quality flags."""

from __future__ import annotations

import pandas as pd

ATTRIBUTION = {
    "process-utilization": "GPUs on which the job's processes held a compute context "
    "(NVML's process list), shared with other processes by their SM utilization",
    "compute-processes": "GPUs on which the job's processes held a compute context "
    "(NVML's process list), shared equally where several processes ran",
    "local-rank": "the GPU of the process's LOCAL_RANK (NVML could not see the processes)",
    "visible-devices": "every visible GPU (neither NVML nor LOCAL_RANK could tell)",
    "none": "no GPU was charged",
}
METHODS = {
    "counter": "hardware energy counter (exact)",
    "power": "hardware power sensor, integrated over time",
    "model": "estimated by a model (e.g. CPU time x TDP)",
    "mixed": "several methods across devices",
}
FLAG_PREFIXES = {
    "unknown_location": "no location configured: world-average emission factor",
    "invalid_count": "negative or non-integer token or sample counts were ignored",
    "invalid_metric": "a metric that is not a number was ignored",
    "update_after_stop": "tokens, metrics or windows after the end were ignored",
    "overlapping_root_runs": "another root run overlapped: their energy was split equally",
    "sampling_gaps": "the sampler fell behind and skipped ticks",
    "interrupted": "the run was interrupted; energy up to its last refresh",
    "signal_received": "SIGTERM or SIGHUP came; the job's own handler took it and the run "
    "went on to the job's own end",
    "ended_at_last_snapshot": "the process went down before the devices could be read "
    "again: energy and end are those of the last reading",
    "text_cleaned": "a name, tag or metric name was cut to its column's length or had "
    "characters the ledger cannot hold replaced",
    "value_out_of_range": "a count or metric beyond what the ledger holds was dropped or held "
    "at the maximum",
    "invalid_event": "a line of the events file was not a valid event and was ignored",
    "no_collector": "nothing could be measured on this machine",
    "below_counter_resolution": "shorter than one step of an energy counter: its energy "
    "reads 0 or a whole step",
    "mig": "a GPU seen through MIG devices: the run was charged its visible slices of it",
    "bridged:": "a device's failed reads were bridged: exact for a counter, last power x "
    "elapsed time for a power sensor",
    "tokens_callback_failed": "the token-counting callback failed",
    "estimated:": "this device kind was estimated, not measured",
    "attribution:": "how GPUs were charged to the run",
    "collector_errors:": "a collector failed while reading (name=count)",
    "monitoring_error:": "monitoring itself failed; the job went on",
    "device_lost:": "a device stopped answering during the run",
    "counter_reset:": "a device's energy counter went backwards (driver reload)",
}


def attribution_text(rule: object) -> str:
    """A sentence on the GPU attribution rule (fixed wording, never the stored text)."""
    meaning = ATTRIBUTION.get(str(rule or "none"))
    return (
        f"GPUs charged: {meaning}."
        if meaning
        else "GPUs charged by a rule this version does not know."
    )


ISSUE_LABELS = {
    "unknown_location": "Unknown location",
    "interrupted": "Interrupted",
    "collector_errors": "Collector errors",
    "overlapping": "Overlapping runs",
}


def flag_meaning(flag: str) -> str:
    """What a data-quality flag means (empty when unknown)."""
    for prefix, meaning in FLAG_PREFIXES.items():
        if flag == prefix or (prefix.endswith(":") and flag.startswith(prefix)):
            return meaning
    return ""


def flags_table(flags: list[str]) -> pd.DataFrame:
    """Flags with their meaning, as text."""
    return pd.DataFrame(
        {"Flag": [str(f) for f in flags], "Meaning": [flag_meaning(str(f)) for f in flags]}
    )
