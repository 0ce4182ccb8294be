"""CodeCarbon emissions.csv files for the import tests: a realistic row and writers."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from greenai.interop.codecarbon_columns import COLUMNS

GOOD_ROW: dict[str, str] = {
    "timestamp": "2026-03-01T10:00:00", "project_name": "cc-proj",
    "run_id": "5b0fa12a-3dd7-45bb-9766-cc326314d9f1", "experiment_id": "e-1",
    "duration": "60.5", "emissions": "0.0001", "emissions_rate": "1.6e-06",
    "cpu_power": "42.5", "gpu_power": "0.0", "ram_power": "10.0", "cpu_energy": "0.0007",
    "gpu_energy": "0.0", "ram_energy": "0.0002", "energy_consumed": "0.0009",
    "water_consumed": "0.0", "country_name": "France", "country_iso_code": "FRA",
    "region": "", "cloud_provider": "", "cloud_region": "", "os": "Linux",
    "python_version": "3.11.9", "codecarbon_version": "3.3.2", "cpu_count": "2",
    "cpu_model": "AMD EPYC 7B13", "gpu_count": "", "gpu_model": "", "longitude": "2.35",
    "latitude": "48.85", "ram_total_size": "16.0", "tracking_mode": "machine",
    "cpu_utilization_percent": "50.0", "gpu_utilization_percent": "0.0",
    "ram_utilization_percent": "20.0", "ram_used_gb": "3.2", "on_cloud": "N", "pue": "1.5",
    "wue": "0.0",
}  # fmt: skip


def row(n: int = 0, **values: str) -> dict[str, str]:
    """GOOD_ROW with its own run id (``run-<n>``) and ``values`` replaced."""
    return {**GOOD_ROW, "run_id": f"run-{n}", **values}


def csv_text(rows: Sequence[Mapping[str, str]], columns: Sequence[str] = COLUMNS) -> str:
    """A CodeCarbon file's text: the header, then the rows (csv quoting, \\n line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for values in rows:
        writer.writerow([values.get(c, "") for c in columns])
    return out.getvalue()


def write_csv(
    path: Path, rows: Sequence[Mapping[str, str]], columns: Sequence[str] = COLUMNS
) -> Path:
    """Writes ``rows`` as a CodeCarbon file at ``path``; returns ``path``."""
    path.write_text(csv_text(rows, columns), encoding="utf-8")
    return path
