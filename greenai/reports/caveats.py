"""The caveats of a report's data-quality section: which, in what order, in what words.

The registry's counted groups (:data:`greenai.figures.flags.COUNTED`, the rule the
dashboard applies too), the runs still running at the as-of time after the interrupted
ones, and the runs whose figures were recorded after it. Light: the HTML template reads it.
"""

from __future__ import annotations

from greenai.figures import flags as fl

__all__ = ["CAVEATS", "LABELS", "LATE", "RUNNING"]

RUNNING = "running_at_as_of"
LATE = "updated_after_as_of"

CAVEATS: tuple[str, ...] = tuple(
    key
    for group in fl.COUNTED
    for key in ((group.value, RUNNING) if group is fl.Group.INTERRUPTED else (group.value,))
)
"""The keys of the caveats counted from the runs' flags and status, in order."""

_WORDS = {
    RUNNING: "Still running at the as-of time",
    LATE: "Figures recorded after the as-of time (runs running then: their latest figures; "
    "runs held before revisions were kept: as held at the upgrade)",
}
LABELS: dict[str, str] = {
    key: _WORDS[key] if key in _WORDS else fl.GROUPS[fl.Group(key)].text for key in (*CAVEATS, LATE)
}
"""The report's words for each caveat and for the late updates, in the report's order."""
