"""Steady CPU cost of monitoring 8 GPUs plus CPU and DRAM, greenai against CodeCarbon.

Each configuration runs in its own fresh process against the fake NVML library
(8 GPUs, a 100/300 W square wave of period 1.3 s) and measures the process's CPU time
(all threads, ``CLOCK_PROCESS_CPUTIME_ID``) over a fixed wall-clock window, minus the
same window with nothing monitoring. The GPU energy each tool reports is compared with
the fake's exact integral.
"""

from __future__ import annotations

import textwrap

from benchmarks.common import fake_nvml_env, gpu_energy_j, print_table, run_json

WINDOW_S = 20.0

PROLOGUE = textwrap.dedent(
    """
    import ctypes, json, time
    from benchmarks.cputime import cpu_s
    from tests.fake_nvml.driver import FakeNvml
    fake = FakeNvml(ctypes.CDLL("libnvidia-ml.so.1"))
    for i in range(8):
        fake.set_square_wave(i, 100.0, 300.0, 1.3)
    """
)

IDLE = PROLOGUE + textwrap.dedent(
    """
    c0, t0 = cpu_s(), time.monotonic()
    time.sleep({window})
    print(json.dumps({{"cpu_s": cpu_s() - c0, "wall_s": time.monotonic() - t0}}))
    """
)

EMPTY_LOOP = PROLOGUE + textwrap.dedent(
    """
    import threading
    stop = threading.Event()
    def loop():
        while not stop.is_set():
            time.sleep(0.1)
    threading.Thread(target=loop, daemon=True).start()
    c0, t0 = cpu_s(), time.monotonic()
    time.sleep({window})
    c1, t1 = cpu_s(), time.monotonic()
    stop.set()
    print(json.dumps({{"cpu_s": c1 - c0, "wall_s": t1 - t0}}))
    """
)

GREENAI = PROLOGUE + textwrap.dedent(
    """
    from collectors.discover import discover
    from collectors.sampler import Sampler
    found = discover(mode="machine")
    sampler = Sampler(found.collectors, series_hz=1.0, power_hz=10.0)
    gpus = [d.device_id for d in sampler.devices if d.kind.value == "gpu"]
    t_fake0 = fake.now()
    first = sampler.snapshot()
    sampler.start()
    c0, t0 = cpu_s(), time.monotonic()
    time.sleep({window})
    c1, t1 = cpu_s(), time.monotonic()
    sampler.stop()
    last = sampler.snapshot()
    t_fake1 = fake.now()
    measured = sum(last.devices[g].energy_j - first.devices[g].energy_j for g in gpus)
    exact = sum(fake.energy_j(i, t_fake0, t_fake1) for i in range(8))
    methods = sorted({{d.method.value for d in sampler.devices}})
    print(json.dumps({{"cpu_s": c1 - c0, "wall_s": t1 - t0, "gpu_energy_j": measured,
                      "exact_j": exact, "gpus": len(gpus), "methods": methods}}))
    """
)

CODECARBON = PROLOGUE + textwrap.dedent(
    """
    import logging
    from codecarbon import OfflineEmissionsTracker
    tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=1,
                                      save_to_file=False, log_level="error")
    tracker.start()
    t_fake0 = fake.now()
    c0, t0 = cpu_s(), time.monotonic()
    time.sleep({window})
    c1, t1 = cpu_s(), time.monotonic()
    tracker.stop()
    t_fake1 = fake.now()
    gpu_kwh = tracker.final_emissions_data.gpu_energy
    exact = sum(fake.energy_j(i, t_fake0, t_fake1) for i in range(8))
    print(json.dumps({{"cpu_s": c1 - c0, "wall_s": t1 - t0, "gpu_energy_kwh": gpu_kwh,
                      "exact_j": exact}}))
    """
)


def _cost(result: dict[str, float], idle: dict[str, float]) -> float:
    """Monitoring CPU share of one core: (CPU s - idle CPU s) / wall s."""
    return (
        max(result["cpu_s"] - idle["cpu_s"] * result["wall_s"] / idle["wall_s"], 0.0)
        / result["wall_s"]
    )


def main() -> dict[str, float]:
    """Run the three configurations and print the table; returns the figures."""
    counters = fake_nvml_env(8)
    power_only = fake_nvml_env(8, NO_COUNTER="1")
    idle = run_json(IDLE.format(window=WINDOW_S), counters)
    empty = run_json(EMPTY_LOOP.format(window=WINDOW_S), counters)
    g_counter = run_json(GREENAI.format(window=WINDOW_S), counters)
    g_power = run_json(GREENAI.format(window=WINDOW_S), power_only)
    cc = run_json(CODECARBON.format(window=WINDOW_S), counters)
    cost_counter, cost_power, cost_cc, cost_empty = (
        _cost(r, idle) for r in (g_counter, g_power, cc, empty)
    )

    def err(r: dict[str, float]) -> str:
        return f"{(gpu_energy_j(r) / r['exact_j'] - 1) * 100:+.2f}%"

    rows = [
        ["greenai defaults (8 GPU counters, 1 Hz)", f"{cost_counter * 100:.3f}%", err(g_counter),
         f"{cost_counter / cost_cc:.2f}" if cost_cc else "-"],
        ["greenai, no GPU counters (power at 10 Hz)", f"{cost_power * 100:.3f}%", err(g_power),
         f"{cost_power / cost_cc:.2f}" if cost_cc else "-"],
        ["CodeCarbon OfflineEmissionsTracker(measure_power_secs=1)", f"{cost_cc * 100:.3f}%",
         err(cc), "1.00"],
        ["(reference) an empty 10 Hz Python sleep loop", f"{cost_empty * 100:.3f}%", "-",
         f"{cost_empty / cost_cc:.2f}" if cost_cc else "-"],
    ]  # fmt: skip
    print_table(
        f"Monitoring cost, 8 fake GPUs + CPU + DRAM, {WINDOW_S:.0f} s windows",
        ["configuration", "CPU of one core", "GPU energy error", "ratio to CodeCarbon"],
        rows,
    )
    return {
        "counter": cost_counter,
        "power": cost_power,
        "codecarbon": cost_cc,
        "empty_loop": cost_empty,
    }


if __name__ == "__main__":
    main()
