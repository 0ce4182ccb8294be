"""Start+stop latency of a run, cold (first hardware probe included) and warm, against
CodeCarbon's EmissionsTracker in the same run; and the cost of ``import greenai``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import textwrap

from benchmarks.common import REPO, compile_bytecode, print_table, run_json

GREENAI = textwrap.dedent(
    """
    import json, time, statistics, tempfile, os
    import greenai
    t0 = time.perf_counter(); run = greenai.start(model="bench"); t1 = time.perf_counter()
    run.stop(); t2 = time.perf_counter()
    starts, stops = [], []
    for _ in range(30):
        a = time.perf_counter(); r = greenai.start(model="bench"); b = time.perf_counter()
        r.stop(); c = time.perf_counter()
        starts.append(b - a); stops.append(c - b)
    print(json.dumps({"cold_start_s": t1 - t0, "cold_stop_s": t2 - t1,
                      "warm_start_s": statistics.median(starts),
                      "warm_stop_s": statistics.median(stops)}))
    """
)

CODECARBON = textwrap.dedent(
    """
    import json, time, statistics, logging, tempfile
    from codecarbon import OfflineEmissionsTracker as EmissionsTracker
    out = tempfile.mkdtemp()
    def once():
        tracker = EmissionsTracker(country_iso_code="FRA", output_dir=out, log_level="error",
                                   allow_multiple_runs=True)
        a = time.perf_counter(); tracker.start(); b = time.perf_counter()
        tracker.stop(); c = time.perf_counter()
        return b - a, c - b
    cold = once()
    warm = [once() for _ in range(5)]
    print(json.dumps({"cold_start_s": cold[0], "cold_stop_s": cold[1],
                      "warm_start_s": statistics.median(w[0] for w in warm),
                      "warm_stop_s": statistics.median(w[1] for w in warm)}))
    """
)

HEAVY = ("pandas", "pynvml", "codecarbon", "torch", "streamlit", "sqlalchemy", "alembic",
         "typer", "rich", "prometheus_client")  # fmt: skip


def import_time_ms() -> tuple[float, list[str]]:
    """``python -X importtime -c "import greenai"``: cumulative ms of greenai, and which
    heavy modules got loaded."""
    code = f"import sys, greenai; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True, text=True, check=True, cwd=tempfile.gettempdir(),
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    cumulative_us = 0
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)greenai$", line)
        if match:
            cumulative_us = int(match.group(1))
    loaded = [m for m in done.stdout.strip().split(",") if m]
    return cumulative_us / 1000.0, loaded


def main() -> dict[str, float]:
    """Measure both tools in fresh processes (each with its own ledger) and print."""
    compile_bytecode()
    env = {**os.environ, "GREENAI_DATA_DIR": tempfile.mkdtemp(prefix="greenai-bench-")}
    run_json("import greenai, greenai.emissions as e, greenai.config as c; "
             "e.resolve_factor(c.load_settings()); print(1)", env)  # fmt: skip
    ours = run_json(GREENAI, env)
    theirs = run_json(CODECARBON, env)
    rows = []
    for key, label, target in (
        ("cold_start_s", "cold start", None),
        ("cold_stop_s", "cold stop", None),
        ("warm_start_s", "warm start", None),
        ("warm_stop_s", "warm stop", None),
    ):
        rows.append([label, f"{ours[key] * 1e3:.1f} ms", f"{theirs[key] * 1e3:.1f} ms",
                     f"{ours[key] / theirs[key]:.3f}", target or ""])  # fmt: skip
    cold = ours["cold_start_s"] + ours["cold_stop_s"]
    warm = ours["warm_start_s"] + ours["warm_stop_s"]
    cc_cold = theirs["cold_start_s"] + theirs["cold_stop_s"]
    cc_warm = theirs["warm_start_s"] + theirs["warm_stop_s"]
    rows.append(["cold start+stop", f"{cold * 1e3:.1f} ms", f"{cc_cold * 1e3:.1f} ms",
                 f"{cold / cc_cold:.3f}", "<= 300 ms"])  # fmt: skip
    rows.append(["warm start+stop", f"{warm * 1e3:.1f} ms", f"{cc_warm * 1e3:.1f} ms",
                 f"{warm / cc_warm:.3f}", "<= 20 ms"])  # fmt: skip
    ms, loaded = import_time_ms()
    rows.append(["import greenai", f"{ms:.1f} ms", "", "", "<= 150 ms, no heavy module"])
    print_table(
        "Run start/stop latency (fresh processes, default SQLite ledger)",
        ["measure", "greenai", "CodeCarbon", "ratio", "target"],
        rows,
    )
    print(f"heavy modules loaded by `import greenai`: {loaded or 'none'}")
    return {"cold_s": cold, "warm_s": warm, "import_ms": ms}


if __name__ == "__main__":
    main()
