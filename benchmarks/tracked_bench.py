"""What a tracked run costs the job: greenai's whole path against CodeCarbon's tracker.

A real ``greenai.track()`` run at default settings (series ticks at 1 Hz with the GPU
process list, heartbeats every 5 s with their ledger writes, a SQLite ledger in a
temporary data folder) over 8 fake GPUs, beside a few hundred other processes in
``/proc``, against CodeCarbon's ``OfflineEmissionsTracker(measure_power_secs=1)`` on
the same fake library, and greenai's bare sampler (no run, no ledger) for reference.
Each configuration runs in a fresh process; the trials are interleaved and the median
of each is reported, with the CPU of an idle process over the same window subtracted.

Each tracked process is measured over two windows of the same length: the first, from
2 s after the start (past the collectors opening), holds what a run pays once (its first
full record, the heartbeat statements compiled, at the 5 s and 10 s heartbeats); the
second, right after, is the steady cost a run of minutes or hours pays (the target).
CodeCarbon is measured over the same two windows.

A second table gives what one heartbeat costs: inside the tracked run's steady window
(the same run with heartbeats off subtracted: the record and its power series written),
and on its own (records made and written in a row, no series), all threads' CPU.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import textwrap

from benchmarks.common import fake_nvml_env, gpu_energy_j, print_table, run_json
from benchmarks.sampler_bench import GREENAI as BARE_SAMPLER

WINDOW_S = 15.0
SETTLE_S = 2.0  # past the cold start (collectors opening)
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

WINDOWS = textwrap.dedent(
    """
    def windows():
        time.sleep({settle})
        out = []
        for _ in range(2):  # the first window, then the steady one
            c0, t0 = cpu_s(), time.monotonic()
            time.sleep({window})
            out.append({{"cpu_s": cpu_s() - c0, "wall_s": time.monotonic() - t0}})
        return out
    """
)

GREENAI = (
    PROLOGUE
    + WINDOWS
    + textwrap.dedent(
        """
    import greenai
    with greenai.track(country="FRA", name="bench"{extra}) as run:
        first, steady = windows()
    t_fake1 = fake.now()
    gpu = sum(c.energy_j for c in run.charges() if c.kind == "gpu")
    exact = sum(fake.energy_j(i, t_fake1 - run.duration_s, t_fake1) for i in range(8))
    print(json.dumps({{"first": first, "steady": steady, "gpu_energy_j": gpu,
                      "exact_j": exact}}))
    """
    )
)

CODECARBON = (
    PROLOGUE
    + WINDOWS
    + textwrap.dedent(
        """
    from codecarbon import OfflineEmissionsTracker
    tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=1,
                                      save_to_file=False, log_level="error")
    tracker.start()
    t_fake0 = fake.now()
    first, steady = windows()
    tracker.stop()
    t_fake1 = fake.now()
    exact = sum(fake.energy_j(i, t_fake0, t_fake1) for i in range(8))
    gpu_kwh = tracker.final_emissions_data.gpu_energy
    print(json.dumps({{"first": first, "steady": steady, "gpu_energy_kwh": gpu_kwh,
                      "exact_j": exact}}))
    """
    )
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


def _ratio(cost: float, peer: float) -> float:
    return cost / peer if peer else float("nan")


def main() -> dict[str, float]:
    """Interleaved trials of both tools; prints the tables and returns the medians."""
    env = fake_nvml_env(8)
    others = [
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        for _ in range(OTHER_PROCESSES)
    ]
    costs: dict[str, list[float]] = {k: [] for k in ("g", "g_first", "cc", "cc_first", "bare")}
    errors: dict[str, list[float]] = {k: [] for k in ("g", "cc", "bare")}
    beat_cpu_s: list[float] = []
    try:
        idle = run_json(IDLE.format(window=WINDOW_S), env)
        for _ in range(TRIALS):
            g = run_json(GREENAI.format(settle=SETTLE_S, window=WINDOW_S, extra=""), env)
            off = run_json(
                GREENAI.format(settle=SETTLE_S, window=WINDOW_S, extra=NO_HEARTBEAT), env
            )
            beats = g["steady"]["wall_s"] / HEARTBEAT_S
            beat_cpu_s.append((g["steady"]["cpu_s"] - off["steady"]["cpu_s"]) / beats)
            c = run_json(CODECARBON.format(settle=SETTLE_S, window=WINDOW_S), env)
            b = run_json(BARE_SAMPLER.format(window=WINDOW_S), env)
            costs["g"].append(_cost(g["steady"], idle))
            costs["g_first"].append(_cost(g["first"], idle))
            costs["cc"].append(_cost(c["steady"], idle))
            costs["cc_first"].append(_cost(c["first"], idle))
            costs["bare"].append(_cost(b, idle))
            for key, result in (("g", g), ("cc", c), ("bare", b)):
                errors[key].append(_error(result))
        beat = run_json(HEARTBEAT.format(), env)
    finally:
        for proc in others:
            proc.kill()
        for proc in others:
            proc.wait()
    cost = {k: statistics.median(v) for k, v in costs.items()}
    error = {k: statistics.median(v) for k, v in errors.items()}
    in_run_ms = statistics.median(beat_cpu_s) * 1000.0
    ratio = _ratio(cost["g"], cost["cc"])
    first_ratio = _ratio(cost["g_first"], cost["cc_first"])
    print_table(
        f"Tracked run, 8 fake GPUs, {OTHER_PROCESSES} other processes, "
        f"median of {TRIALS} interleaved trials, {WINDOW_S:.0f} s windows",
        ["configuration", "CPU of one core", "GPU energy error", "ratio to CodeCarbon"],
        [
            ["greenai.track() at defaults (ticks, heartbeats, ledger writes), steady",
             f"{cost['g'] * 100:.3f}%", f"{error['g']:+.3f}%", f"{ratio:.2f}"],
            ["CodeCarbon OfflineEmissionsTracker(measure_power_secs=1), steady",
             f"{cost['cc'] * 100:.3f}%", f"{error['cc']:+.3f}%", "1.00"],
            ["greenai.track(), first window (first full record, statements compiled)",
             f"{cost['g_first'] * 100:.3f}%", "", f"{first_ratio:.2f}"],
            ["CodeCarbon, first window",
             f"{cost['cc_first'] * 100:.3f}%", "", "1.00"],
            ["bare greenai Sampler (no run, no ledger), for reference",
             f"{cost['bare'] * 100:.3f}%", f"{error['bare']:+.3f}%",
             f"{_ratio(cost['bare'], cost['cc']):.2f}"],
        ],
    )  # fmt: skip
    print_table(
        "One heartbeat with 8 GPUs and an open window (SQLite ledger, all threads' CPU)",
        ["figure", "value"],
        [
            ["CPU per heartbeat in a tracked run's steady window (its 5 s of power series "
             "included; the run with heartbeats minus the run without)",
             f"{in_run_ms:.2f} ms"],
            ["CPU per heartbeat record made and written, series aside (200 in a row)",
             f"{beat['per_beat_ms']:.2f} ms"],
            ["of which making the heartbeat record", f"{beat['made_ms']:.2f} ms"],
        ],
    )  # fmt: skip
    return {"greenai": cost["g"], "codecarbon": cost["cc"], "ratio": ratio,
            "first_ratio": first_ratio, "bare": cost["bare"],
            "heartbeat_in_run_ms": in_run_ms, **beat}  # fmt: skip


if __name__ == "__main__":
    main()
