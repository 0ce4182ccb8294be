"""CodeCarbon's ``emissions.csv`` columns (3.3), in its order, and the units they use.

Units there: energy kWh, power W, emissions kg, duration s, water L. CodeCarbon applies
PUE inside its tracker, so the energies in its file include PUE.
"""

from __future__ import annotations

COLUMNS = (
    "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions",
    "emissions_rate", "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy",
    "ram_energy", "energy_consumed", "water_consumed", "country_name", "country_iso_code",
    "region", "cloud_provider", "cloud_region", "os", "python_version", "codecarbon_version",
    "cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude", "latitude",
    "ram_total_size", "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
    "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue",
)  # fmt: skip
"""Every column CodeCarbon 3.3 writes, in its order."""

REQUIRED_COLUMNS = ("timestamp", "emissions", "energy_consumed")
"""Columns a file must have to be imported; the others default when absent."""

IMPORT_SOURCE = "codecarbon-import"
"""``intensity_source`` of an imported run."""
