"""A ledger with known figures, built by hand, for the dashboard tests (and benchmarks).

Times are relative to ``today`` (midnight UTC), so the dashboard's "Last 30 days" period
(today included) holds the current runs and the 30 days before hold the previous ones.

Current period, root runs (all PUE 1.2, 400 gCO2e/kWh unless said):

| group                              | runs | IT energy J          | output tokens |
|------------------------------------|------|----------------------|---------------|
| llama-8b baseline, H100, batch 8   | 5    | 1000 1020 980 1010 990 | 1000 each  |
| llama-8b-int8 (int8), batch 8      | 5    | 620 600 640 610 630  | 1000 each     |
| llama-8b-fp8 (fp8), batch 8        | 5    | 1000 1100 900 1050 950 | 1000 each   |
| llama-8b baseline, H100, batch 64  | 3    | 250 260 240          | 1000 each     |
| resnet training (project research) | 2    | 36000 72000          | 0             |

Totals: 20 root runs, IT 121,850 J, facility 146,220 J, 18,000 output tokens from
13,850 J (0.769444 J/token). The first training run has an unknown location (475 g/kWh),
so emissions are 0.0057 + 0.0114466667 = 0.0171466667 kg. A child run (500 J) hangs
under the first training run and must never be added. Previous period: 2 runs of
2,000 J and 1,000 tokens each on an A100.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

PUE = 1.2
INTENSITY_G_PER_KWH = 400.0
WORLD_G_PER_KWH = 475.0
H100 = "NVIDIA H100 80GB HBM3 x1"
A100 = "NVIDIA A100-SXM4-40GB x1"
EVIL_NAME = "<script>alert('x')</script> **bold** <b>run</b>"
EVIL_TAG = "<img src=x onerror=alert(1)>"


def today_utc(now: datetime | None = None) -> datetime:
    """Midnight UTC of ``now`` (default: the current time)."""
    moment = now or datetime.now(UTC)
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


FRA_EVIDENCE = {
    "dataset": "CodeCarbon 3.3.2 global_energy_mix (FRA)", "vintage": 2023,
    "basis": "life-cycle", "gwp": "unknown", "mix_of": "country",
    "mix": {"fossil": 0.081, "nuclear": 0.648, "renewable": 0.271},
}  # fmt: skip
"""The factor evidence of the seeded runs (a run without it: ``factor_evidence=None``)."""


def run_record(
    run_id: str,
    started_at: datetime,
    energy_j: float,
    *,
    tokens_output: int = 0,
    tokens_input: int = 0,
    duration_s: float = 60.0,
    pue: float = PUE,
    intensity_g_per_kwh: float = INTENSITY_G_PER_KWH,
    gpu_share: float = 0.8,
    gpu_method: str = "counter",
    devices: list[dict[str, Any]] | None = None,
    windows: list[dict[str, Any]] | None = None,
    metrics: list[dict[str, Any]] | None = None,
    **columns: Any,
) -> dict[str, Any]:
    """A complete ledger record with consistent totals.

    The GPU draws ``gpu_share`` of the IT energy (``gpu_method``), the CPU the rest
    (estimated by a model); facility energy is IT x ``pue``; emissions apply
    ``intensity_g_per_kwh`` to facility energy. ``columns`` overrides any runs column.
    """
    gpu_j, cpu_j = energy_j * gpu_share, energy_j * (1.0 - gpu_share)
    facility_j = energy_j * pue
    measured = gpu_j if gpu_method in ("counter", "power", "mixed") else 0.0
    run: dict[str, Any] = {
        "id": run_id,
        "status": "completed",
        "started_at": started_at,
        "ended_at": started_at + timedelta(seconds=duration_s),
        "duration_s": duration_s,
        "energy_j": energy_j,
        "facility_energy_j": facility_j,
        "pue": pue,
        "energy_gpu_j": gpu_j,
        "energy_cpu_j": cpu_j,
        "energy_by_kind": {
            "gpu": {"energy_j": gpu_j, "method": gpu_method},
            "cpu": {"energy_j": cpu_j, "method": "model"},
        },
        "measured_energy_j": measured,
        "tokens_input": tokens_input,
        "tokens_output": tokens_output,
        "emissions_kg": facility_j / 3.6e6 * intensity_g_per_kwh / 1000.0,
        "intensity_g_per_kwh": intensity_g_per_kwh,
        "intensity_source": "codecarbon:FRA",
        "codecarbon_version": "3.3.2",
        "factor_evidence": FRA_EVIDENCE,
        "country": "FRA",
        "host_id": "node-1",
        "mode": "process",
        "attribution": "compute-processes",
        "flags": [],
        "tags": {},
        "greenai_version": "0.1.0",
    }
    run.update(columns)
    default_devices = [
        {"device_id": "gpu:0", "kind": "gpu", "name": "NVIDIA H100", "method": gpu_method,
         "energy_j": gpu_j},
        {"device_id": "cpu:0", "kind": "cpu", "name": "Xeon", "method": "model",
         "energy_j": cpu_j},
    ]  # fmt: skip
    return {
        "run": run,
        "devices": default_devices if devices is None else devices,
        "windows": windows or [],
        "metrics": metrics or [],
    }


def token_windows(run_id: str, started_at: datetime, energy_j: float) -> list[dict[str, Any]]:
    """A prefill window (20% of the energy, 500 input tokens) and a decode window (80%,
    1,000 output tokens)."""
    prefill_end = started_at + timedelta(seconds=12)
    return [
        {"id": f"{run_id}-prefill", "name": "prefill", "started_at": started_at,
         "ended_at": prefill_end, "duration_s": 12.0, "energy_j": 0.2 * energy_j,
         "tokens_input": 500},
        {"id": f"{run_id}-decode", "name": "decode", "started_at": prefill_end,
         "ended_at": started_at + timedelta(seconds=60), "duration_s": 48.0,
         "energy_j": 0.8 * energy_j, "tokens_output": 1000},
    ]  # fmt: skip


@dataclass
class Seeded:
    """What was written: ids worth looking at, by role."""

    today: datetime
    run_ids: dict[str, list[str]] = field(default_factory=dict)

    def first(self, role: str) -> str:
        """The first run id of ``role``."""
        return self.run_ids[role][0]


LLAMA: dict[str, Any] = {"project": "chat", "phase": "inference", "hardware": H100, "seq_len": 512}
GROUPS: tuple[tuple[str, dict[str, Any], list[float], float], ...] = (
    ("baseline", {"model": "llama-8b", "technique": "baseline", "batch_size": 8},
     [1000, 1020, 980, 1010, 990], 0.80),
    ("int8", {"model": "llama-8b-int8", "technique": "int8", "base_model": "llama-8b",
              "batch_size": 8}, [620, 600, 640, 610, 630], 0.78),
    ("fp8", {"model": "llama-8b-fp8", "technique": "fp8", "base_model": "llama-8b",
             "batch_size": 8}, [1000, 1100, 900, 1050, 950], 0.79),
    ("baseline64", {"model": "llama-8b", "technique": "baseline", "batch_size": 64},
     [250, 260, 240], 0.75),
)  # fmt: skip


def _chat_records(today: datetime, seeded: Seeded) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for role, meta, energies, accuracy in GROUPS:
        for i, energy in enumerate(energies):
            run_id = f"{role}-{i}"
            start = today - timedelta(days=2 + i, hours=-9, minutes=len(records))
            extra: dict[str, Any] = {}
            if role == "baseline" and i == 0:
                extra["flags"] = ["collector_errors:nvml=3"]
            if role == "fp8" and i == 0:
                extra["flags"] = ["overlapping_root_runs"]
            if role == "int8" and i == 0:
                extra.update(name=EVIL_NAME, tags={"team": EVIL_TAG})
            if role == "int8":
                extra["gpu_method"] = "mixed"
                extra["devices"] = _mixed_devices(energy)
            records.append(
                run_record(
                    run_id, start, energy, tokens_output=1000, tokens_input=500,
                    windows=token_windows(run_id, start, energy) if role == "baseline" else None,
                    metrics=[{"name": "accuracy", "value": accuracy, "step": 1,
                              "logged_at": start}],
                    **LLAMA, **meta, **extra,
                )
            )  # fmt: skip
            seeded.run_ids.setdefault(role, []).append(run_id)
    return records


def _mixed_devices(energy_j: float) -> list[dict[str, Any]]:
    gpu = 0.8 * energy_j
    return [
        {"device_id": "gpu:0", "kind": "gpu", "method": "counter", "energy_j": gpu / 2},
        {"device_id": "gpu:1", "kind": "gpu", "method": "power", "energy_j": gpu / 2},
        {"device_id": "cpu:0", "kind": "cpu", "method": "model", "energy_j": 0.2 * energy_j},
    ]


def _other_records(today: datetime, seeded: Seeded) -> list[dict[str, Any]]:
    research: dict[str, Any] = {"project": "research", "phase": "training", "model": "resnet-50",
                "hardware": H100, "gpu_method": "power"}  # fmt: skip
    t1, t2 = today - timedelta(days=10, hours=-8), today - timedelta(days=12, hours=-8)
    records = [
        run_record("train-0", t1, 36000.0, duration_s=3600.0, country=None,
                   intensity_g_per_kwh=WORLD_G_PER_KWH, intensity_source="codecarbon:world",
                   flags=["unknown_location"], factor_evidence=None, **research),
        run_record("train-1", t2, 72000.0, duration_s=7200.0, status="interrupted",
                   flags=["interrupted"], **research),
        run_record("train-0-eval", t1 + timedelta(minutes=30), 500.0, parent_run_id="train-0",
                   project="research", phase="evaluation", model="resnet-50", hardware=H100),
    ]  # fmt: skip
    seeded.run_ids["training"] = ["train-0", "train-1"]
    seeded.run_ids["child"] = ["train-0-eval"]
    for i in range(2):
        start = today - timedelta(days=40 + i, hours=-9)
        records.append(
            run_record(f"old-{i}", start, 2000.0, tokens_output=1000, model="llama-8b",
                       technique="baseline", batch_size=8, project="chat", phase="inference",
                       hardware=A100)
        )  # fmt: skip
    seeded.run_ids["previous"] = ["old-0", "old-1"]
    return records


def power_series(run_id: str, started_at: datetime, seconds: int = 60) -> list[dict[str, Any]]:
    """1 s power rows of gpu:0 (300 W, then 400 W after the prefill) and cpu:0 (50 W)."""
    rows = []
    for s in range(seconds):
        ts = started_at + timedelta(seconds=s)
        gpu_w = 300.0 if s < 12 else 400.0
        rows.append({"run_id": run_id, "device_id": "gpu:0", "tier": "1s", "ts": ts,
                     "power_w": gpu_w, "energy_j": gpu_w})  # fmt: skip
        rows.append({"run_id": run_id, "device_id": "cpu:0", "tier": "1s", "ts": ts,
                     "power_w": 50.0, "energy_j": 50.0})  # fmt: skip
    return rows


def seed_ledger(url: str, now: datetime | None = None) -> Seeded:
    """Writes the runs described in this module's docstring into the ledger at ``url``."""
    from greenai.ledger import Ledger

    today = today_utc(now)
    seeded = Seeded(today=today)
    records = _chat_records(today, seeded) + _other_records(today, seeded)
    # Written a minute ago (ledger time), so a report "as of now" counts them even when
    # it truncates its as-of time to the second.
    written_at = datetime.now(UTC) - timedelta(minutes=1)
    with Ledger.open(url, clock=lambda: written_at) as ledger:
        for record in records:
            ledger.save_run(record)
        first = records[0]["run"]
        ledger.add_series(power_series(first["id"], first["started_at"]))
    return seeded
