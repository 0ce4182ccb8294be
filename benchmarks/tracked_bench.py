"""What a tracked run costs the job: greenai's whole path against CodeCarbon's tracker.

A real ``greenai.track()`` run at default settings (series ticks at 1 Hz with the GPU
process list, heartbeats every 5 s with their ledger writes, a SQLite ledger in a
temporary data folder) over 8 fake GPUs, beside a few hundred other processes in
``/proc``, against CodeCarbon's ``OfflineEmissionsTracker(measure_power_secs=1)`` on
the same fake library, and greenai's bare sampler (no run, no ledger) for reference.
Each configuration runs in a fresh process; the trials are interleaved and the median
of each is reported, with the CPU of an idle process over the same window subtracted.
A second table gives what one heartbeat costs: inside the tracked run (the same run
with heartbeats off subtracted: the record and its power series written), and on its
own (records made and written in a row, no series), all threads' CPU.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import textwrap

from benchmarks.common import fake_nvml_env, gpu_energy_j, print_table, run_json
from benchmarks.sampler_bench import GREENAI as BARE_SAMPLER

WINDOW_S = 15.0
HEARTBEAT_S = 5.0  # the default heartbeat period
NO_HEARTBEAT = ", heartbeat_s=1e6"
TRIALS = 5
OTHER_PROCESSES = 300

PROLOGUE = textwrap.dedent(
    """
    import ctypes, json, os, tempfile, time
    os.environ["GREENAI_DATA_DIR"] = tempfile.mkdtemp()
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

GREENAI = PROLOGUE + textwrap.dedent(
    """
    import greenai
    with greenai.track(country="FRA", name="bench"{extra}) as run:
        time.sleep(2.0)  # past the cold start (collectors opening, first record)
        c0, t0 = cpu_s(), time.monotonic()
        time.sleep({window})
        c1, t1 = cpu_s(), time.monotonic()
    t_fake1 = fake.now()
    gpu = sum(c.energy_j for c in run.charges() if c.kind == "gpu")
    exact = sum(fake.energy_j(i, t_fake1 - run.duration_s, t_fake1) for i in range(8))
    print(json.dumps({{"cpu_s": c1 - c0, "wall_s": t1 - t0, "gpu_energy_j": gpu,
                      "exact_j": exact}}))
    """
)

CODECARBON = PROLOGUE + textwrap.dedent(
    """
    from codecarbon import OfflineEmissionsTracker
    tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=1,
                                      save_to_file=False, log_level="error")
    tracker.start()
    t_fake0 = fake.now()
    time.sleep(2.0)
    c0, t0 = cpu_s(), time.monotonic()
    time.sleep({window})
    c1, t1 = cpu_s(), time.monotonic()
    tracker.stop()
    t_fake1 = fake.now()
    exact = sum(fake.energy_j(i, t_fake0, t_fake1) for i in range(8))
    gpu_kwh = tracker.final_emissions_data.gpu_energy
    print(json.dumps({{"cpu_s": c1 - c0, "wall_s": t1 - t0, "gpu_energy_kwh": gpu_kwh,
                      "exact_j": exact}}))
    """
)

HEARTBEAT = PROLOGUE + textwrap.dedent(
    """
    import greenai
    from greenai.tracking.lifecycle import beat_once
    from greenai.tracking.record import heartbeat_record
    from greenai.tracking.writer import flush_all
    beats = 200
    with greenai.track(country="FRA", name="bench") as run, run.window("steady"):
        time.sleep(1.5)
        beat_once(run)  # the window opened after the first record: a full one
        flush_all()
        c0 = cpu_s()
        for _ in range(beats):
            beat_once(run)
            flush_all()  # one at a time, as every 5 s
        per_beat_s = (cpu_s() - c0) / beats
        c0 = cpu_s()
        for _ in range(beats):
            heartbeat_record(run, 0, len(run.metrics))
        made_s = (cpu_s() - c0) / beats
    print(json.dumps({{"per_beat_ms": per_beat_s * 1000.0, "made_ms": made_s * 1000.0}}))
    """
)


