"""Series tiers (``1s``, ``10s``, ``1m``, ``1h``, ``1d``): how their names are read, once.

A tier is a whole number above zero and a unit: ``s``, ``m``, ``h`` or ``d``. Its bucket
width in seconds orders tiers from finest to coarsest. Dependency-free: the
configuration, the agent, the ledger and the figures all read tiers through it.
"""

from __future__ import annotations

import re

TIER_PATTERN = re.compile(r"([1-9][0-9]*)([smhd])")
UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def tier_seconds(tier: str) -> int:
    """The width of a tier's buckets in seconds (``1s`` -> 1, ``1m`` -> 60).

    Raises:
        ValueError: Not a whole number above zero followed by s, m, h or d.
    """
    match = TIER_PATTERN.fullmatch(tier.strip()) if isinstance(tier, str) else None
    if match is None:
        raise ValueError(f"invalid series tier {tier!r}: a number and s, m, h or d, e.g. 1m")
    return int(match.group(1)) * UNIT_S[match.group(2)]
