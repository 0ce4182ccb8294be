"""No library, no driver, no GPU: Unavailable with a reason a user can act on."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys
from pathlib import Path

import pynvml
import pytest

from collectors.errors import Unavailable
from collectors.nvml import NvmlCollector, probe
from tests.fake_nvml.driver import NVML_ERROR_DRIVER_NOT_LOADED, subprocess_env

ROOT = Path(__file__).resolve().parents[2]

OPEN_AND_PRINT = """
from collectors.errors import Unavailable
from collectors.nvml import NvmlCollector
try:
    collector = NvmlCollector.open()
except Unavailable as exc:
    print("UNAVAILABLE", exc.collector, exc.reason)
else:
    for d in collector.devices():
        print("DEVICE", d.device_id, d.method.value, d.uuid, d.name)
    collector.close()
"""


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def no_library(monkeypatch, fake_nvml):
    """Mocks a machine without the NVIDIA driver: the fake is already loaded in this process
    and cannot be unloaded, so pynvml forgets it and its CDLL raises as dlopen would."""

    def missing(name, *args, **kwargs):
        raise OSError(f"{name}: cannot open shared object file: No such file or directory")

    monkeypatch.setattr(pynvml, "nvmlLib", None)
    monkeypatch.setattr(pynvml, "CDLL", missing)


def test_missing_library_in_process(no_library):
    with pytest.raises(Unavailable) as err:
        NvmlCollector.open(environ={})
    assert err.value.collector == "nvml"
    assert "libnvidia-ml.so.1" in err.value.reason
    assert "driver" in err.value.reason


def test_probe_reports_the_missing_library(no_library):
    availability = probe(environ={})
    assert availability.name == "nvml"
    assert not availability.available
    assert "libnvidia-ml.so.1" in (availability.reason or "")
    assert availability.devices == ()


def test_driver_not_loaded(fake_nvml):
    fake_nvml.set_init_error(NVML_ERROR_DRIVER_NOT_LOADED)
    with pytest.raises(Unavailable) as err:
        NvmlCollector.open(environ={})
    assert "kernel driver is not loaded" in err.value.reason


def test_no_gpu(fake_nvml):
    refs = fake_nvml.init_refs()
    fake_nvml.set_count(0)
    with pytest.raises(Unavailable) as err:
        NvmlCollector.open(environ={})
    assert "reports no GPU" in err.value.reason
    assert fake_nvml.init_refs() == refs


def test_no_gpu_reports_energy_or_power(fake_nvml):
    for i in (0, 1):
        fake_nvml.set_counter_supported(i, False)
        fake_nvml.set_instant_supported(i, False)
        fake_nvml.set_power_usage_supported(i, False)
    with pytest.raises(Unavailable) as err:
        NvmlCollector.open(environ={})
    assert "neither energy nor power" in err.value.reason


def test_probe_lists_the_visible_gpus_and_releases_nvml(fake_nvml):
    refs = fake_nvml.init_refs()
    availability = probe(environ={"CUDA_VISIBLE_DEVICES": "1"})
    assert availability.available
    assert availability.reason is None
    assert [d.device_id for d in availability.devices] == ["gpu:1"]
    assert fake_nvml.init_refs() == refs


def test_missing_library_in_a_subprocess(fake_nvml_library):
    if ctypes.util.find_library("nvidia-ml"):
        pytest.skip("this machine has a real NVIDIA driver library on its default path")
    env = subprocess_env(fake_nvml_library)
    env["LD_LIBRARY_PATH"] = ""
    done = run_python(OPEN_AND_PRINT, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("UNAVAILABLE nvml ")
    assert "libnvidia-ml.so.1 was not found" in done.stdout


def test_driver_not_loaded_in_a_subprocess(fake_nvml_library):
    env = subprocess_env(fake_nvml_library, INIT_ERROR=str(NVML_ERROR_DRIVER_NOT_LOADED))
    done = run_python(OPEN_AND_PRINT, env)
    assert done.returncode == 0, done.stderr
    assert "UNAVAILABLE nvml the NVIDIA kernel driver is not loaded" in done.stdout


def test_importing_the_collector_does_not_load_pynvml():
    code = "import sys, collectors, collectors.nvml; print('pynvml' in sys.modules)"
    done = run_python(code, {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == "False", done.stderr
