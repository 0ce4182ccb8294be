"""Tracked runs on GPUs: the real pynvml against the fake NVML library, in a subprocess
started with LD_LIBRARY_PATH as a real job would be, with the fake's time driven."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.fake_nvml.driver import subprocess_env

SCRIPT = textwrap.dedent(
    """
    import ctypes, json, os, sys
    from tests.fake_nvml.driver import FakeNvml
    import greenai

    fake = FakeNvml(ctypes.CDLL("libnvidia-ml.so.1"))
    fake.set_count(2)
    fake.set_time(1000.0)
    fake.set_name(0, "NVIDIA H100 80GB HBM3")
    fake.set_name(1, "NVIDIA H100 80GB HBM3")
    fake.set_square_wave(0, 100.0, 300.0, 1.3)
    fake.set_constant(1, 200.0)
    if sys.argv[1] == "process":
        fake.add_process(1, os.getpid(), 1 << 30)
    run = greenai.start(model="m", phase="inference")
    fake.set_time(1004.0)
    with run.window("decode"):
        fake.set_time(1010.0)
        run.add_tokens(output=1000)
    with run.window("blink"):  # the counter does not move: below its resolution
        pass
    fake.set_time(1012.0)
    run.stop()
    print(json.dumps({
        "run": run.to_dict(),
        "exact": [fake.energy_j(i, 1000.0, 1012.0) for i in range(2)],
        "exact_window": [fake.energy_j(i, 1004.0, 1010.0) for i in range(2)],
    }, default=str))
    """
)


def tracked(lib: Path, rule: str, **env: str) -> dict:
    environ = subprocess_env(lib)
    environ.update(env)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, rule],
        capture_output=True, text=True, timeout=180, env=environ,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_gpu_in_use_is_charged_exactly_by_its_counter(fake_nvml_library: Path) -> None:
    result = tracked(fake_nvml_library, "process")
    run, exact = result["run"], result["exact"]
    devices = {d["device_id"]: d for d in run["devices"]}
    assert run["attribution"] == "compute-processes"
    assert devices["gpu:1"]["share"] == 1.0 and devices["gpu:0"]["share"] == 0.0
    assert devices["gpu:1"]["energy_j"] == pytest.approx(exact[1], abs=0.002)
    assert run["energy_by_kind"]["gpu"] == {"energy_j": pytest.approx(exact[1], abs=0.002),
                                            "method": "counter"}  # fmt: skip
    assert run["hardware"] == "NVIDIA H100 80GB HBM3 x1"
    assert "attribution:compute-processes" in run["flags"]
    window = run["windows"][0]
    gpu_window_j = window["energy_by_kind"]["gpu"]["energy_j"]
    assert gpu_window_j == pytest.approx(result["exact_window"][1], abs=0.002)
    assert window["tokens_output"] == 1000
    blink = run["windows"][1]
    assert blink["energy_j"] is None
    assert "window_below_counter_resolution" in blink["flags"]


def test_local_rank_then_visible_devices_when_nvml_cannot_tell(fake_nvml_library: Path) -> None:
    ranked = tracked(fake_nvml_library, "none", LOCAL_RANK="0")
    assert ranked["run"]["attribution"] == "local-rank"
    gpu = ranked["run"]["energy_by_kind"]["gpu"]["energy_j"]
    assert gpu == pytest.approx(ranked["exact"][0], abs=0.002)  # the square wave's exact integral
    visible = tracked(fake_nvml_library, "none")
    assert visible["run"]["attribution"] == "visible-devices"
    total = visible["run"]["energy_by_kind"]["gpu"]["energy_j"]
    assert total == pytest.approx(sum(visible["exact"]), abs=0.004)


def test_cuda_visible_devices_limits_what_is_charged(fake_nvml_library: Path) -> None:
    result = tracked(fake_nvml_library, "none", CUDA_VISIBLE_DEVICES="1")
    devices = [d["device_id"] for d in result["run"]["devices"] if d["kind"] == "gpu"]
    assert devices == ["gpu:1"]
    assert result["run"]["energy_by_kind"]["gpu"]["energy_j"] == pytest.approx(
        result["exact"][1], abs=0.002
    )
