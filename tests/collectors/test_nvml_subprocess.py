"""The fake library in fresh processes found through LD_LIBRARY_PATH: our collector, and
CodeCarbon 3.3 (which the benchmark compares against)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fake_nvml.driver import subprocess_env

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


OPEN_AND_READ = """
import json
from collectors.nvml import NvmlCollector
collector = NvmlCollector.open()
first = collector.read()
second = collector.read()
print(json.dumps({
    "devices": [[d.device_id, d.method.value, d.uuid, d.name] for d in collector.devices()],
    "energy": [r.energy_j for r in second],
    "power": [r.power_w for r in second],
}))
collector.close()
"""


def test_subprocess_with_three_fake_gpus(fake_nvml_library, tmp_path):
    env = subprocess_env(fake_nvml_library, COUNT="3", POWER_W="250")
    env.pop("CUDA_VISIBLE_DEVICES", None)
    done = run_python(OPEN_AND_READ, env, tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    devices = result["devices"]
    print(devices)
    assert [d[0] for d in devices] == ["gpu:0", "gpu:1", "gpu:2"]
    assert {d[1] for d in devices} == {"counter"}
    assert len({d[2] for d in devices}) == 3
    assert result["power"] == [250.0, 250.0, 250.0]
    assert all(e >= 0 for e in result["energy"])


def test_subprocess_honours_cuda_visible_devices(fake_nvml_library, tmp_path):
    env = subprocess_env(fake_nvml_library, COUNT="3", NO_COUNTER="1")
    env["CUDA_VISIBLE_DEVICES"] = "2,0"
    done = run_python(OPEN_AND_READ, env, tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [d[:2] for d in result["devices"]] == [["gpu:2", "power"], ["gpu:0", "power"]]
    assert result["energy"] == [None, None]


CODECARBON = """
import json, time
from codecarbon import OfflineEmissionsTracker
tracker = OfflineEmissionsTracker(
    country_iso_code="FRA", measure_power_secs=1, save_to_file=False, log_level="error"
)
tracker.start()
time.sleep(1.5)
tracker.stop()
data = tracker.final_emissions_data
print(json.dumps({
    "gpu_energy_kwh": data.gpu_energy,
    "gpu_count": data.gpu_count,
    "gpu_model": data.gpu_model,
    "duration_s": data.duration,
}))
"""


def test_codecarbon_measures_the_fake_gpus(fake_nvml_library, tmp_path):
    env = subprocess_env(fake_nvml_library, COUNT="2", POWER_W="300")
    env.pop("CUDA_VISIBLE_DEVICES", None)
    done = run_python(CODECARBON, env, tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["gpu_count"] == 2
    assert "NVIDIA H100" in result["gpu_model"]
    assert result["gpu_energy_kwh"] > 0
