"""Serving runs in the ledger: one run per engine, deployment and UTC day (an interval
belongs to the day it starts in).

Each of the agent's intervals is a window of the day's run (tokens, GPU energy, flags),
so comparisons count the day's run once, not its intervals. The run's row and devices
hold the day's totals so far and are upserted at every flush; its windows are added
(written once whatever the retries). An agent restarted the same day carries on the
stored run (its totals are read back once, before the first write). The run is
``completed`` from its first write, ``ended_at`` being the end of its latest interval,
so no stale-heartbeat check marks it interrupted between two intervals.

Its ``host_id`` is the agent's, so the node's idle energy (node energy minus the runs
charged on the host) leaves its GPU energy out. Phase ``inference``; technique from
the configuration; mode ``machine``; attribution ``configured``, ``discovered`` or
``all-visible``; devices with method, share and share rule as tracked runs have them.

No serving window is written for an interval where a tracked run ran the engine's
processes (see :mod:`greenai.agent.engine_processes`): a run of this host that overlaps
the interval and whose id is in the engine's environment, or whose stored command the
engine's command line ends with. That run already holds the energy.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from collectors.types import Device
from greenai.agent.serve_config import ServeTarget
from greenai.agent.serving import ModelInterval
from greenai.figures import flags as fl
from greenai.figures.units import emissions_kg, kwh

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


log = logging.getLogger(__name__)

PHASE = "inference"
RUN_PREFIX = "serve-"


@dataclass(frozen=True)
class SiteFigures:
    """Where the node draws its energy, as tracked runs of the node record it.

    Attributes:
        pue: Facility energy / IT energy.
        intensity_g_per_kwh: Emission factor, gCO2e/kWh (None: not resolved).
        intensity_source: Where the factor comes from.
        codecarbon_version: CodeCarbon version of the factor.
        country, region, cloud_provider, cloud_region: The location.
        flags: The factor's flags (``unknown_location``).
        evidence: The factor's dataset, vintage and basis
            (``FactorEvidence.as_dict()``), or None.
        wue_l_per_kwh: Water usage effectiveness, L per kWh of IT energy (None: unset).
        price_per_kwh: Price of a kWh of facility energy (None: unset).
        currency: Currency of the price.
    """

    pue: float = 1.0
    intensity_g_per_kwh: float | None = None
    intensity_source: str | None = None
    codecarbon_version: str | None = None
    country: str | None = None
    region: str | None = None
    cloud_provider: str | None = None
    cloud_region: str | None = None
    flags: tuple[str, ...] = ()
    evidence: Mapping[str, Any] | None = None
    wue_l_per_kwh: float | None = None
    price_per_kwh: float | None = None
    currency: str | None = None


def public_url(url: str) -> str:
    """``url`` without a user name or password (the ledger keeps no secrets)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def serving_run_id(host_id: str, target: ServeTarget, day: date) -> str:
    """The id of an engine's run of one day: ``serve-YYYYMMDD-<16 hex digits>``."""
    key = "\0".join((host_id, target.engine, target.deployment)).encode("utf-8")
    return f"{RUN_PREFIX}{day:%Y%m%d}-{hashlib.sha256(key).hexdigest()[:16]}"


@dataclass
class DeviceTotal:
    """A GPU's day so far: energy charged, the GPU's whole energy, its method and rules."""

    charged_j: float = 0.0
    device_j: float = 0.0
    method: str = "counter"
    rules: set[str] = field(default_factory=set)


@dataclass
class DayRun:
    """One engine's run of one UTC day, as this agent saw it (plus what was stored)."""

    run_id: str
    target: ServeTarget
    started_at: datetime
    ended_at: datetime
    duration_s: float = 0.0
    tokens_input: int = 0
    tokens_output: int = 0
    devices: dict[str, DeviceTotal] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    attribution: str = ""
    windows: list[dict[str, Any]] = field(default_factory=list)
    stored: DayRun | None = None
    seeded: bool = False

    def add(self, items: Sequence[ModelInterval]) -> None:
        """Fold one interval of the engine (its models) into the day, as a window."""
        first = items[0]
        self.started_at = min(self.started_at, first.start_at)
        self.ended_at = max(self.ended_at, first.end_at)
        self.duration_s += first.duration_s
        flags: list[str] = []
        energy_j = 0.0
        for item in items:
            self.tokens_input += item.tokens_input
            self.tokens_output += item.tokens_output
            if item.model not in self.models:
                self.models.append(item.model)
            for flag in item.flags:
                _add(flags, flag)
            for charge in item.charges:
                total = self.devices.setdefault(charge.device_id, DeviceTotal())
                total.charged_j += charge.energy_j
                total.method = charge.method
                total.rules.add(charge.rule)
                energy_j += charge.energy_j
            self.attribution = item.attribution
        for device_id, whole_j in _whole_devices(items):
            self.devices[device_id].device_j += whole_j
        for flag in (*flags, fl.attribution(self.attribution)):
            _add(self.flags, flag)
        self.windows.append(_window(self.run_id, items, energy_j, flags))


