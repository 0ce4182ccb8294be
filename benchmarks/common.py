"""Helpers shared by the benchmarks: subprocess runs, the fake NVML library, tables."""

from __future__ import annotations

import compileall
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from greenai.figures.units import joules

REPO = Path(__file__).resolve().parent.parent


def fake_nvml_env(count: int, **fake: str) -> dict[str, str]:
    """An environment whose processes load the fake NVML library with ``count`` GPUs."""
    from tests.fake_nvml.driver import build_fake_nvml, subprocess_env

    folder = Path(tempfile.gettempdir()) / "greenai-bench-fake-nvml"
    folder.mkdir(exist_ok=True)
    library = build_fake_nvml(folder)
    return subprocess_env(library, None, COUNT=str(count), **fake)


def compile_bytecode() -> None:
    """Compile greenai's modules to bytecode, as installing the package does, so a cold
    start measures what an installed greenai pays (the environment may forbid writing
    bytecode on import, ``PYTHONDONTWRITEBYTECODE``; CodeCarbon's is compiled already)."""
    for package in ("greenai", "collectors", "dashboard"):
        compileall.compile_dir(REPO / package, quiet=1)


def run_json(code: str, env: Mapping[str, str] | None = None, timeout_s: float = 600) -> Any:
    """Run Python code in a fresh interpreter; its last stdout line is JSON."""
    environ = dict(os.environ if env is None else env)
    environ["PYTHONPATH"] = str(REPO) + os.pathsep + environ.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=environ,
        cwd=tempfile.gettempdir(),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark step failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain-text table (copied into the README as it is)."""
    cells = [[str(c) for c in header], *[[_fmt(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n## {title}\n")
    for n, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def gpu_energy_j(result: dict[str, Any]) -> float:
    """A trial's GPU energy, J: greenai's children print joules, CodeCarbon's kWh."""
    if "gpu_energy_j" in result:
        return float(result["gpu_energy_j"])
    return joules(float(result["gpu_energy_kwh"]))