def _cost(result: dict[str, float], idle: dict[str, float]) -> float:
    """Monitoring CPU share of one core: (CPU s - idle CPU s) / wall s."""
    idle_cpu = idle["cpu_s"] * result["wall_s"] / idle["wall_s"]
    return max(result["cpu_s"] - idle_cpu, 0.0) / result["wall_s"]


def _error(result: dict[str, float]) -> float:
    return (gpu_energy_j(result) / result["exact_j"] - 1.0) * 100.0


def main() -> dict[str, float]:
    """Interleaved trials of both tools; prints the tables and returns the medians."""
    env = fake_nvml_env(8)
    others = [
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        for _ in range(OTHER_PROCESSES)
    ]
    try:
        idle = run_json(IDLE.format(window=WINDOW_S), env)
        greenai_costs, cc_costs, bare_costs, greenai_err, cc_err, bare_err = [], [], [], [], [], []
        beat_cpu_s: list[float] = []
        for _ in range(TRIALS):
            g = run_json(GREENAI.format(window=WINDOW_S, extra=""), env)
            off = run_json(GREENAI.format(window=WINDOW_S, extra=NO_HEARTBEAT), env)
            beat_cpu_s.append((g["cpu_s"] - off["cpu_s"]) / (g["wall_s"] / HEARTBEAT_S))
            c = run_json(CODECARBON.format(window=WINDOW_S), env)
            b = run_json(BARE_SAMPLER.format(window=WINDOW_S), env)
            greenai_costs.append(_cost(g, idle))
            cc_costs.append(_cost(c, idle))
            bare_costs.append(_cost(b, idle))
            greenai_err.append(_error(g))
            cc_err.append(_error(c))
            bare_err.append(_error(b))
        beat = run_json(HEARTBEAT.format(), env)
    finally:
        for proc in others:
            proc.kill()
        for proc in others:
            proc.wait()
    g_cost, cc_cost = statistics.median(greenai_costs), statistics.median(cc_costs)
    bare_cost = statistics.median(bare_costs)
    in_run_ms = statistics.median(beat_cpu_s) * 1000.0
    ratio = g_cost / cc_cost if cc_cost else float("nan")
    bare_ratio = bare_cost / cc_cost if cc_cost else float("nan")
    print_table(
        f"Tracked run, 8 fake GPUs, {OTHER_PROCESSES} other processes, "
        f"median of {TRIALS} interleaved {WINDOW_S:.0f} s trials",
        ["configuration", "CPU of one core", "GPU energy error", "ratio to CodeCarbon"],
        [
            ["greenai.track() at defaults (ticks, heartbeats, ledger writes)",
             f"{g_cost * 100:.3f}%", f"{statistics.median(greenai_err):+.3f}%", f"{ratio:.2f}"],
            ["CodeCarbon OfflineEmissionsTracker(measure_power_secs=1)",
             f"{cc_cost * 100:.3f}%", f"{statistics.median(cc_err):+.3f}%", "1.00"],
            ["bare greenai Sampler (no run, no ledger), for reference",
             f"{bare_cost * 100:.3f}%", f"{statistics.median(bare_err):+.3f}%",
             f"{bare_ratio:.2f}"],
        ],
    )  # fmt: skip
    print_table(
        "One heartbeat with 8 GPUs and an open window (SQLite ledger, all threads' CPU)",
        ["figure", "value"],
        [
            ["CPU per heartbeat in a tracked run (its 5 s of power series included; "
             "the run with heartbeats minus the run without)", f"{in_run_ms:.2f} ms"],
            ["CPU per heartbeat record made and written, series aside (200 in a row)",
             f"{beat['per_beat_ms']:.2f} ms"],
            ["of which making the heartbeat record", f"{beat['made_ms']:.2f} ms"],
        ],
    )  # fmt: skip
    return {"greenai": g_cost, "codecarbon": cc_cost, "ratio": ratio, "bare": bare_cost,
            "heartbeat_in_run_ms": in_run_ms, **beat}  # fmt: skip


if __name__ == "__main__":
    main()
