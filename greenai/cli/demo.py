"""``greenai demo``: measure a real workload on this machine and show where the energy went."""

from __future__ import annotations

import time
from typing import Annotated

import typer


def _workload(seconds: float) -> int:
    """Matrix multiplications (NumPy) for ``seconds``; returns how many were done."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((384, 384))
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        a = np.tanh(a @ a.T / 384.0)
        done += 1
    return done


def demo(
    seconds: Annotated[float, typer.Option(help="Length of the measured workload, s.")] = 8.0,
) -> None:
    """Run a real workload under greenai and print its energy per device and method."""
    from rich.console import Console
    from rich.table import Table

    import greenai
    from greenai.cli.detect import detection

    console = Console()
    for entry in detection():
        if not entry["available"]:
            console.print(f"[yellow]{entry['collector']}[/]: {entry['reason']}")
    with greenai.track(project="demo", model="numpy-matmul", phase="inference") as run:
        with run.window("idle"):
            time.sleep(1.0)
        with run.window("compute"):
            done = _workload(seconds)
            run.add_samples(done)
    table = Table(title=f"run {run.id}: {run.duration_s:.1f} s, {done} matmuls")
    for column in ("device", "kind", "method", "energy J", "share"):
        table.add_column(column)
    for charge in run.charges():
        table.add_row(
            charge.device_id,
            charge.kind,
            charge.method,
            f"{charge.energy_j:.2f}",
            f"{charge.share:.2f}",
        )
    console.print(table)
    for window in run.windows:
        w = window.to_dict()
        energy = "below counter resolution" if w["energy_j"] is None else f"{w['energy_j']:.2f} J"
        console.print(f"window {w['name']}: {w['duration_s']:.2f} s, {energy}")
    console.print(
        f"IT energy {run.energy_j:.2f} J, facility {run.facility_energy_j:.2f} J, "
        f"{run.emissions_kg * 1000:.4f} gCO2e at {run.intensity_g_per_kwh:.0f} g/kWh "
        f"({run.intensity_source}); flags: {', '.join(run.to_dict()['flags']) or 'none'}"
    )
