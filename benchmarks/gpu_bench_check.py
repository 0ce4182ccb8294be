"""GPU check of the benchmark harness: the built-in matrix on CUDA with measured GPU energy.

For a machine with an NVIDIA GPU (Volta or newer: NVML energy counter), torch with CUDA
and this repository's dependencies installed. Under 8 minutes on a recent data-centre
GPU (models trained on first use included), then it prints the summary table::

    python -m benchmarks.gpu_bench_check [--out DIR]

It exits 2 without CUDA or without a GPU energy figure, 1 when a cell failed. The ledger
and the model cache go to a fresh folder (``--out``, default a temporary one), so the
check leaves the user's own ledger alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# gpt-medium (8 layers, width 512, context 512) and its half-size students; batch 1 (where
# published int8 results lose) and 16; long windows so the energy counter has time to move.
MATRIX = {
    "models": ["gpt-medium"],
    "batch_sizes": [1, 16],
    "repeats": 3,
    "warmup": 1,
    "prompt_len": 64,
    "prefill_iters": 200,
    "decode_tokens": 440,
    "train_steps": 30,
    "device": "cuda",
    "project": "gpu-bench-check",
}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="folder for ledger, cache, JSON")
    return parser.parse_args()


def _detect() -> bool:
    """Print what greenai can measure here; True when a GPU energy counter is available."""
    from greenai.cli.detect import detection

    gpu_counter = False
    for entry in detection():
        print(f"  {entry['collector']}: available={entry['available']} {entry['reason'] or ''}")
        for device in entry["devices"]:
            print(f"    {device['device_id']} {device['kind']} {device['name']} {device['method']}")
            if entry["available"] and device["kind"] == "gpu":
                gpu_counter = gpu_counter or device["method"] in ("counter", "power")
    return gpu_counter


def main() -> int:
    """Run the check; returns the exit code."""
    args = _arguments()
    import torch

    if not torch.cuda.is_available():
        print("gpu_bench_check: torch sees no CUDA device", file=sys.stderr)
        return 2
    out = args.out or Path(tempfile.mkdtemp(prefix="greenai-gpu-check-"))
    out.mkdir(parents=True, exist_ok=True)
    os.environ["GREENAI_DATA_DIR"] = str(out / "data")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}; output in {out}")
    if not _detect():
        print("gpu_bench_check: no GPU collector available (NVML)", file=sys.stderr)
        return 2

    from rich.console import Console

    from greenai.bench.config import BenchConfig
    from greenai.bench.runner import run_bench
    from greenai.bench.summary import print_summary

    started = time.monotonic()
    config = BenchConfig.from_mapping(MATRIX)
    console = Console(width=200)
    result = run_bench(config, console=console)
    rows = print_summary(result, console)
    elapsed = time.monotonic() - started
    print(f"gpu_bench_check: {elapsed:.0f} s in all (training {result.training_s:.0f} s)")
    payload = {
        "elapsed_s": elapsed,
        "device": torch.cuda.get_device_name(0),
        "rows": [row.to_dict() for row in rows],
        "failures": result.failures,
    }
    (out / "gpu_bench_check.json").write_text(json.dumps(payload, indent=2, default=str))
    measured = any(row.methods.get("gpu") in ("counter", "power") for row in rows)
    if not measured:
        print("gpu_bench_check: no window has a measured GPU energy figure", file=sys.stderr)
        return 2
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
