"""Naive local times (CodeCarbon's ``datetime.now()``) read in a time zone, one rule.

A wall-clock time that a DST change makes ambiguous (clocks turned back: it occurs
twice) is read as its first occurrence; one that never occurred (clocks went forward)
is read with the offset in force before the change. Either way the caller gets a flag
code from :mod:`greenai.figures.flags` to put on the run.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from greenai.figures import flags


def local_to_utc(naive: datetime, zone: tzinfo) -> tuple[datetime, str | None]:
    """A naive wall-clock time in ``zone`` as aware UTC, and the flag of a DST change.

    Returns:
        (the time in UTC, ``flags.LOCAL_TIME_AMBIGUOUS``, ``flags.LOCAL_TIME_NONEXISTENT``
        or None).

    Raises:
        OverflowError: The time in UTC is before year 1 or after year 9999.
    """
    first = naive.replace(tzinfo=zone, fold=0)
    utc = first.astimezone(UTC)
    if first.utcoffset() == naive.replace(tzinfo=zone, fold=1).utcoffset():
        return utc, None
    back = utc.astimezone(zone).replace(tzinfo=None)
    return utc, flags.LOCAL_TIME_AMBIGUOUS if back == naive else flags.LOCAL_TIME_NONEXISTENT
