"""``greenai demo``: the out-of-the-box tour, entirely offline.

Trains the built-in models on first use (cached in the per-user data folder), runs a
short benchmark of every built-in technique into the default ledger, writes a sample
report for the current quarter where the report builder is installed, then starts the
dashboard (``--no-serve`` stops after the report).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from greenai.bench.config import BenchConfig

DEMO_PROJECT = "greenai-demo"
DEFAULT_PORT = 8501


def demo_config(model: str = "gpt-small", repeats: int = 3, threads: int = 0) -> BenchConfig:
    """The demo's benchmark: one built-in preset, every technique, inference and training,
    batch 8; windows sized to the preset's context (a few seconds per cell on two CPU
    cores once the models are cached).

    Raises:
        ConfigError: An unknown preset or a bad repeat count.
    """
    from greenai.bench.config import PRESETS, BenchConfig
    from greenai.errors import ConfigError

    preset = PRESETS.get(model)
    if preset is None:
        raise ConfigError("model", model, f"one of: {', '.join(PRESETS)}")
    base = BenchConfig()
    prompt_len = min(base.prompt_len, preset.block_size // 4)
    decode_tokens = min(base.decode_tokens, preset.block_size - prompt_len - 2 * base.ramp_steps)
    return BenchConfig(
        models=(model,),
        batch_sizes=(8,),
        repeats=repeats,
        warmup=1,
        prompt_len=prompt_len,
        decode_tokens=decode_tokens,
        project=DEMO_PROJECT,
        threads=threads,
    )


def current_quarter(now: datetime | None = None) -> str:
    """``2026-Q3`` for a time in July to September 2026 (UTC)."""
    now = now or datetime.now(UTC)
    return f"{now.year}-Q{(now.month - 1) // 3 + 1}"


def write_report(console: Console, period: str, out_dir: Path) -> Any:
    """Write the sample report with ``greenai.reports.report`` where it is installed.

    Returns:
        What the report builder returned, or None when there is none or it failed (the
        demo goes on: a report is a bonus here).
    """
    try:
        from greenai.reports import report
    except ImportError:
        console.print("report: skipped (the report builder greenai.reports is not installed)")
        return None
    try:
        written = report(period=period, out_dir=out_dir)
    except Exception as exc:  # the demo's other results stand without the report
        console.print(f"report: not written ({type(exc).__name__}: {exc})", markup=False)
        return None
    folder = getattr(written, "out_dir", out_dir)
    console.print(f"report for {period} written to {folder}", markup=False, highlight=False)
    return written


def serve(console: Console, port: int) -> bool:
    """Start the dashboard (``greenai dashboard --port PORT``), which blocks while it
    serves; False when the dashboard command is not installed."""
    try:
        from greenai.cli import dashboard_cmd  # noqa: F401 - present?
    except ImportError:
        console.print(
            "dashboard: not installed here; the runs are in the ledger (greenai runs list)"
        )
        return False
    import typer.main

    from greenai.cli.main import app

    console.print(f"dashboard: http://127.0.0.1:{port}  (Ctrl+C stops it)", highlight=False)
    command = typer.main.get_command(app)
    command.main(args=["dashboard", "--port", str(port)], standalone_mode=False)
    return True


def demo(
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Stop after the report; no dashboard.")
    ] = False,
    port: Annotated[int, typer.Option(help="Dashboard port.")] = DEFAULT_PORT,
    repeats: Annotated[int, typer.Option(help="Measured repeats per cell.")] = 3,
    model: Annotated[
        str, typer.Option(help="Built-in preset: gpt-small, or gpt-tiny for a quick look.")
    ] = "gpt-small",
    threads: Annotated[
        int,
        typer.Option(
            help="CPU threads of torch (0: one per core; 1 is steadiest on a busy machine)."
        ),
    ] = 1,
) -> None:
    """Train the built-in models (first use), benchmark them, report, and serve the dashboard."""
    from rich.console import Console

    from greenai.bench.runner import run_bench
    from greenai.bench.summary import print_summary
    from greenai.ledger.paths import data_dir_path

    console = Console()
    started = time.monotonic()
    console.print(
        "greenai demo: a GPT-style model and its optimized variants, measured here "
        "(offline; models are trained once and cached)."
    )
    result = run_bench(demo_config(model, repeats, threads), console=console)
    print_summary(result, console)
    period = current_quarter()
    write_report(console, period, data_dir_path() / "reports" / period)
    console.print(f"demo finished in {time.monotonic() - started:.0f} s", highlight=False)
    if not no_serve:
        serve(console, port)