def _add(found: list[str], flag: str) -> None:
    if flag not in found:
        found.append(flag)


def _whole_devices(items: Sequence[ModelInterval]) -> list[tuple[str, float]]:
    """Each GPU's whole energy over the interval, once (models share their GPUs)."""
    seen: dict[str, float] = {}
    for item in items:
        for charge in item.charges:
            seen[charge.device_id] = charge.device_energy_j
    return sorted(seen.items())


def _window(
    run_id: str, items: Sequence[ModelInterval], energy_j: float, flags: list[str]
) -> dict[str, Any]:
    first = items[0]
    methods = {c.method for i in items for c in i.charges}
    return {
        "id": f"{run_id}@{first.start_at.timestamp():.6f}",
        "name": "serving interval",
        "steady_state": False,
        "started_at": first.start_at,
        "ended_at": first.end_at,
        "duration_s": first.duration_s,
        "energy_j": energy_j,
        "energy_by_kind": {"gpu": {"energy_j": energy_j, "method": _method(methods)}}
        if methods
        else {},
        "tokens_input": sum(i.tokens_input for i in items),
        "tokens_output": sum(i.tokens_output for i in items),
        "flags": list(flags),
    }


def _method(methods: Iterable[str]) -> str:
    from greenai.tracking.accounting import merge_methods

    return merge_methods(methods)


def combined(run: DayRun) -> DayRun:
    """The day's run as stored before this agent plus what this agent added."""
    base = run.stored
    if base is None:
        return run
    devices = {k: DeviceTotal(v.charged_j, v.device_j, v.method, set(v.rules))
               for k, v in base.devices.items()}  # fmt: skip
    for device_id, own in run.devices.items():
        total = devices.setdefault(device_id, DeviceTotal(method=own.method))
        total.charged_j += own.charged_j
        total.device_j += own.device_j
        total.method = own.method
        total.rules |= own.rules
    flags = list(base.flags)
    for flag in run.flags:
        _add(flags, flag)
    models = list(base.models) + [m for m in run.models if m not in base.models]
    return DayRun(
        run.run_id, run.target, min(base.started_at, run.started_at),
        max(base.ended_at, run.ended_at), base.duration_s + run.duration_s,
        base.tokens_input + run.tokens_input, base.tokens_output + run.tokens_output,
        devices, models, flags, run.attribution or base.attribution,
    )  # fmt: skip


def run_record(
    run: DayRun, host_id: str, site: SiteFigures, devices: Mapping[str, Device], version: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run's row and device rows (the day's totals)."""
    day = combined(run)
    energy_j = sum(d.charged_j for d in day.devices.values())
    facility_j = energy_j * site.pue
    methods = {d.method for d in day.devices.values()}
    measured_j = sum(d.charged_j for d in day.devices.values() if d.method in ("counter", "power"))
    flags = list(day.flags)
    for flag in site.flags:
        _add(flags, flag)
    target = run.target
    row = {
        "id": run.run_id, "status": "completed", "name": f"{target.engine} {target.deployment}",
        "model": ", ".join(day.models)[:200] or None, "technique": target.technique,
        "phase": PHASE,
        "tags": {"engine": target.engine, "deployment": target.deployment,
                 "url": public_url(target.url)},
        "started_at": day.started_at, "ended_at": day.ended_at, "heartbeat_at": day.ended_at,
        "duration_s": day.duration_s, "energy_j": energy_j, "facility_energy_j": facility_j,
        "pue": site.pue, "energy_gpu_j": energy_j,
        "energy_by_kind": {"gpu": {"energy_j": energy_j, "method": _method(methods)}}
        if methods else {},
        "measured_energy_j": measured_j,
        "tokens_input": day.tokens_input, "tokens_output": day.tokens_output,
        "emissions_kg": emissions_kg(facility_j, site.intensity_g_per_kwh or 0.0),
        "intensity_g_per_kwh": site.intensity_g_per_kwh,
        "intensity_source": site.intensity_source,
        "codecarbon_version": site.codecarbon_version, "country": site.country,
        "region": site.region, "cloud_provider": site.cloud_provider,
        "cloud_region": site.cloud_region, "host_id": host_id,
        "hardware": _hardware(day.devices, devices), "mode": "machine",
        "attribution": day.attribution or None, "flags": flags,
        "greenai_version": version,
        **_site_extras(site, energy_j),
    }  # fmt: skip
    return row, [_device_row(k, v, devices.get(k)) for k, v in sorted(day.devices.items())]


def _site_extras(site: SiteFigures, energy_j: float) -> dict[str, Any]:
    """Water and cost as tracked runs compute them, and the factor's evidence when known."""
    it_kwh = kwh(energy_j)
    extras: dict[str, Any] = {
        "wue_l_per_kwh": site.wue_l_per_kwh,
        "water_l": it_kwh * site.wue_l_per_kwh if site.wue_l_per_kwh is not None else None,
        "price_per_kwh": site.price_per_kwh,
        "cost": it_kwh * site.pue * site.price_per_kwh if site.price_per_kwh is not None else None,
        "currency": site.currency,
    }
    if site.evidence is not None:
        extras["factor_evidence"] = dict(site.evidence)
    return extras


