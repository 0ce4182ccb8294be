"""The row of a multi-rank job from the parts of its ranks (pure; no database here).

No joule is counted twice:

- GPU energy is the sum of the ranks' own devices. Where ranks of one host were charged
  for one GPU with shares adding up to more than 1 (each fell back to every visible
  device), that GPU's energy is scaled down to a total share of 1 and the job is flagged
  ``ranks_shared_device:<host>/<device>``.
- Node-level energy (CPU, DRAM in machine mode) is on the part of local rank 0 only (the
  ranks see to that), so adding the parts counts it once per node.
- Facility energy, emissions, water and cost are the parts' own (each rank's location
  and factor), scaled like their devices.

The job's row lists its hosts; its status is ``running`` while a part runs (or, while
the job's heartbeat is recent, some ranks have not reported yet), then the worst outcome
(failed, interrupted, completed); a part that did not complete is named in the flags
(``rank_interrupted:3``), ranks that never reported too (``ranks_missing:2``).
Metadata comes from rank 0 (else the lowest rank).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from greenai.figures import flags as fl
from greenai.figures.units import kwh

SHARE_SLACK = 1e-6
NODE_KINDS = ("cpu", "psys", "dram")
_LEAD_COLUMNS = (
    "name", "project", "model", "base_model", "technique", "precision", "phase",
    "batch_size", "seq_len", "tags", "country", "region", "cloud_provider", "cloud_region",
    "intensity_source", "codecarbon_version", "factor_evidence", "wue_l_per_kwh",
    "price_per_kwh", "currency", "host_id", "user_id", "mode", "command", "greenai_version",
)  # fmt: skip
_SCALED = ("facility_energy_j", "emissions_kg", "water_l", "cost")
_SUMMED = ("tokens_input", "tokens_output", "samples")
_STATUS_ORDER = ("failed", "interrupted", "completed")


@dataclass
class _Device:
    """One device of the job, summed over the parts that were charged for it."""

    host_id: str
    device_id: str
    kind: str
    name: str | None
    uuid: str | None
    methods: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    notes: list[str] | None = None
    contributions: list[tuple[str, float, float]] = field(default_factory=list)

    @property
    def share(self) -> float:
        return sum(share for _, _, share in self.contributions)

    def scale(self) -> float:
        """1, or less for a GPU whose shares add up to more than 1."""
        total = self.share
        if self.kind == "gpu" and total > 1.0 + SHARE_SLACK:
            return 1.0 / total
        return 1.0


def _merge_methods(methods: Iterable[str]) -> str:
    found = set(methods)
    if len(found) == 1:
        return found.pop()
    return "mixed" if found else "none"


def _lead(parts: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    return min(parts, key=lambda p: (p.get("rank") is None, p.get("rank") or 0, p["id"]))


def _collect_devices(
    parts: Sequence[Mapping[str, Any]], devices: Mapping[str, Sequence[Mapping[str, Any]]]
) -> dict[tuple[str, str], _Device]:
    merged: dict[tuple[str, str], _Device] = {}
    for part in parts:
        for row in devices.get(part["id"], ()):
            host = str(row.get("host_id") or part.get("host_id") or "")
            key = (host, str(row["device_id"]))
            dev = merged.get(key)
            if dev is None:
                dev = _Device(host, key[1], str(row["kind"]), row.get("name"), row.get("uuid"))
                merged[key] = dev
            dev.methods.append(str(row["method"]))
            if row.get("share_rule") and row["share_rule"] not in dev.rules:
                dev.rules.append(str(row["share_rule"]))
            if row.get("notes") and dev.notes is None:
                dev.notes = list(row["notes"])
            raw_share = row.get("share")
            share = 1.0 if raw_share is None else float(raw_share)
            dev.contributions.append((part["id"], float(row.get("energy_j") or 0.0), share))
    return merged


def _status(parts: Sequence[Mapping[str, Any]], world_size: int, awaiting: bool) -> str:
    statuses = {str(p["status"]) for p in parts}
    if "running" in statuses or "created" in statuses:
        return "running"
    if awaiting and len(parts) < world_size:
        return "running"  # ranks that have not reported yet are presumed alive
    for status in _STATUS_ORDER:
        if status in statuses:
            return status
    return "completed"


def _flags(
    parts: Sequence[Mapping[str, Any]], shared: Sequence[_Device], world_size: int, status: str
) -> list[str]:
    found: list[str] = []
    for part in sorted(parts, key=lambda p: p.get("rank") or 0):
        for flag in part.get("flags") or ():
            if flag not in found:
                found.append(str(flag))
    for part in sorted(parts, key=lambda p: p.get("rank") or 0):
        if part["status"] in ("failed", "interrupted"):
            found.append(fl.rank_ended(str(part["status"]), part.get("rank")))
    for dev in shared:
        found.append(fl.ranks_shared_device(dev.host_id, dev.device_id))
    if status != "running" and len(parts) < world_size:
        found.append(fl.ranks_missing(world_size - len(parts)))
    return found


def _by_kind(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    totals: dict[str, float] = {}
    methods: dict[str, list[str]] = {}
    for row in rows:
        if row["share"] <= 0.0:
            continue
        totals[row["kind"]] = totals.get(row["kind"], 0.0) + row["energy_j"]
        methods.setdefault(row["kind"], []).append(row["method"])
    return {
        kind: {"energy_j": totals[kind], "method": _merge_methods(methods[kind])}
        for kind in sorted(totals)
    }


def _device_rows(merged: Mapping[tuple[str, str], _Device]) -> list[dict[str, Any]]:
    rows = []
    for (host, device_id), dev in sorted(merged.items()):
        scale = dev.scale()
        rows.append(
            {
                "device_id": device_id,
                "host_id": host,
                "kind": dev.kind,
                "name": dev.name,
                "uuid": dev.uuid,
                "method": _merge_methods(dev.methods),
                "energy_j": sum(e for _, e, _ in dev.contributions) * scale,
                "share": min(dev.share, 1.0),
                "share_rule": ",".join(dev.rules) if dev.rules else None,
                "notes": dev.notes,
            }
        )
    return rows


def _part_ratios(
    parts: Sequence[Mapping[str, Any]], merged: Mapping[tuple[str, str], _Device]
) -> dict[str, float]:
    """Per part: its energy after shared GPUs were scaled down, over its own energy."""
    raw: dict[str, float] = {}
    kept: dict[str, float] = {}
    for dev in merged.values():
        scale = dev.scale()
        for part_id, energy_j, _ in dev.contributions:
            raw[part_id] = raw.get(part_id, 0.0) + energy_j
            kept[part_id] = kept.get(part_id, 0.0) + energy_j * scale
    ratios = {}
    for part in parts:
        total = raw.get(part["id"], 0.0)
        ratios[part["id"]] = kept[part["id"]] / total if total > 0.0 else 1.0
    return ratios


def _kind_j(by_kind: Mapping[str, Mapping[str, Any]], *kinds: str) -> float:
    return sum(float(by_kind[k]["energy_j"]) for k in kinds if k in by_kind)


def _times(parts: Sequence[Mapping[str, Any]], status: str) -> dict[str, Any]:
    started: datetime = min(p["started_at"] for p in parts)
    seen = [p.get("heartbeat_at") or p.get("ended_at") or p["started_at"] for p in parts]
    heartbeat: datetime = max(seen)
    ended = None
    if status != "running":
        ended = max(p.get("ended_at") or p.get("heartbeat_at") or p["started_at"] for p in parts)
    span_s = ((ended or heartbeat) - started).total_seconds()
    longest_s = max(float(p.get("duration_s") or 0.0) for p in parts)
    return {
        "started_at": started,
        "ended_at": ended,
        "heartbeat_at": heartbeat,
        "duration_s": max(span_s, longest_s, 0.0),
    }


def _hardware(rows: Sequence[Mapping[str, Any]], lead: Mapping[str, Any]) -> str | None:
    counts: dict[str, int] = {}
    for row in rows:
        if row["kind"] == "gpu" and row["share"] > 0.0:
            name = str(row["name"] or "GPU")
            counts[name] = counts.get(name, 0) + 1
    if counts:
        return ", ".join(f"{name} x{n}" for name, n in sorted(counts.items()))
    return lead.get("hardware")


def _outcome(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    ordered = sorted(parts, key=lambda p: p.get("rank") or 0)
    codes = [p.get("exit_code") for p in ordered]
    failing = [c for c in codes if c not in (None, 0)]
    errors = [f"rank {p.get('rank')}: {p['error']}" for p in ordered if p.get("error")]
    rules = {p.get("attribution") for p in parts if p.get("attribution")}
    return {
        "exit_code": failing[0] if failing else next((c for c in codes if c is not None), None),
        "error": "; ".join(errors)[:2000] if errors else None,
        "attribution": rules.pop() if len(rules) == 1 else ("mixed" if rules else None),
    }


def _facility_columns(
    parts: Sequence[Mapping[str, Any]],
    ratios: Mapping[str, float],
    lead: Mapping[str, Any],
    energy_j: float,
) -> dict[str, Any]:
    """Work done, facility energy, emissions, water and cost: the parts' own, scaled."""
    out: dict[str, Any] = {c: sum(int(p.get(c) or 0) for p in parts) for c in _SUMMED}
    for column in _SCALED:
        known = [float(p[column]) * ratios[p["id"]] for p in parts if p.get(column) is not None]
        out[column] = sum(known) if known else None
    out["emissions_kg"] = out["emissions_kg"] or 0.0
    facility_j = out["facility_energy_j"] = out["facility_energy_j"] or 0.0
    out["pue"] = facility_j / energy_j if energy_j > 0 else float(lead.get("pue") or 1.0)
    facility_kwh = kwh(facility_j)
    out["intensity_g_per_kwh"] = (
        out["emissions_kg"] * 1000.0 / facility_kwh
        if facility_kwh > 0
        else lead.get("intensity_g_per_kwh")
    )
    return out


