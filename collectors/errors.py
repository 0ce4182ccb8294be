"""Errors raised by collectors. ``greenai`` translates them into its own at its edge."""

from __future__ import annotations


class CollectorError(Exception):
    """A collector failed while reading; the sampler counts it and carries on."""


class Unavailable(CollectorError):  # noqa: N818 - reads as a state: raise Unavailable(reason)
    """A collector cannot work on this machine.

    Attributes:
        collector: The collector's name.
        reason: What is missing and, where the user can fix it, what to do.
    """

    def __init__(self, collector: str, reason: str) -> None:
        super().__init__(f"{collector}: {reason}")
        self.collector = collector
        self.reason = reason
