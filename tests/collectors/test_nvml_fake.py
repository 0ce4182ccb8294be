"""The fake NVML library itself, through the real pynvml: units, integrals, protocols."""

from __future__ import annotations

import math
import subprocess
import sys

import pynvml
import pytest

from tests.fake_nvml.driver import (
    NVML_ERROR_GPU_IS_LOST,
    NVML_ERROR_NOT_FOUND,
    NVML_ERROR_NOT_SUPPORTED,
    PROCESS_SAMPLES_KEPT,
    subprocess_env,
)


@pytest.fixture
def nvml(fake_nvml):
    pynvml.nvmlInit()
    yield fake_nvml
    pynvml.nvmlShutdown()


def handle(i):
    return pynvml.nvmlDeviceGetHandleByIndex(i)


@pytest.mark.parametrize(
    "wave",
    [
        ("square", (100.0, 300.0, 1.3, 0.5)),
        ("square", (50.0, 400.0, 2.0, 0.2)),
        ("sine", (250.0, 120.0, 0.7)),
        ("constant", (175.5,)),
    ],
)
def test_exact_integral_matches_python_and_a_fine_numeric_integral(fake_nvml, wave):
    kind, args = wave
    setter = {"square": fake_nvml.set_square_wave, "sine": fake_nvml.set_sine}.get(
        kind, fake_nvml.set_constant
    )
    setter(0, *args)
    t0, t1 = 0.37, 5.81
    exact_c = fake_nvml.c_energy_j(0, t0, t1)
    assert exact_c == pytest.approx(fake_nvml.energy_j(0, t0, t1), rel=1e-12)
    # Midpoint rule on the waveform's own power: 0.1 ms steps.
    n = 54_400
    dt = (t1 - t0) / n
    numeric = sum(fake_nvml.power_w(0, t0 + (k + 0.5) * dt) for k in range(n)) * dt
    assert numeric == pytest.approx(exact_c, rel=2e-4)


def test_counter_is_the_integral_in_whole_millijoules(nvml):
    nvml.set_time(0.0)
    nvml.set_square_wave(0, 100.0, 300.0, 1.3)
    start = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle(0))
    for t in (0.1, 0.65, 1.3, 2.0, 7.77):
        nvml.set_time(t)
        raw = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle(0))
        assert abs((raw - start) / 1000.0 - nvml.energy_j(0, 0.0, t)) <= 0.001


def test_counter_can_advance_in_steps(nvml):
    nvml.set_time(0.0)
    nvml.set_constant(0, 100.0)
    nvml.set_counter_update_period(0, 0.1)
    start = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle(0))
    nvml.set_time(0.205)
    at_205 = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle(0))
    nvml.set_time(0.295)
    assert pynvml.nvmlDeviceGetTotalEnergyConsumption(handle(0)) == at_205  # no update yet
    assert at_205 - start == 20_000  # 0.2 s at 100 W
    nvml.set_time(0.3)
    assert pynvml.nvmlDeviceGetTotalEnergyConsumption(handle(0)) - start == 30_000


def test_power_in_milliwatts_and_instant_field(nvml):
    nvml.set_time(0.25)
    nvml.set_square_wave(1, 120.0, 280.5, 1.0)
    assert pynvml.nvmlDeviceGetPowerUsage(handle(1)) == 280_500
    field = pynvml.nvmlDeviceGetFieldValues(handle(1), [pynvml.NVML_FI_DEV_POWER_INSTANT])[0]
    assert field.nvmlReturn == pynvml.NVML_SUCCESS
    assert field.valueType == pynvml.NVML_VALUE_TYPE_UNSIGNED_INT
    assert field.value.uiVal == 280_500
    nvml.set_time(0.75)
    assert pynvml.nvmlDeviceGetPowerUsage(handle(1)) == 120_000


