"""``python -m benchmarks [NAME ...]``: run every benchmark (or the named ones)."""

from __future__ import annotations

import importlib
import sys
import time

BENCHES = {
    "tracked": "benchmarks.tracked_bench",
    "sampler": "benchmarks.sampler_bench",
    "startstop": "benchmarks.startstop_bench",
    "ledger": "benchmarks.ledger_bench",
    "dashboard": "benchmarks.dashboard_bench",
    "fleet": "benchmarks.fleet_bench",
}


def main(names: list[str]) -> int:
    """Run the benchmarks in order; a failing one is reported and the others still run."""
    failed = []
    for name in names or list(BENCHES):
        module_name = BENCHES.get(name)
        if module_name is None:
            print(f"unknown benchmark {name!r}; known: {', '.join(BENCHES)}", file=sys.stderr)
            return 2
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        started = time.monotonic()
        try:
            module.main()
        except Exception as exc:  # report and go on with the others
            print(f"benchmark {name} failed: {exc}", file=sys.stderr)
            failed.append(name)
        print(f"({name}: {time.monotonic() - started:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
