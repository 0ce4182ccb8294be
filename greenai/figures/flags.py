"""The flag registry: every data-quality flag a run, window or report line can carry.

A flag is a stable string stored with the run (``runs.flags``). Each code is registered
here once, with a one-line meaning for people, a severity and the data-quality group it
counts in; the modules that mint flags import the constants and makers below instead
of writing strings of their own (a test scans the source for any other), and the
dashboard's Data quality page, its run detail and the report's data-quality section
take their words and counts from here.

Codes are exact (``sampling_gaps``) or a prefix followed by a suffix
(``device_lost:gpu:1``, ``rank_interrupted:3``, ``interrupted: heartbeat stale since
2026-07-01T10:00:00+00:00``); :func:`describe` resolves both, the longest prefix first.

Severities:

- ``info``: how a figure was obtained; nothing to correct (``attribution:local-rank``,
  ``estimated:cpu``).
- ``warning``: the figure is there but approximate, or something the job sent was
  ignored or fitted (``sampling_gaps``, ``invalid_count``).
- ``error``: part of the figure is missing (nothing measured, a device lost, ranks
  that never reported).

Groups (:class:`Group`): the first seven are the caveats both surfaces count, one run
at most once per group (their values are the keys of the report's ``data_quality``
section); ``input``, ``storage``, ``measurement``, ``attribution``, ``lifecycle`` and
``provenance`` are shown with the run but not counted. A ``monitoring_error`` is a
device problem (monitoring failed along the way); a run where nothing could be
measured carries ``no_collector`` as well.

Dependency-free: the tracker imports it (no pandas, SQLAlchemy or other greenai module).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime


class Severity(StrEnum):
    """How much a flag matters to the figures (see the module's docstring)."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class Group(StrEnum):
    """The data-quality group a flag counts in (values: the report's keys)."""

    LOCATION = "unknown_location"
    INTERRUPTED = "interrupted"
    OVERLAP = "overlapping_root_runs"
    GAPS = "sampling_gaps"
    DEVICES = "device_problems"
    UNMEASURED = "no_collector"
    FACTOR = "missing_factor"
    INPUT = "input"
    STORAGE = "storage"
    MEASUREMENT = "measurement"
    ATTRIBUTION = "attribution"
    LIFECYCLE = "lifecycle"
    PROVENANCE = "provenance"


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """Words for a data-quality group.

    Attributes:
        group: The group.
        label: A short name (a metric's label).
        text: One line for people (a report row, a help text).
        counted: Whether a run with a flag of this group is counted as a caveat.
    """

    group: Group
    label: str
    text: str
    counted: bool


@dataclass(frozen=True, slots=True)
class FlagInfo:
    """One registered flag.

    Attributes:
        code: The exact code, or the prefix (separator included) of a suffixed one.
        meaning: One line for people.
        severity: info, warning or error.
        group: The data-quality group it counts in.
        suffix: What follows a prefix (``device id``); empty for an exact code.
    """

    code: str
    meaning: str
    severity: Severity
    group: Group
    suffix: str = ""

    @property
    def prefixed(self) -> bool:
        """Whether the code is a prefix followed by a suffix."""
        return bool(self.suffix)

    def matches(self, flag: str) -> bool:
        """Whether ``flag`` is this code (or this prefix with a suffix)."""
        return flag.startswith(self.code) if self.prefixed else flag == self.code


_G = Group
GROUPS: Mapping[Group, GroupInfo] = {
    info.group: info
    for info in (
        GroupInfo(_G.LOCATION, "Unknown location",
                  "Unknown location (world-average emission factor)", True),
        GroupInfo(_G.INTERRUPTED, "Interrupted",
                  "Interrupted or incomplete runs (energy up to the last refresh)", True),
        GroupInfo(_G.OVERLAP, "Overlapping runs",
                  "Overlapping root runs (energy split equally)", True),
        GroupInfo(_G.GAPS, "Sampling gaps", "Sampling gaps (the sampler fell behind)", True),
        GroupInfo(_G.DEVICES, "Device problems",
                  "Collector errors, monitoring errors, lost devices, counter resets", True),
        GroupInfo(_G.UNMEASURED, "Nothing measured",
                  "Nothing measured (no collector on the machine)", True),
        GroupInfo(_G.FACTOR, "No factor recorded",
                  "No emission factor recorded (implied by the stored emissions)", True),
        GroupInfo(_G.INPUT, "Input ignored",
                  "Tokens, metrics or events the job sent that were ignored", False),
        GroupInfo(_G.STORAGE, "Values fitted",
                  "Names or values fitted to what the ledger holds", False),
        GroupInfo(_G.MEASUREMENT, "Measurement", "How the devices were measured", False),
        GroupInfo(_G.ATTRIBUTION, "Attribution", "How the energy was charged to the run",
                  False),
        GroupInfo(_G.LIFECYCLE, "Lifecycle", "How the run or its ranks ended", False),
        GroupInfo(_G.PROVENANCE, "Provenance", "Where the figures come from", False),
    )
}  # fmt: skip
"""Every group, counted ones first, in the report's order."""

COUNTED: tuple[Group, ...] = tuple(g for g, info in GROUPS.items() if info.counted)
"""The groups both surfaces count, in order."""

# -- exact codes ---------------------------------------------------------------------

UNKNOWN_LOCATION = "unknown_location"
MISSING_FACTOR = "missing_factor"
INVALID_COUNT = "invalid_count"
INVALID_METRIC = "invalid_metric"
LATE_UPDATE = "update_after_stop"
TOKENS_CALLBACK = "tokens_callback_failed"
INVALID_EVENT = "invalid_event"
OVERLAP = "overlapping_root_runs"
SAMPLING_GAPS = "sampling_gaps"
INTERRUPTED = "interrupted"
SIGNAL_RECEIVED = "signal_received"
LAST_SNAPSHOT = "ended_at_last_snapshot"
NO_COLLECTOR = "no_collector"
BELOW_RESOLUTION = "below_counter_resolution"
WINDOW_BELOW_RESOLUTION = "window_below_counter_resolution"
MIG = "mig"
TEXT_CLEANED = "text_cleaned"
OUT_OF_RANGE = "value_out_of_range"
NODE_ENERGY_ELSEWHERE = "node_energy_on_local_rank_0"
LOCAL_RANK_UNKNOWN = "local_rank_unknown"
NODE_IDLE_ENERGY = "node_idle_energy"
LOCAL_TIME_AMBIGUOUS = "local_time_ambiguous"
LOCAL_TIME_NONEXISTENT = "local_time_nonexistent"
FACTOR_MISMATCH = "factor_mismatch"
CODECARBON_VERSION_DIFFERS = "codecarbon_version_differs"
TOKEN_COUNTER_RESET = "token_counter_reset"
TOKENS_AT_COMPLETION = "tokens_at_completion"
ENGINE_SCRAPE_FAILED = "engine_scrape_failed"
SERVING_GPUS_UNMATCHED = "serving_gpus_unmatched"
TRACKER_LOG_FAILED = "tracker_log_failed"
INTEGRATION_FAILED = "integration_failed"
CALL_LEFT_OPEN = "ended_after_its_call"

# -- prefixes (made by the functions below) ------------------------------------------

ESTIMATED = "estimated:"
ATTRIBUTION = "attribution:"
COLLECTOR_ERRORS = "collector_errors:"
MONITORING_ERROR = "monitoring_error:"
DEVICE_LOST = "device_lost:"
BRIDGED = "bridged:"
COUNTER_RESET = "counter_reset:"
STALE_HEARTBEAT = "interrupted: heartbeat stale since "
RANK_FAILED = "rank_failed:"
RANK_INTERRUPTED = "rank_interrupted:"
RANKS_SHARED_DEVICE = "ranks_shared_device:"
RANKS_MISSING = "ranks_missing:"
IMPORTED = "imported:"
METHOD_UNKNOWN = "method_unknown:"

_I, _W, _E = Severity.INFO, Severity.WARNING, Severity.ERROR
FLAGS: Mapping[str, FlagInfo] = {
    info.code: info
    for info in (
        FlagInfo(UNKNOWN_LOCATION, "no location configured: world-average emission factor",
                 _W, _G.LOCATION),
        FlagInfo(MISSING_FACTOR, "no emission factor stored with the run: the one its "
                 "stored emissions imply", _W, _G.FACTOR),
        FlagInfo(INTERRUPTED, "the run was interrupted; energy up to its last refresh",
                 _W, _G.INTERRUPTED),
        FlagInfo(STALE_HEARTBEAT, "the run stopped sending heartbeats: marked interrupted, "
                 "energy up to its last refresh", _W, _G.INTERRUPTED, "its last heartbeat"),
        FlagInfo(RANK_INTERRUPTED, "a rank of the job was interrupted; its energy up to its "
                 "last refresh", _W, _G.INTERRUPTED, "rank"),
        FlagInfo(RANKS_MISSING, "ranks of the job never reported: their energy is missing",
                 _E, _G.INTERRUPTED, "number of ranks"),
        FlagInfo(LAST_SNAPSHOT, "the process went down before the devices could be read "
                 "again: energy and end are those of the last reading", _W, _G.INTERRUPTED),
        FlagInfo(OVERLAP, "another root run overlapped: their energy was split equally",
                 _W, _G.OVERLAP),
        FlagInfo(SAMPLING_GAPS, "the sampler fell behind and skipped ticks", _W, _G.GAPS),
        FlagInfo(COLLECTOR_ERRORS, "a collector or device failed while reading (name=count)",
                 _W, _G.DEVICES, "collector or device=count"),
        FlagInfo(MONITORING_ERROR, "monitoring itself failed; the job went on", _E,
                 _G.DEVICES, "exception type"),
        FlagInfo(DEVICE_LOST, "a device stopped answering during the run", _E, _G.DEVICES,
                 "device id"),
        FlagInfo(COUNTER_RESET, "a device's energy counter went backwards (driver reload)",
                 _W, _G.DEVICES, "device id"),
        FlagInfo(NO_COLLECTOR, "nothing could be measured on this machine", _E,
                 _G.UNMEASURED),
        FlagInfo(INVALID_COUNT, "negative or non-integer token or sample counts were ignored",
                 _W, _G.INPUT),
        FlagInfo(INVALID_METRIC, "a metric that is not a number was ignored", _W, _G.INPUT),
        FlagInfo(LATE_UPDATE, "tokens, metrics or windows after the end were ignored", _W,
                 _G.INPUT),
        FlagInfo(TOKENS_CALLBACK, "the token-counting callback failed", _W, _G.INPUT),
        FlagInfo(TRACKER_LOG_FAILED, "an experiment tracker (MLflow, W&B, trackio) could "
                 "not be reached or refused the figures; the ledger holds them", _W,
                 _G.STORAGE),
        FlagInfo(INTEGRATION_FAILED, "a training-framework integration (the Hugging Face "
                 "Trainer callback) failed at a step and skipped it; training went on", _W,
                 _G.INPUT),
        FlagInfo(INVALID_EVENT, "a line of the events file was not a valid event and was "
                 "ignored", _W, _G.INPUT),
        FlagInfo(TEXT_CLEANED, "a name, tag or metric name was cut to its column's length "
                 "or had characters the ledger cannot hold replaced", _W, _G.STORAGE),
        FlagInfo(OUT_OF_RANGE, "a count or metric beyond what the ledger holds was dropped "
                 "or held at the maximum", _W, _G.STORAGE),
        FlagInfo(ESTIMATED, "this device kind was estimated by a model, not measured", _I,
                 _G.MEASUREMENT, "device kind"),
        FlagInfo(BRIDGED, "a device's failed reads were bridged: exact for a counter, last "
                 "power x elapsed time for a power sensor", _W, _G.MEASUREMENT, "device id"),
        FlagInfo(BELOW_RESOLUTION, "shorter than one step of an energy counter: its energy "
                 "reads 0 or a whole step", _W, _G.MEASUREMENT),
        FlagInfo(WINDOW_BELOW_RESOLUTION, "a window shorter than one step of an energy "
                 "counter: no energy is given for it", _I, _G.MEASUREMENT),
        FlagInfo(ATTRIBUTION, "how GPUs were charged to the run", _I, _G.ATTRIBUTION,
                 "rule"),
        FlagInfo(MIG, "a GPU seen through MIG devices: the run was charged its visible "
                 "slices of it", _I, _G.ATTRIBUTION),
        FlagInfo(NODE_ENERGY_ELSEWHERE, "the node's CPU and DRAM are charged to its local "
                 "rank 0, not to this rank", _I, _G.ATTRIBUTION),
        FlagInfo(LOCAL_RANK_UNKNOWN, "the launcher gave no local rank: this rank carries "
                 "its node's CPU and DRAM, as other ranks of the node may", _W,
                 _G.ATTRIBUTION),
        FlagInfo(RANKS_SHARED_DEVICE, "several ranks reported one device: it was counted "
                 "once", _I, _G.ATTRIBUTION, "host/device id"),
        FlagInfo(NODE_IDLE_ENERGY, "a node's energy that no run was charged (idle and "
                 "unallocated), measured by its agent", _I, _G.ATTRIBUTION),
        FlagInfo(CALL_LEFT_OPEN, "the Trainer call the run measured raised before its end "
                 "event: the run was ended later (at the next call, or when the trainer "
                 "was discarded), so its end and energy run past the failure", _W,
                 _G.INTERRUPTED),
        FlagInfo(SIGNAL_RECEIVED, "SIGTERM or SIGHUP came; the job's own handler took it "
                 "and the run went on to the job's own end", _I, _G.LIFECYCLE),
        FlagInfo(RANK_FAILED, "a rank of the job failed; its energy up to its end", _I,
                 _G.LIFECYCLE, "rank"),
        FlagInfo(LOCAL_TIME_AMBIGUOUS, "the record's local time occurs twice (clocks turned "
                 "back): read as its first occurrence, it may be an hour early", _W,
                 _G.PROVENANCE),
        FlagInfo(LOCAL_TIME_NONEXISTENT, "the record's local time never occurred (clocks "
                 "went forward): read with the offset before the change", _W, _G.PROVENANCE),
        FlagInfo(IMPORTED, "imported from another tool's records: figures as it recorded "
                 "them", _I, _G.PROVENANCE, "tool"),
        FlagInfo(METHOD_UNKNOWN, "the imported record does not say how this energy was "
                 "obtained (a CodeCarbon file does not say whether CPU energy came from RAPL "
                 "or a TDP model): counted as estimated", _I, _G.PROVENANCE, "kind"),
        FlagInfo(FACTOR_MISMATCH, "the emission factor the imported record implies differs "
                 "from CodeCarbon's table for its location by more than 2%: its figures are "
                 "kept, both factors are in its tags", _W, _G.FACTOR),
        FlagInfo(TOKEN_COUNTER_RESET, "a serving engine's token counter went backwards (the "
                 "engine restarted): the interval counts its new value", _W, _G.MEASUREMENT),
        FlagInfo(TOKENS_AT_COMPLETION, "the engine counts a request's tokens when it completes "
                 "(TGI) and the interval was shorter than a few request durations: its "
                 "energy per token is biased", _W, _G.MEASUREMENT),
        FlagInfo(ENGINE_SCRAPE_FAILED, "the serving engine's metrics could not be read: its "
                 "tokens are counted in a later interval", _W, _G.MEASUREMENT),
        FlagInfo(SERVING_GPUS_UNMATCHED, "no GPU process of the serving engine was found: "
                 "every GPU of the node was charged to it", _W, _G.ATTRIBUTION),
        FlagInfo(CODECARBON_VERSION_DIFFERS, "recorded by another CodeCarbon version than the "
                 "installed one, whose factors may have been revised", _I, _G.PROVENANCE),
    )
}  # fmt: skip
"""Every flag, by code (prefixes with their separator)."""

_BY_LENGTH = sorted((f for f in FLAGS.values() if f.prefixed), key=lambda f: -len(f.code))

UNKNOWN = FlagInfo("", "a flag this version does not know", Severity.WARNING, Group.PROVENANCE)
"""What :func:`describe` returns for a code that is not registered (a newer version's)."""


def describe(flag: str) -> FlagInfo:
    """The registered flag that ``flag`` is (exact, else the longest matching prefix).

    Returns:
        Its :class:`FlagInfo`, or :data:`UNKNOWN` (empty code) when not registered.
    """
    found = FLAGS.get(flag)
    if found is not None and not found.prefixed:
        return found
    return next((f for f in _BY_LENGTH if f.matches(flag)), UNKNOWN)


def group_flags(flags: Iterable[object], group: Group) -> list[str]:
    """The flags of ``flags`` that count in ``group``, in their order."""
    found = [str(f) for f in flags]
    infos = map(describe, found)
    return [f for f, info in zip(found, infos, strict=True) if info.code and info.group is group]


def caveats(
    flags: Iterable[object], *, status: object = None, located: bool = True
) -> frozenset[Group]:
    """The counted groups a run falls in (the one rule both surfaces apply).

    Args:
        flags: The run's flags.
        status: Its status: ``interrupted`` counts in :attr:`Group.INTERRUPTED` too.
        located: False when the run records no location (:func:`has_location`): it
            counts in :attr:`Group.LOCATION` too.
    """
    found = {info.group for info in map(describe, map(str, flags)) if info.code}
    if status == "interrupted":
        found.add(Group.INTERRUPTED)
    if not located:
        found.add(Group.LOCATION)
    return frozenset(g for g in found if GROUPS[g].counted)


def has_location(country: object, cloud_provider: object) -> bool:
    """Whether a run records where it ran: a country or a cloud provider (None, NaN and
    blank text are missing)."""
    return any(isinstance(v, str) and v.strip() for v in (country, cloud_provider))


# -- makers of suffixed codes ----------------------------------------------------------


def estimated(kind: str) -> str:
    """A component estimated by a model rather than measured (``estimated:cpu``)."""
    return f"{ESTIMATED}{kind}"


def attribution(rule: str) -> str:
    """The GPU attribution rule applied (``attribution:compute-processes``)."""
    return f"{ATTRIBUTION}{rule}"


def collector_errors(name: str, count: int) -> str:
    """A collector failed while reading (``collector_errors:nvml=3``)."""
    return f"{COLLECTOR_ERRORS}{name}={count}"


def monitoring_error(exc: BaseException) -> str:
    """Monitoring itself failed; the job went on (``monitoring_error:OSError``)."""
    return f"{MONITORING_ERROR}{type(exc).__name__}"


def lost_device(device_id: str) -> str:
    """A device stopped answering during the run (``device_lost:gpu:1``)."""
    return f"{DEVICE_LOST}{device_id}"


def bridged(device_id: str) -> str:
    """A device's value was carried over failed reads (``bridged:gpu:0``): exact for a
    counter (its next reading covers the gap), last power x elapsed for a power sensor."""
    return f"{BRIDGED}{device_id}"


def counter_reset(device_id: str) -> str:
    """A device's energy counter went backwards (driver reload)."""
    return f"{COUNTER_RESET}{device_id}"


def stale_heartbeat(seen: datetime) -> str:
    """A running run whose heartbeat went stale, marked interrupted at ``seen``."""
    return f"{STALE_HEARTBEAT}{seen.isoformat()}"


def rank_ended(status: str, rank: object) -> str:
    """A rank of a job that did not complete (``rank_interrupted:3``, ``rank_failed:0``).

    Raises:
        ValueError: ``status`` is neither failed nor interrupted.
    """
    if status not in ("failed", "interrupted"):
        raise ValueError(f"a rank ends flagged failed or interrupted, not {status!r}")
    return f"{RANK_FAILED if status == 'failed' else RANK_INTERRUPTED}{rank}"


def ranks_shared_device(host_id: str, device_id: str) -> str:
    """A device reported by several ranks of a job (``ranks_shared_device:h1/gpu:0``)."""
    return f"{RANKS_SHARED_DEVICE}{host_id}/{device_id}"


def ranks_missing(count: int) -> str:
    """Ranks of a job that never reported (``ranks_missing:2``)."""
    return f"{RANKS_MISSING}{count}"


def imported(tool: str) -> str:
    """A run imported from another tool's records (``imported:codecarbon``)."""
    return f"{IMPORTED}{tool}"


def method_unknown(kind: str) -> str:
    """An imported energy whose method the record does not state (``method_unknown:cpu``)."""
    return f"{METHOD_UNKNOWN}{kind}"