def test_power_usage_can_be_a_trailing_average(nvml):
    nvml.set_time(10.0)
    nvml.set_square_wave(0, 100.0, 300.0, 2.0, 0.5)
    nvml.set_average_window(0, 1.0)
    nvml.set_time(11.5)  # the last second: 0.5 s at 300 W, then 0.5 s at 100 W
    assert nvml.energy_j(0, 10.5, 11.5) == pytest.approx(200.0)
    assert pynvml.nvmlDeviceGetPowerUsage(handle(0)) == 200_000
    field = pynvml.nvmlDeviceGetFieldValues(handle(0), [pynvml.NVML_FI_DEV_POWER_INSTANT])[0]
    assert field.value.uiVal == 100_000  # the instant field is not averaged


def test_unsupported_features_return_not_supported(nvml):
    nvml.set_counter_supported(0, False)
    nvml.set_instant_supported(0, False)
    nvml.set_power_limit(0, None)
    with pytest.raises(pynvml.NVMLError_NotSupported):
        pynvml.nvmlDeviceGetTotalEnergyConsumption(handle(0))
    with pytest.raises(pynvml.NVMLError_NotSupported):
        pynvml.nvmlDeviceGetEnforcedPowerLimit(handle(0))
    field = pynvml.nvmlDeviceGetFieldValues(handle(0), [pynvml.NVML_FI_DEV_POWER_INSTANT])[0]
    assert field.nvmlReturn == pynvml.NVML_ERROR_NOT_SUPPORTED
    assert pynvml.nvmlDeviceGetTotalEnergyConsumption(handle(1)) >= 0


def test_lost_gpu_fails_every_call(nvml):
    h = handle(1)
    nvml.set_lost(1, True)
    for call in (
        lambda: pynvml.nvmlDeviceGetName(h),
        lambda: pynvml.nvmlDeviceGetPowerUsage(h),
        lambda: pynvml.nvmlDeviceGetTotalEnergyConsumption(h),
        lambda: pynvml.nvmlDeviceGetComputeRunningProcesses_v3(h),
        lambda: pynvml.nvmlDeviceGetHandleByIndex(1),
    ):
        with pytest.raises(pynvml.NVMLError) as err:
            call()
        assert err.value.value == NVML_ERROR_GPU_IS_LOST
    assert pynvml.nvmlDeviceGetName(handle(0))


def test_process_list_follows_nvmls_two_call_protocol(nvml):
    assert pynvml.nvmlDeviceGetComputeRunningProcesses_v3(handle(0)) == []
    nvml.add_process(0, 4242, 3 << 30)
    nvml.add_process(0, 4343, 1 << 20)
    procs = pynvml.nvmlDeviceGetComputeRunningProcesses_v3(handle(0))
    assert [(p.pid, p.usedGpuMemory) for p in procs] == [(4242, 3 << 30), (4343, 1 << 20)]
    assert pynvml.nvmlDeviceGetGraphicsRunningProcesses_v3(handle(0)) == []
    nvml.clear_processes(0)
    assert pynvml.nvmlDeviceGetComputeRunningProcesses_v3(handle(0)) == []


def test_process_utilization_follows_nvmls_sampling_protocol(nvml):
    nvml.set_time(0.0)
    with pytest.raises(pynvml.NVMLError) as err:
        pynvml.nvmlDeviceGetProcessUtilization(handle(0), 0)
    assert err.value.value == NVML_ERROR_NOT_FOUND  # no sample yet
    nvml.set_process_utilization(0, 4242, 70, mem_pct=12)
    nvml.set_time(0.3)
    samples = pynvml.nvmlDeviceGetProcessUtilization(handle(0), 0)
    assert [(s.pid, s.timeStamp, s.smUtil, s.memUtil) for s in samples] == [
        (4242, 100_000, 70, 12),
        (4242, 200_000, 70, 12),
        (4242, 300_000, 70, 12),
    ]
    with pytest.raises(pynvml.NVMLError) as err:
        pynvml.nvmlDeviceGetProcessUtilization(handle(0), 300_000)
    assert err.value.value == NVML_ERROR_NOT_FOUND  # nothing newer than the last seen
    nvml.set_process_utilization(0, 4242, 30)  # from t = 0.3 s
    nvml.set_time(0.5)
    newer = pynvml.nvmlDeviceGetProcessUtilization(handle(0), 200_000)
    assert [(s.timeStamp, s.smUtil) for s in newer] == [(300_000, 70), (400_000, 30), (500_000, 30)]
    nvml.set_time(1000.0)
    kept = pynvml.nvmlDeviceGetProcessUtilization(handle(0), 0)
    assert len(kept) == PROCESS_SAMPLES_KEPT  # the driver's buffer is bounded
    nvml.set_process_utilization_supported(0, False)
    nvml.set_mig_mode(1, 1)  # per-process utilization is not available in MIG mode
    for i in (0, 1):
        with pytest.raises(pynvml.NVMLError) as err:
            pynvml.nvmlDeviceGetProcessUtilization(handle(i), 0)
        assert err.value.value == NVML_ERROR_NOT_SUPPORTED


