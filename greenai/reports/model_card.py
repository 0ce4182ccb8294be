"""A model card's energy figures from a run's ledger record: Hugging Face's
``co2_eq_emissions`` metadata and a short Markdown section for the card's body.

The figures are the figures layer's (:mod:`greenai.figures.lines` and
:func:`greenai.figures.frame.totals`), so a card shows what the dashboard and the
reports show for the same run: emissions are the facility energy times the factor stored
with the run, and the factor is stated with its source, its CodeCarbon data and its
vintage. A multi-rank job's record already adds up its ranks' parts (its hardware counts
every rank's GPUs). A training resumed from checkpoints is one card over its sessions
(the records of the runs each session resumed from, given as ``earlier``).

- ``emissions``: location-based emissions of the facility energy, grams CO2e (the unit
  the Hub asks for), 3 significant digits;
- ``source``: ``greenai <version>`` and whether the energy was measured by hardware
  counters and sensors, estimated, or both (with the measured share);
- ``training_type``: ``fine-tuning`` for phase ``fine-tuning``, a training run with a
  PEFT adapter technique (``lora``, ``qlora``...) or one naming another model as its
  ``base_model``; ``pre-training`` for any other training run; left out for evaluation
  and inference runs (the Hub knows these two values only);
- ``geographical_location``: the run's region and country (cloud region too);
- ``hardware_used``: the GPUs the run was charged for, counted by name
  (``2 x NVIDIA H100 80GB HBM3``), else its CPUs.

Keys the run cannot fill are left out rather than guessed. :func:`model_card` is pure
(records in, the card out); :mod:`greenai.reports.model_card_file` reads the ledger and
writes the file. A run still running has no final figures: it is refused.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from greenai.errors import GreenAIError
from greenai.figures import flags as fl
from greenai.figures.definitions import MEASURED_SHARE, j_per_token_or_none
from greenai.figures.evidence import NOT_RECORDED
from greenai.figures.frame import total, totals
from greenai.figures.lines import missing, records, run_lines
from greenai.figures.units import (
    G_PER_KG,
    format_count,
    format_energy,
    format_joules,
    format_mass,
    format_number,
)

__all__ = ["ModelCard", "ModelCardError", "card_figures", "model_card", "rounded"]

NOT_FINAL = ("running", "created")
"""Statuses of a run whose figures are not final yet."""
ADAPTER_TECHNIQUES = frozenset(
    {"lora", "qlora", "adalora", "ia3", "loha", "lokr", "oft", "boft", "vera",
     "prefix_tuning", "prompt_tuning", "p_tuning", "adaption_prompt"}
)  # fmt: skip
"""Techniques that train adapters on a base model (PEFT types): a fine-tuning."""
TRAINING_PHASES = {"training": "pre-training", "fine-tuning": "fine-tuning"}
"""The Hub's training type of each training phase (before adapters and base models)."""
DIGITS = 3
"""Significant digits of the card's figures."""


class ModelCardError(GreenAIError):
    """A model card cannot be made or written; the message says why and what to do."""


@dataclass(frozen=True)
class ModelCard:
    """A model card's energy figures.

    Attributes:
        run_id: The run (or multi-rank job) they come from.
        metadata: Front matter keys to merge: ``{"co2_eq_emissions": {...}}``.
        paragraph: The body's energy section, Markdown, without heading or markers.
        sessions: Ids of the runs counted, oldest first (more than one for a training
            resumed from checkpoints).
    """

    run_id: str
    metadata: dict[str, Any] = field(default_factory=dict)
    paragraph: str = ""
    sessions: tuple[str, ...] = ()


def rounded(value: float, digits: int = DIGITS) -> float | int:
    """``value`` to ``digits`` significant digits (an int from ``10**digits`` up)."""
    if not math.isfinite(value) or value == 0:
        return 0.0
    kept = float(f"{value:.{digits}g}")
    return round(kept) if abs(kept) >= 10**digits else kept


