"""What an imported CodeCarbon row says of how each energy was obtained: GPU energy from
NVML's counter is measured, RAM energy is CodeCarbon's model, and CPU energy is counted as
estimated, flagged, since the file does not say whether it came from RAPL or a TDP model.
A report says how much of its energy was imported, and from which tool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greenai.figures import flags
from greenai.reports import report as make_report
from tests.interop.conftest import import_file, ledger_runs
from tests.interop.files import row, write_csv

# 7 kWh in all, of which 5.6 kWh from the GPU's counter (PUE 1.0)
GPU_ROW = row(1, timestamp="2026-08-01T10:00:00", duration="3600", pue="1.0",
              cpu_energy="1.0", gpu_energy="5.6", ram_energy="0.4", energy_consumed="7.0",
              emissions=repr(7.0 * 0.056), gpu_count="1", gpu_model="NVIDIA H100")  # fmt: skip


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def test_gpu_energy_is_measured_cpu_energy_estimated_and_flagged(tmp_path: Path, url: str) -> None:
    assert import_file(write_csv(tmp_path / "e.csv", [GPU_ROW]), url).exit_code == 0
    (run,) = ledger_runs(url)
    assert run["measured_energy_j"] == pytest.approx(5.6 * 3.6e6)
    methods = {kind: entry["method"] for kind, entry in run["energy_by_kind"].items()}
    assert methods == {"gpu": "counter", "cpu": "model", "dram": "model"}
    assert flags.method_unknown("cpu") in run["flags"]
    assert flags.describe(flags.method_unknown("cpu")).severity is flags.Severity.INFO


def test_a_row_without_cpu_energy_is_not_flagged(tmp_path: Path, url: str) -> None:
    gpu_only = {**GPU_ROW, "cpu_energy": "0.0", "energy_consumed": "6.0"}
    assert import_file(write_csv(tmp_path / "e.csv", [gpu_only]), url).exit_code == 0
    (run,) = ledger_runs(url)
    assert not any(str(f).startswith(flags.METHOD_UNKNOWN) for f in run["flags"])


def test_the_report_counts_the_gpu_counter_as_measured_and_states_the_import(
    tmp_path: Path, url: str
) -> None:
    assert import_file(write_csv(tmp_path / "e.csv", [GPU_ROW]), url).exit_code == 0
    out = tmp_path / "q3"
    make_report("2026-Q3", db_url=url, out_dir=out, formats=("json", "html"))
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    quality = doc["data_quality"]
    assert quality["measured_share"] == pytest.approx(0.8)  # 5.6 of 7 kWh
    (imported,) = quality["imported"]
    assert imported["tool"] == "codecarbon" and imported["runs_count"] == 1
    assert imported["energy_it_kwh"] == pytest.approx(7.0)
    assert imported["share_of_it_energy"] == pytest.approx(1.0)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Imported from codecarbon" in html