def test_counter_reset_restarts_from_zero(nvml):
    nvml.set_time(100.0)
    nvml.set_constant(0, 200.0)
    nvml.set_time(110.0)
    assert pynvml.nvmlDeviceGetTotalEnergyConsumption(handle(0)) >= 2_000_000
    nvml.reset_counter(0)
    nvml.set_time(111.0)
    assert pynvml.nvmlDeviceGetTotalEnergyConsumption(handle(0)) == 200_000


def test_call_counters(nvml):
    nvml.reset_calls()
    h = handle(0)
    pynvml.nvmlDeviceGetPowerUsage(h)
    pynvml.nvmlDeviceGetPowerUsage(h)
    assert nvml.calls("nvmlDeviceGetPowerUsage") == 2
    assert nvml.calls("nvmlDeviceGetHandleByIndex_v2") == 1
    assert nvml.calls("nvmlDeviceGetTotalEnergyConsumption") == 0
    with pytest.raises(KeyError):
        nvml.calls("nvmlNoSuchFunction")


def test_mig_handles_lead_to_their_parent(nvml):
    mig = "MIG-5c5ea2b1-4e5f-5b7a-9a42-1c2d3e4f5a6b"
    nvml.set_mig_mode(1, 1)
    nvml.add_mig(1, mig, 2, 0)
    mig_handle = pynvml.nvmlDeviceGetHandleByUUID(mig)
    assert pynvml.nvmlDeviceIsMigDeviceHandle(mig_handle).value == 1
    parent = pynvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(mig_handle)
    assert pynvml.nvmlDeviceGetUUID(parent) == pynvml.nvmlDeviceGetUUID(handle(1))
    assert pynvml.nvmlDeviceGetGpuInstanceId(mig_handle) == 2
    assert pynvml.nvmlDeviceGetMigMode(handle(1)) == [1, 1]
    with pytest.raises(pynvml.NVMLError_NotFound):
        pynvml.nvmlDeviceGetHandleByUUID("MIG-00000000-0000-0000-0000-000000000000")


def test_real_clock_by_default(nvml):
    before = nvml.now()
    assert before > 0
    nvml.set_time(5.0)
    assert nvml.now() == 5.0
    nvml.use_real_time()
    assert nvml.now() >= before
    assert math.isfinite(nvml.now())


def test_environment_configures_a_subprocess(fake_nvml_library):
    code = (
        "import pynvml; pynvml.nvmlInit(); h = pynvml.nvmlDeviceGetHandleByIndex(2);"
        "print(pynvml.nvmlDeviceGetCount(), pynvml.nvmlDeviceGetPowerUsage(h),"
        " pynvml.nvmlDeviceGetName(h));"
        "pynvml.nvmlDeviceGetTotalEnergyConsumption(h)"
    )
    env = subprocess_env(fake_nvml_library, COUNT="3", POWER_W="250", NO_COUNTER="1", NAME="X1")
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.split() == ["3", "250000", "X1"]
    assert "NVMLError_NotSupported" in done.stderr


def test_nvidia_smi_stand_in_answers_help(fake_nvml_library):
    smi = fake_nvml_library.parent / "nvidia-smi"
    done = subprocess.run([str(smi), "--help"], capture_output=True, timeout=30, check=False)
    assert done.returncode == 0