def _device_row(device_id: str, total: DeviceTotal, device: Device | None) -> dict[str, Any]:
    share = total.charged_j / total.device_j if total.device_j > 0 else 1.0
    return {
        "device_id": device_id, "host_id": "", "kind": "gpu",
        "name": device.name if device else None, "uuid": device.uuid if device else None,
        "method": total.method, "energy_j": total.charged_j, "share": min(share, 1.0),
        "share_rule": "+".join(sorted(total.rules)) or None,
        "notes": list(device.notes) if device and device.notes else None,
    }  # fmt: skip


def _hardware(totals: Mapping[str, DeviceTotal], devices: Mapping[str, Device]) -> str | None:
    names = Counter(devices[d].name for d in totals if d in devices)
    return ", ".join(f"{name} x{n}" for name, n in sorted(names.items())) or None


def stored_run(conn: Connection, run: DayRun) -> DayRun | None:
    """The run as the ledger holds it (an earlier agent of the day), or None."""
    import sqlalchemy as sa

    from greenai.ledger import schema

    runs, table = schema.runs, schema.run_devices
    row = conn.execute(sa.select(runs).where(runs.c.id == run.run_id)).first()
    if row is None:
        return None
    found = row._mapping
    devices = {}
    for dev in conn.execute(sa.select(table).where(table.c.run_id == run.run_id)):
        d = dev._mapping
        whole_j = d["energy_j"] / d["share"] if d["share"] else d["energy_j"]
        rules = set(str(d["share_rule"] or "").split("+")) - {""}
        devices[d["device_id"]] = DeviceTotal(d["energy_j"], whole_j, d["method"], rules)
    models = [m for m in str(found["model"] or "").split(", ") if m]
    return DayRun(
        run.run_id, run.target, found["started_at"], found["ended_at"] or found["started_at"],
        float(found["duration_s"] or 0.0), int(found["tokens_input"] or 0),
        int(found["tokens_output"] or 0), devices, models, list(found["flags"] or []),
        str(found["attribution"] or ""),
    )  # fmt: skip


DAY_GREW = "the serving day's run grew"


def write_day_run(
    conn: Connection, run: DayRun, host_id: str, site: SiteFigures,
    devices: Mapping[str, Device], version: str, now: datetime,
) -> None:  # fmt: skip
    """Upsert the run and its devices, add its new windows (inside a transaction)."""
    import sqlalchemy as sa

    from greenai.ledger import schema
    from greenai.ledger.revisions import RECORDED, revise
    from greenai.ledger.rows import child_rows, run_row
    from greenai.ledger.upsert import insert_ignore, upsert

    if not run.seeded:
        run.stored = stored_run(conn, run)
    row, device_rows = run_record(run, host_id, site, devices, version)
    full = run_row(row)
    full.update(created_at=now, updated_at=now)
    upsert(conn, schema.runs, full, keys=("id",), keep=("created_at",))
    table = schema.run_devices
    conn.execute(sa.delete(table).where(table.c.run_id == run.run_id))
    if device_rows:
        conn.execute(sa.insert(table), child_rows(table, device_rows, run.run_id, "devices"))
    windows = child_rows(schema.windows, run.windows, run.run_id, "windows")
    if windows:
        insert_ignore(conn, schema.windows, windows, ("id",))
    revise(conn, [run.run_id], now, reason=RECORDED, change_reason=DAY_GREW)
