"""Data-quality flags recorded on runs and windows (stable strings, documented)."""

from __future__ import annotations

UNKNOWN_LOCATION = "unknown_location"  # no location configured: world-average factor
INVALID_COUNT = "invalid_count"  # negative or non-integer tokens/samples were ignored
INVALID_METRIC = "invalid_metric"  # a metric that is not a number was ignored
LATE_UPDATE = "update_after_stop"  # tokens/metrics/windows after stop were ignored
OVERLAP = "overlapping_root_runs"  # another root run overlapped: energy split equally
SAMPLING_GAPS = "sampling_gaps"  # the sampler fell behind and skipped ticks
INTERRUPTED = "interrupted"  # SIGINT/SIGTERM/SIGHUP or a stale heartbeat ended the run
SIGNAL_RECEIVED = "signal_received"  # SIGTERM/SIGHUP came; the job's own handler took it
# and the run went on, ending with the job's own exit
LAST_SNAPSHOT = "ended_at_last_snapshot"  # a process going down could not read the devices
# in time (a hung driver, or its job thread inside a read): energy and end at the last one
NO_COLLECTOR = "no_collector"  # nothing could be measured on this machine
TOKENS_CALLBACK = "tokens_callback_failed"  # the decorator's tokens= callable failed
BELOW_RESOLUTION = "below_counter_resolution"  # shorter than a counter step: 0 or a step
MIG = "mig"  # a GPU seen through MIG devices: charged its visible slices of the GPU


def estimated(kind: str) -> str:
    """A component estimated by a model rather than measured (``estimated:cpu``)."""
    return f"estimated:{kind}"


def attribution(rule: str) -> str:
    """The GPU attribution rule applied (``attribution:compute-processes``)."""
    return f"attribution:{rule}"


def collector_errors(name: str, count: int) -> str:
    """A collector failed while reading (``collector_errors:nvml=3``)."""
    return f"collector_errors:{name}={count}"


def monitoring_error(exc: BaseException) -> str:
    """Monitoring itself failed; the job went on (``monitoring_error:OSError``)."""
    return f"monitoring_error:{type(exc).__name__}"


def lost_device(device_id: str) -> str:
    """A device stopped answering during the run (``device_lost:gpu:1``)."""
    return f"device_lost:{device_id}"


def bridged(device_id: str) -> str:
    """A device's value was carried over failed reads (``bridged:gpu:0``): exact for a
    counter (its next reading covers the gap), last power x elapsed for a power sensor."""
    return f"bridged:{device_id}"


def counter_reset(device_id: str) -> str:
    """A device's energy counter went backwards (driver reload)."""
    return f"counter_reset:{device_id}"


# Values the ledger cannot hold as given (limits: :mod:`greenai.ledger.limits`).
TEXT_CLEANED = "text_cleaned"  # a name, tag or metric name was cut to its column or had
# NUL / unencodable characters replaced by U+FFFD
OUT_OF_RANGE = "value_out_of_range"  # a count above 2**63-1, a metric beyond a double or
# infinite, or a step beyond 32 bits was dropped; a total reaching 2**63-1 was held there
INVALID_EVENT = "invalid_event"  # a line of greenai run's events file was not a valid event