def job_record(
    job_id: str,
    parts: Sequence[Mapping[str, Any]],
    devices: Mapping[str, Sequence[Mapping[str, Any]]],
    metrics: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    *,
    awaiting_ranks: bool = False,
) -> dict[str, Any]:
    """The job's ledger record (run row, devices, metrics) from its ranks' parts.

    Args:
        job_id: The job's run id.
        parts: The parts' run rows (every ``runs`` column), at least one.
        devices: Part id -> its device rows.
        metrics: Part id -> its metric rows; the lead part's (rank 0, else the lowest)
            become the job's.
        awaiting_ranks: Whether ranks that have not reported yet may still do so (the
            job's last heartbeat is recent): the job then stays ``running``.

    Returns:
        ``{"run": {...}, "devices": [...], "windows": [], "metrics": [...]}`` with the
        job's devices keyed by host.

    Raises:
        ValueError: No parts.
    """
    if not parts:
        raise ValueError(f"job {job_id!r} has no parts to aggregate")
    lead = _lead(parts)
    merged = _collect_devices(parts, devices)
    rows = _device_rows(merged)
    ratios = _part_ratios(parts, merged)
    world_size = max(int(p.get("world_size") or 0) for p in parts) or len(parts)
    status = _status(parts, world_size, awaiting_ranks)
    shared = [d for d in merged.values() if d.scale() < 1.0]
    by_kind = _by_kind(rows)
    energy_j = sum(row["energy_j"] for row in rows)
    run: dict[str, Any] = {c: lead.get(c) for c in _LEAD_COLUMNS}
    run.update(
        id=job_id,
        parent_run_id=None,
        rank=None,
        world_size=world_size,
        hosts=sorted({str(p.get("host_id") or "") for p in parts} | {r["host_id"] for r in rows}),
        status=status,
        energy_j=energy_j,
        energy_by_kind=by_kind,
        energy_gpu_j=_kind_j(by_kind, "gpu"),
        energy_cpu_j=_kind_j(by_kind, "cpu", "psys"),
        energy_dram_j=_kind_j(by_kind, "dram"),
        energy_other_j=energy_j - _kind_j(by_kind, "gpu", "cpu", "psys", "dram"),
        measured_energy_j=sum(r["energy_j"] for r in rows if r["method"] in ("counter", "power")),
        hardware=_hardware(rows, lead),
        flags=_flags(parts, shared, world_size, status),
        **_times(parts, status),
        **_outcome(parts),
    )
    run["hosts"] = [h for h in run["hosts"] if h]
    run.update(_facility_columns(parts, ratios, lead, energy_j))
    lead_metrics = [dict(m) for m in (metrics or {}).get(lead["id"], ())]
    return {"run": run, "devices": rows, "windows": [], "metrics": lead_metrics}
