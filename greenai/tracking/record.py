"""A run as a dict: the public ``to_dict`` and the ledger's record."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from greenai.figures import flags as fl
from greenai.figures.definitions import j_per_token_or_none
from greenai.figures.units import emissions_kg, kwh
from greenai.ledger import heartbeat_columns as beat
from greenai.tracking.accounting import (
    Charge,
    below_resolution,
    energy_by_kind,
    measured_energy_j,
)
from greenai.tracking.shares import gpu_rule
from greenai.tracking.spans import MIG_SLICES, Span

if TYPE_CHECKING:
    from collectors.sampler import Sampler
    from greenai.tracking.run import Run

_WINDOW_COLUMNS = (
    "id", "parent_window_id", "name", "steady_state", "started_at", *beat.WINDOW_COLUMNS
)  # fmt: skip
"""The windows columns of a full record: what a heartbeat updates, and what never changes."""


def quality_flags(run: Run, charges: list[Charge] | None = None) -> list[str]:
    """The run's flags plus those derived from its measurement (its own span's only).

    Args:
        run: The run.
        charges: ``run.charges()``, where the caller has them already.
    """
    found = list(run.flags)

    def add(flag: str) -> None:
        if flag not in found:
            found.append(flag)

    charges = run.charges() if charges is None else charges
    for kind, total in energy_by_kind(charges).items():
        if total["method"] in ("model", "mixed"):
            add(fl.estimated(kind))
    if run.hub is None:
        add(fl.NO_COLLECTOR)
        return found
    span = run.root_span
    if run.hub.gpu_ids():
        add(fl.attribution(gpu_rule(charges)))
    if any(MIG_SLICES in c.rule for c in charges if c.share > 0):
        add(fl.MIG)
    if span.overlapped:
        add(fl.OVERLAP)
    for flag in span.flags:
        add(flag)
    for flag in counts_flags(span, run.hub.sampler):
        add(flag)
    if run.stopped and below_resolution(charges, run.duration_s, span.lost_devices):
        add(fl.BELOW_RESOLUTION)
    return found


def counts_flags(span: Span, sampler: Sampler) -> list[str]:
    """Errors, gaps and counter resets between the span's start and its end (or now)."""
    if span.counts_at_start is None:
        return []
    end = span.counts_at_end or sampler.counts()
    own = end.since(span.counts_at_start)
    found = [fl.collector_errors(name, n) for name, n in sorted(own.collector_errors.items())]
    found += [fl.collector_errors(dev, n) for dev, n in sorted(own.device_errors.items())]
    if own.gaps:
        found.append(fl.SAMPLING_GAPS)
    found += [fl.counter_reset(dev) for dev in sorted(own.counter_resets)]
    return found


def hardware_summary(run: Run, charges: list[Charge]) -> str | None:
    """Devices charged to the run, e.g. ``NVIDIA H100 80GB HBM3 x8``, else the CPU."""
    if run.hub is None:
        return None
    charged = {c.device_id for c in charges if c.share > 0}
    devices = run.hub.sampler.devices
    gpus = Counter(d.name for d in devices if d.kind.value == "gpu" and d.device_id in charged)
    if gpus:
        return ", ".join(f"{name} x{n}" for name, n in sorted(gpus.items()))
    cpus = [d.name for d in devices if d.kind.value == "cpu"]
    return cpus[0] if cpus else None


def device_rows(run: Run, charges: list[Charge]) -> list[dict[str, Any]]:
    """Per-device energy charged to the run."""
    info = {d.device_id: d for d in run.hub.sampler.devices} if run.hub else {}
    rows = []
    for charge in charges:
        dev = info.get(charge.device_id)
        rows.append(
            {
                "device_id": charge.device_id,
                "host_id": "",
                "kind": charge.kind,
                "name": dev.name if dev else None,
                "uuid": dev.uuid if dev else None,
                "method": charge.method,
                "energy_j": charge.energy_j,
                "share": charge.share,
                "share_rule": charge.rule,
                "notes": list(dev.notes) if dev and dev.notes else None,
            }
        )
    return rows


def totals(run: Run, charges: list[Charge]) -> dict[str, Any]:
    """The run's running totals from its charges: energy (IT, facility, by kind,
    measured, per ledger column), work done, emissions, water and cost."""
    settings = run.settings
    energy_j = sum(c.energy_j for c in charges)
    facility_j = energy_j * run.pue
    by_kind = energy_by_kind(charges)
    kwh_it = kwh(energy_j)
    wue = getattr(settings, "wue", None)
    price = getattr(settings, "price_per_kwh", None)
    return {
        "duration_s": run.duration_s,
        "energy_j": energy_j,
        "facility_energy_j": facility_j,
        "energy_by_kind": by_kind,
        "energy_gpu_j": _kind_j(by_kind, "gpu"),
        "energy_cpu_j": _kind_j(by_kind, "cpu") + _kind_j(by_kind, "psys"),
        "energy_dram_j": _kind_j(by_kind, "dram"),
        "energy_other_j": sum(
            float(v["energy_j"])
            for k, v in by_kind.items()
            if k not in ("gpu", "cpu", "psys", "dram")
        ),
        "measured_energy_j": measured_energy_j(charges),
        "tokens_input": run.tokens_input,
        "tokens_output": run.tokens_output,
        "samples": run.samples,
        "emissions_kg": emissions_kg(facility_j, run.intensity_g_per_kwh),
        "water_l": kwh_it * wue if wue is not None else None,
        "cost": kwh_it * run.pue * price if price is not None else None,
        "hardware": hardware_summary(run, charges),
        "attribution": gpu_rule(charges),
        "flags": quality_flags(run, charges),
    }


