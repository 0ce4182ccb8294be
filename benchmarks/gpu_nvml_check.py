"""GPU check for a machine with an NVIDIA GPU (under 5 minutes): greenai's NVML collector
samples GPU 0 during a 20 s bf16 matrix-multiply load; its energy is compared with the
NVML counter delta read directly and with mean power x time; one NVML call is timed.

Run: ``python -m benchmarks.gpu_nvml_check`` (needs torch with CUDA and the NVIDIA driver).
"""

from __future__ import annotations

import json
import threading
import time


def _load(seconds: float, stop: threading.Event) -> int:
    import torch

    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    done = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end and not stop.is_set():
        a = (a @ b).clamp_(-1, 1)
        done += 1
    torch.cuda.synchronize()
    return done


def main(seconds: float = 20.0) -> dict[str, float]:
    """Measure and print a JSON summary."""
    import pynvml

    from collectors.nvml import NvmlCollector
    from collectors.sampler import Sampler

    collector = NvmlCollector.open(environ={"CUDA_VISIBLE_DEVICES": "0"})
    sampler = Sampler([collector])
    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(0)
    powers: list[float] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            powers.append(pynvml.nvmlDeviceGetPowerUsage(handle) / 1000.0)
            time.sleep(0.1)

    poller = threading.Thread(target=poll, daemon=True)
    raw0 = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    first = sampler.snapshot()
    t0 = time.monotonic()
    sampler.start()
    poller.start()
    matmuls = _load(seconds, stop)
    last = sampler.snapshot()
    t1 = time.monotonic()
    raw1 = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    stop.set()
    sampler.stop()
    calls = 1000
    c0 = time.perf_counter()
    for _ in range(calls):
        pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    call_us = (time.perf_counter() - c0) / calls * 1e6
    greenai_j = last.devices["gpu:0"].energy_j - first.devices["gpu:0"].energy_j
    direct_j = (raw1 - raw0) / 1000.0
    power_time_j = sum(powers) / max(len(powers), 1) * (t1 - t0)
    result = {
        "gpu": collector.devices()[0].name,
        "duration_s": t1 - t0,
        "matmuls": matmuls,
        "greenai_energy_j": greenai_j,
        "nvml_counter_delta_j": direct_j,
        "mean_power_x_time_j": power_time_j,
        "greenai_vs_counter": greenai_j / direct_j - 1.0,
        "power_x_time_vs_counter": power_time_j / direct_j - 1.0,
        "nvml_energy_call_us": call_us,
    }
    print(json.dumps(result, indent=2))
    collector.close()
    return result


if __name__ == "__main__":
    main()
