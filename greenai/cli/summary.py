"""The line ``greenai run`` prints on stderr when its command ends, for people.

Built from the run's final record as greenai stored it (:meth:`greenai.Run.to_dict`, the
figures of the ledger's row): energy per device kind with its method, facility energy
when the PUE is not 1, emissions with the factor and its source (which names the
CodeCarbon version of the data), energy per output token when tokens were counted, the
run id, and where the record went when it is not in the ledger yet::

    greenai: run 938759b7fcf749f4a8d143afcd3fa0ec completed in 12.4 s: gpu 1.23 kJ
    (counter), cpu 450 J (model); 26.1 mgCO2e at 56.0 gCO2e/kWh (codecarbon 3.3.2:
    global_energy_mix (FRA)); 1.64 J/output token (1,024 output tokens)

(one line, wrapped here). Figures take the SI prefix that fits (:mod:`greenai.figures.units`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from greenai.figures.units import (
    format_count,
    format_energy,
    format_joules,
    format_mass,
    format_number,
)

WHERE_IT_WENT = {
    "ledger": "",
    "spool": "the ledger did not take the record: it is journaled (greenai sync ships it)",
    "queued": "the record is not in the ledger yet: it is journaled (the next greenai process "
    "or greenai sync ships it)",
    "stderr": "neither the ledger nor the journal took the record: it is on stderr as a "
    "JSON line (greenai sync --from-stderr reads it back)",
    "unjournaled": "the record is not in the ledger yet and the journal refused it: it is "
    "shipped to the ledger, else printed on stderr as a JSON line, before greenai exits",
    "failed": "the record could not be made (see the error above)",
}
"""What the line says of each place the final record may have gone (see
:func:`greenai.tracking.lifecycle.finish`); nothing when the ledger has it."""


def summary_line(record: Mapping[str, Any], stored: str | None) -> str:
    """The one-line summary of a finished run.

    Args:
        record: The run's record (:meth:`greenai.Run.to_dict`).
        stored: Where its final record went (``"ledger"``, ``"spool"``, ...), if known.
    """
    head = f"greenai: run {record['id']} {record['status']} in {duration(record['duration_s'])}"
    parts = [f"{head}: {energy(record)}", emissions(record)]
    per_token = tokens(record)
    if per_token:
        parts.append(per_token)
    where = WHERE_IT_WENT.get(stored or "", "")
    if where:
        parts.append(where)
    return printable("; ".join(parts))


def printable(text: str) -> str:
    """``text`` on one line and without terminal escapes: a factor table's path or
    ``source`` column may hold any character; those that do not print are escaped."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def energy(record: Mapping[str, Any]) -> str:
    """``gpu 1.23 kJ (counter), cpu 450 J (model)``, and the facility energy when PUE != 1."""
    kinds = record.get("energy_by_kind") or {}
    if not kinds:
        return "no energy measured"
    text = ", ".join(
        f"{kind} {format_energy(total['energy_j'])} ({total['method']})"
        for kind, total in kinds.items()
    )
    pue = record.get("pue")
    if pue is not None and pue != 1.0:
        facility = format_energy(record.get("facility_energy_j"))
        text += f"; facility {facility} at PUE {format_number(pue)}"
    return text


def emissions(record: Mapping[str, Any]) -> str:
    """``0.167 mgCO2e at 475 gCO2e/kWh (codecarbon 3.3.2: world average ...)``."""
    source = str(record.get("intensity_source") or "source unknown")
    version = record.get("codecarbon_version")
    if version and str(version) not in source:
        source += f", codecarbon {version}"
    intensity = format_number(record.get("intensity_g_per_kwh"))
    return f"{format_mass(record.get('emissions_kg'))} at {intensity} gCO2e/kWh ({source})"


def tokens(record: Mapping[str, Any]) -> str:
    """``1.20 mJ/output token (16 output tokens)``; empty when no token was counted."""
    output = record.get("tokens_output") or 0
    if output:
        per = format_joules(record.get("j_per_output_token"), per="output token")
        return f"{per} ({format_count(output)} output tokens)"
    counted = (record.get("tokens_input") or 0) + output
    if counted:
        return f"{format_joules(record.get('j_per_token'), per='token')} ({counted:,} tokens)"
    return ""


def duration(seconds: float | None) -> str:
    """``0.401 s``, ``12.4 s``, ``3 min 05 s``, ``2 h 07 min``."""
    if seconds is None:
        return "?"
    if seconds < 60:
        return f"{format_number(seconds)} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