def run_to_dict(run: Run) -> dict[str, Any]:
    """Every figure of the run with documented field names (units in the names)."""
    charges = run.charges()
    return _as_dict(run, charges, totals(run, charges))


def _as_dict(run: Run, charges: list[Charge], sums: dict[str, Any]) -> dict[str, Any]:
    settings, meta = run.settings, run.meta
    energy_j = sums["energy_j"]
    total_tokens = run.tokens_input + run.tokens_output
    return {
        "id": run.id,
        "parent_run_id": run.parent_run_id,
        "status": run.status,
        "name": meta.name,
        "project": meta.project,
        "model": meta.model,
        "base_model": meta.base_model,
        "technique": meta.technique,
        "precision": meta.precision,
        "phase": meta.phase,
        "batch_size": meta.batch_size,
        "seq_len": meta.seq_len,
        "tags": dict(meta.tags),
        "started_at": run.root_span.started_at,
        "ended_at": run.root_span.ended_at,
        "duration_s": sums["duration_s"],
        "energy_j": energy_j,
        "facility_energy_j": sums["facility_energy_j"],
        "pue": run.pue,
        "energy_by_kind": sums["energy_by_kind"],
        "measured_energy_j": sums["measured_energy_j"],
        "tokens_input": run.tokens_input,
        "tokens_output": run.tokens_output,
        "samples": run.samples,
        "j_per_output_token": j_per_token_or_none(energy_j, run.tokens_output),
        "j_per_token": j_per_token_or_none(energy_j, total_tokens),
        "emissions_kg": sums["emissions_kg"],
        "intensity_g_per_kwh": run.intensity_g_per_kwh,
        "intensity_source": run.intensity_source,
        "codecarbon_version": getattr(run.factor, "codecarbon_version", None),
        "factor_evidence": _evidence(run.factor),
        "country": getattr(settings, "country", None),
        "region": getattr(settings, "region", None),
        "cloud_provider": getattr(settings, "cloud_provider", None),
        "cloud_region": getattr(settings, "cloud_region", None),
        "wue_l_per_kwh": getattr(settings, "wue", None),
        "water_l": sums["water_l"],
        "price_per_kwh": getattr(settings, "price_per_kwh", None),
        "cost": sums["cost"],
        "currency": getattr(settings, "currency", None),
        "hardware": sums["hardware"],
        "mode": getattr(settings, "mode", None),
        "attribution": sums["attribution"],
        "flags": sums["flags"],
        "exit_code": run.exit_code,
        "error": run.error,
        "devices": device_rows(run, charges),
        "windows": [w.to_dict() for w in run.windows],
        "metrics": [dict(m) for m in run.metrics],
    }


_RUN_EXTRA = ("devices", "windows", "metrics", "j_per_output_token", "j_per_token")


def build_record(run: Run, identity: dict[str, Any]) -> dict[str, Any]:
    """The ledger record of the run: row, devices, windows and metrics.

    Args:
        run: The run.
        identity: host_id, user_id, command, greenai_version.
    """
    charges = run.charges()
    sums = totals(run, charges)
    data = _as_dict(run, charges, sums)
    row = {k: v for k, v in data.items() if k not in _RUN_EXTRA}
    row.update(
        {k: sums[k] for k in ("energy_gpu_j", "energy_cpu_j", "energy_dram_j", "energy_other_j")},
        heartbeat_at=record_time(run),
        command=run.command,
        **identity,
    )
    windows = [{k: w[k] for k in _WINDOW_COLUMNS} for w in data["windows"]]
    return {"run": row, "devices": data["devices"], "windows": windows, "metrics": data["metrics"]}


def record_time(run: Run) -> datetime:
    """When a record of the run is made (its ``heartbeat_at``): the wall clock, but never
    before the run's start plus its monotonic duration so far.

    A killed run's ``ended_at`` becomes its last heartbeat, so after the wall clock is
    stepped back (NTP) a plain reading would end the run before it started. ``ended_at``
    itself is always the start plus the monotonic duration (see :class:`Span`).
    """
    now = datetime.now(UTC)
    started = run.root_span.started_at
    if started is None:
        return now
    return max(now, started + timedelta(seconds=run.duration_s))


def _kind_j(by_kind: dict[str, dict[str, Any]], kind: str) -> float:
    return float(by_kind.get(kind, {}).get("energy_j", 0.0))


def heartbeat_record(run: Run, windows_from: int, metrics_from: int) -> dict[str, Any]:
    """What changed since the run's last record (see :mod:`greenai.ledger.heartbeat`):
    its running totals and device rows, its windows from index ``windows_from`` on
    (those open at the last record, and any opened since: the ledger then asks for a
    full record) and the metrics from index ``metrics_from`` on."""
    charges = run.charges()
    sums = totals(run, charges)
    row = {name: sums[name] for name in beat.RUN_COLUMNS if name in sums}
    row.update(id=run.id, heartbeat_at=record_time(run))
    keys = ("device_id", "host_id", *beat.DEVICE_COLUMNS)
    devices = [{k: r[k] for k in keys} for r in device_rows(run, charges)]
    windows = []
    for window in run.windows[windows_from:]:
        data = window.to_dict()
        windows.append({"id": data["id"], **{k: data[k] for k in beat.WINDOW_COLUMNS}})
    metrics = [dict(m) for m in run.metrics[metrics_from:]]
    return {"run": row, "devices": devices, "windows": windows, "metrics": metrics}


def _evidence(factor: object) -> dict[str, Any] | None:
    """The factor's evidence as stored on the run, or None for a run without a factor."""
    evidence = getattr(factor, "evidence", None)
    return evidence.as_dict() if evidence is not None else None