def card_figures(
    runs: Sequence[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """The runs' report lines (:func:`greenai.figures.lines.run_lines`) and their totals
    (:func:`greenai.figures.frame.totals`): IT and facility energy, location-based
    emissions, measured share, tokens."""
    lines = run_lines(pd.DataFrame([dict(run) for run in runs], dtype=object))
    return records(lines), totals(lines)


def training_type(run: Mapping[str, Any]) -> str | None:
    """What the Hub calls the training type (see the module docstring); None for a run
    that did not train."""
    kind = TRAINING_PHASES.get(str(run.get("phase") or "").lower())
    if kind is None:
        return None
    technique = str(run.get("technique") or "").lower()
    base, model = run.get("base_model"), run.get("model")
    if technique in ADAPTER_TECHNIQUES or (base and model and str(base) != str(model)):
        return "fine-tuning"
    return kind


def hardware_used(devices: Sequence[Mapping[str, Any]]) -> str | None:
    """The GPUs a run was charged for, counted by name (``2 x NVIDIA H100 80GB HBM3``),
    else its CPUs; None when it was charged for neither.

    Args:
        devices: The run's device rows (a job's rows cover every rank, keyed by host).
    """
    for kind in ("gpu", "cpu"):
        counts: dict[str, int] = {}
        for row in devices:
            if row.get("kind") == kind and float(row.get("share") or 0.0) > 0.0:
                name = str(row.get("name") or kind.upper())
                counts[name] = counts.get(name, 0) + 1
        if counts:
            return ", ".join(f"{n} x {name}" for name, n in sorted(counts.items()))
    return None


def geographical_location(
    run: Mapping[str, Any], country_names: Mapping[str, str] | None = None
) -> str | None:
    """``california, United States (USA)``, ``gcp europe-west1``; None when not set.

    Args:
        run: The run row.
        country_names: ISO 3166-1 alpha-3 code -> country name (CodeCarbon's names).
    """
    parts = []
    if run.get("region"):
        parts.append(str(run["region"]))
    country = run.get("country")
    if country:
        name = (country_names or {}).get(str(country))
        parts.append(f"{name} ({country})" if name and name != country else str(country))
    if run.get("cloud_provider") and run.get("cloud_region"):
        parts.append(f"{run['cloud_provider']} {run['cloud_region']}")
    return ", ".join(parts) or None


def distinct(values: Sequence[str | None]) -> str | None:
    """The values present, each once, in order, joined by ``; ``; None when none is."""
    kept = list(dict.fromkeys(v for v in values if v))
    return "; ".join(kept) or None


def percent(fraction: float) -> str:
    """``95%``; ``99.6%`` or ``0.4%`` rather than a 100% or 0% that is not exact."""
    text = f"{fraction:.0%}"
    if text in ("0%", "100%") and 0.0 < fraction < 1.0:
        text = f"{fraction:.1%}"
        if text in ("0.0%", "100.0%"):
            return "<0.1%" if fraction < 0.5 else ">99.9%"
    return text


def how_obtained(measured: float) -> str:
    """``measured``, ``estimated`` or ``95% measured, 5% estimated`` (NaN: no energy)."""
    if math.isnan(measured):
        return "no energy measured"
    if measured >= 1.0:
        return "measured"
    if measured <= 0.0:
        return "estimated"
    return f"{percent(measured)} measured, {percent(1.0 - measured)} estimated"


def source(runs: Sequence[Mapping[str, Any]], measured: float, version: str) -> str:
    """``greenai 0.1.0, measured`` (``codecarbon, imported by greenai 0.1.0`` for an
    imported run).

    Args:
        runs: The run rows counted (the last one names the greenai that measured it).
        measured: The measured share of their IT energy (0 to 1, NaN without energy).
        version: greenai's version when the run does not name the one that measured it.
    """
    greenai = f"greenai {runs[-1].get('greenai_version') or version}"
    for run in runs:
        for flag in run.get("flags") or ():
            if str(flag).startswith(fl.IMPORTED):
                return f"{str(flag).removeprefix(fl.IMPORTED)}, imported by {greenai}"
    return f"{greenai}, {how_obtained(measured)}"


def md(text: object) -> str:
    """Text from outside greenai as Markdown that shows it as it is, on one line: no
    HTML (so no comment marker either), no code-span breaks, characters that do not
    print (terminal escapes, lone surrogates) as escapes."""
    line = " ".join(str(text).split())
    line = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in line)
    return html.escape(line, quote=False).replace("`", "'")


def duration_text(seconds: float) -> str:
    """``2.12 h``, ``12.5 min``, ``45.2 s``."""
    if seconds >= 3600:
        return f"{format_number(seconds / 3600)} h"
    if seconds >= 60:
        return f"{format_number(seconds / 60)} min"
    return f"{format_number(seconds)} s"


def by_kind(runs: Sequence[Mapping[str, Any]]) -> list[tuple[str, float, str]]:
    """(kind, J, method) of the runs' device kinds, the largest first; a kind measured
    by different methods in different runs is ``mixed``."""
    energy: dict[str, list[float]] = {}
    methods: dict[str, set[str]] = {}
    for run in runs:
        for kind, entry in (run.get("energy_by_kind") or {}).items():
            if isinstance(entry, Mapping):
                energy.setdefault(str(kind), []).append(float(entry.get("energy_j") or 0.0))
                methods.setdefault(str(kind), set()).add(str(entry.get("method") or "unknown"))
    rows = [(k, total(v), methods[k].pop() if len(methods[k]) == 1 else "mixed")
            for k, v in energy.items()]  # fmt: skip
    return sorted(rows, key=lambda row: (-row[1], row[0]))


def energy_line(lines: Sequence[Mapping[str, Any]], sums: Mapping[str, float],
                runs: Sequence[Mapping[str, Any]]) -> str:  # fmt: skip
    """Facility and IT energy with the PUE, and the energy of each device kind."""
    energy_j = sums["energy_j"]
    if energy_j <= 0:
        return "none measured"
    it = format_energy(energy_j)
    pues = sorted({float(line["pue"]) for line in lines})
    if pues != [1.0]:
        facility = format_energy(sums["facility_energy_j"])
        pue = format_number(pues[0])
        if len(pues) > 1:
            pue += f" to {format_number(pues[-1])}, by session"
        text = f"{facility} at the facility ({it} of IT energy x PUE {pue})"
    else:
        text = f"{it} of IT energy (PUE 1: no facility overhead counted)"
    parts = [f"{md(k)} {format_energy(j)} ({md(method)})" for k, j, method in by_kind(runs)]
    return text + (f"; {', '.join(parts)}" if parts else "")


def _letters(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def vintage_text(line: Mapping[str, Any], origin: str) -> str:
    """The factor's dataset (where ``origin``, its source, does not name it already),
    vintage and basis as the run stores them (``2023 data, life-cycle basis``)."""
    dataset = str(line.get("factor_dataset") or NOT_RECORDED.dataset)
    if dataset == NOT_RECORDED.dataset:
        return "dataset and vintage not recorded with the run"
    vintage = line.get("factor_vintage")
    year = "vintage not stated by the dataset"
    if vintage is not None and not missing(vintage):
        year = f"{int(vintage)} data"
    parts = [year] if _letters(dataset) in _letters(origin) else [dataset, year]
    if line.get("factor_basis") in ("life-cycle", "combustion"):
        parts.append(f"{line['factor_basis']} basis")
    return ", ".join(parts)


def factor_text(line: Mapping[str, Any]) -> str:
    """One factor: g/kWh, its source, the CodeCarbon version and the dataset's vintage."""
    if fl.MISSING_FACTOR in line["flags"]:
        implied = line.get("loc_intensity_g_per_kwh")
        shown = "none"
        if implied is not None and not missing(implied):
            shown = f"{format_number(float(implied))} gCO2e/kWh implied"
        return f"{shown} (no emission factor recorded with the run)"
    origin = str(line.get("loc_source") or "source not recorded")
    version = line.get("codecarbon_version")
    if version and str(version) not in origin:
        origin += f", CodeCarbon {version}"
    intensity = format_number(float(line["loc_intensity_g_per_kwh"]))
    return f"{intensity} gCO2e/kWh ({md(origin)}; {md(vintage_text(line, origin))})"


def emissions_line(lines: Sequence[Mapping[str, Any]], sums: Mapping[str, float]) -> str:
    """The emissions with each factor, its source and vintage."""
    factors = distinct([factor_text(line) for line in lines]) or "none"
    text = f"{format_mass(sums['emissions_kg'])}, location-based: facility energy x {factors}"
    if any(fl.UNKNOWN_LOCATION in line["flags"] for line in lines):
        text += "; the location was not set, so this is the world-average factor"
    return text


def measured_line(measured: float) -> str:
    """The share of the IT energy read from hardware rather than estimated."""
    hardware = "read from hardware energy counters or power sensors"
    if math.isnan(measured):
        return "no energy measured"
    if measured >= 1.0:
        return f"all of the IT energy {hardware}"
    if measured <= 0.0:
        return "none: all of the IT energy is estimated (modelled)"
    return f"{percent(measured)} of the IT energy {hardware}, {percent(1.0 - measured)} estimated"


def tokens_line(sums: Mapping[str, float]) -> str | None:
    """Tokens counted and :data:`~greenai.figures.definitions.J_PER_TOKEN`; None when
    none were counted."""
    tokens_in, tokens_out = int(sums["tokens_input"]), int(sums["tokens_output"])
    if tokens_in + tokens_out <= 0:
        return None
    per_token = j_per_token_or_none(sums["tokens_energy_j"], tokens_in + tokens_out)
    counted = format_count(tokens_in + tokens_out)
    if tokens_in and tokens_out:
        counted += f" ({format_count(tokens_in)} input, {format_count(tokens_out)} output)"
    else:
        counted += " input" if tokens_in else " output"
    return f"{counted}; {format_joules(per_token, per='token')} of IT energy"


def hardware_line(records_: Sequence[Mapping[str, Any]]) -> str:
    """The hardware, and the ranks and hosts of a multi-rank job."""
    shown = []
    for record in records_:
        run = record["run"]
        text = md(hardware_used(record.get("devices") or ()) or run.get("hardware") or "")
        hosts = run.get("hosts") or ()
        if text and run.get("rank") is None and int(run.get("world_size") or 0) > 1:
            count = len(hosts) or 1
            text += f" ({run['world_size']} ranks on {count} host{'s' * (count > 1)})"
        shown.append(text)
    return distinct(shown) or "not recorded"


def run_line(runs: Sequence[Mapping[str, Any]], unlinked: str | None = None) -> str:
    """The run ids in the ledger, the earlier sessions counted (and one not found), the
    status when not completed, the job of a rank."""
    run = runs[-1]
    text = f"`{md(run['id'])}` in the greenai ledger"
    if len(runs) > 1:
        earlier = ", ".join(f"`{md(r['id'])}`" for r in runs[:-1])
        text += f", resumed from checkpoints of {earlier} (all {len(runs)} sessions counted)"
    if unlinked:
        first = runs[0]["id"]
        text += (
            f"; `{md(first)}` resumed from `{md(unlinked)}`, which is not in this ledger: "
            "that session is not counted"
        )
    status = str(run.get("status") or "")
    if status and status != "completed":
        text += f"; {md(status)}: figures up to its last record"
    if run.get("rank") is not None and run.get("parent_run_id"):
        text += f"; rank {run['rank']} only, of job `{md(run['parent_run_id'])}`"
    return text


def paragraph(
    records_: Sequence[Mapping[str, Any]],
    lines: Sequence[Mapping[str, Any]],
    sums: Mapping[str, float],
    country_names: Mapping[str, str] | None = None,
    unlinked: str | None = None,
) -> str:
    """The body's energy section (Markdown, no heading) of the runs' records, lines
    and totals (:func:`card_figures`)."""
    runs = [record["run"] for record in records_]
    last = runs[-1]
    what = training_type(last) or str(last.get("phase") or "run")
    places = distinct([geographical_location(run, country_names) for run in runs])
    items = [
        ("Energy", energy_line(lines, sums, runs)),
        ("Carbon emitted", emissions_line(lines, sums)),
        (MEASURED_SHARE.label, measured_line(sums["measured_share"])),
        ("Hardware", hardware_line(records_)),
        ("Location", md(places or "not set")),
        ("Duration", duration_text(total(float(run.get("duration_s") or 0.0) for run in runs))),
        ("Tokens", tokens_line(sums)),
        ("Run", run_line(runs, unlinked)),
    ]
    lines_md = [f"Energy and emissions of this model's {md(what)}, as measured by greenai:", ""]
    lines_md += [f"- **{label}:** {text}" for label, text in items if text]
    return "\n".join(lines_md)


def model_card(
    run_record: Mapping[str, Any],
    *,
    earlier: Sequence[Mapping[str, Any]] = (),
    unlinked: str | None = None,
    country_names: Mapping[str, str] | None = None,
    version: str | None = None,
) -> ModelCard:
    """A run's model card figures (pure: records in, the card out).

    Args:
        run_record: The run's ledger record (:meth:`greenai.ledger.Ledger.get_run`):
            ``{"run": {...}, "devices": [...], ...}``; a multi-rank job's record sums
            its ranks.
        earlier: Records of the sessions a resumed training continued, oldest first:
            their figures are added to the run's.
        unlinked: The id of an earlier session the ledger does not hold (stated in the
            section: its figures are missing).
        country_names: ISO3 code -> country name, for the location (codes otherwise).
        version: greenai's version, for runs that do not name the one that measured
            them (default: this greenai's).

    Returns:
        The ``co2_eq_emissions`` metadata and the section's Markdown.

    Raises:
        ModelCardError: The run is still running (its figures are not final).
    """
    run = run_record["run"]
    if str(run.get("status")) in NOT_FINAL:
        raise ModelCardError(
            f"run {run['id']!r} is still running: its figures are not final; "
            "make the card once it has ended"
        )
    if version is None:
        from greenai import __version__

        version = __version__
    records_ = [*earlier, run_record]
    runs = [record["run"] for record in records_]
    lines, sums = card_figures(runs)
    found = {
        "emissions": rounded(sums["emissions_kg"] * G_PER_KG),
        "source": source(runs, sums["measured_share"], version),
        "training_type": training_type(run),
        "geographical_location": distinct([geographical_location(r, country_names) for r in runs]),
        "hardware_used": distinct([hardware_used(r.get("devices") or ()) for r in records_]),
    }
    metadata = {"co2_eq_emissions": {k: v for k, v in found.items() if v is not None}}
    text = paragraph(records_, lines, sums, country_names, unlinked)
    return ModelCard(str(run["id"]), metadata, text, tuple(str(r["id"]) for r in runs))
