"""The columns a heartbeat record updates (no SQLAlchemy here: the tracker imports them)."""

from __future__ import annotations

RUN_COLUMNS = (
    "duration_s",
    "heartbeat_at",
    "energy_j",
    "facility_energy_j",
    "energy_gpu_j",
    "energy_cpu_j",
    "energy_dram_j",
    "energy_other_j",
    "energy_by_kind",
    "measured_energy_j",
    "tokens_input",
    "tokens_output",
    "samples",
    "emissions_kg",
    "water_l",
    "cost",
    "hardware",
    "attribution",
    "flags",
)
"""The runs columns a heartbeat updates (with ``updated_at``, set by the ledger)."""

DEVICE_COLUMNS = ("method", "energy_j", "share", "share_rule")
"""The run_devices columns a heartbeat updates, per (device_id, host_id)."""

WINDOW_COLUMNS = (
    "ended_at",
    "duration_s",
    "energy_j",
    "energy_by_kind",
    "tokens_input",
    "tokens_output",
    "samples",
    "flags",
)
"""The windows columns a heartbeat updates, for windows open at the last record."""

METRIC_COLUMNS = ("name", "value", "step", "logged_at")
