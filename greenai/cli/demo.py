"""``greenai demo``: the out-of-the-box tour, entirely offline.

Trains the built-in models on first use (cached in the per-user data folder), runs a
short benchmark of every built-in technique into the demo's own ledger
(``<data dir>/demo/ledger.db``, so that the user's default ledger holds only their own
work; ``--db`` chooses another), writes a sample report of that ledger for the current
quarter where the report builder is installed, then starts the dashboard on it
(``--no-serve`` stops after the report).

The runs get a location, so that their emissions use a real grid factor rather than the
world average flagged ``unknown_location``: ``--country``, else the location the user
configured, else :data:`DEMO_COUNTRY`. The output says which ledger and which location.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from greenai.cli import settings_options as so

if TYPE_CHECKING:
    from rich.console import Console

    from greenai.bench.config import BenchConfig
    from greenai.emissions import Factor

DEMO_PROJECT = "greenai-demo"
DEFAULT_PORT = 8501
DEMO_FOLDER = "demo"
"""The demo's folder in the data folder: its ledger and its reports."""
DEMO_COUNTRY = "USA"
"""Where the demo's runs draw their energy when neither ``--country`` nor the user's
configuration says: the country whose grid CodeCarbon's data covers most closely (a
national mix and EPA eGRID factors per state), with an intensity near the world average
(about 370 gCO2e/kWh), so the demo's emissions look like those of a typical machine."""


def demo_folder_path() -> Path:
    """``<data dir>/demo``: the demo's ledger and reports (not created here)."""
    from greenai.ledger.paths import data_dir_path

    return data_dir_path() / DEMO_FOLDER


def demo_ledger_url(db: str | None = None) -> str:
    """The ledger the demo records into, reports on and serves: ``db`` when given, else
    the SQLite file ``<data dir>/demo/ledger.db`` (never the configured ledger: the demo's
    thirty-odd runs stay out of the user's own)."""
    from greenai.ledger.paths import LEDGER_FILE

    return db if db else f"sqlite:///{demo_folder_path() / LEDGER_FILE}"


@dataclass(frozen=True)
class DemoLocation:
    """Where the demo's runs are located.

    Attributes:
        country: The ISO 3166-1 alpha-3 code to set for the runs, or None when the user's
            configuration already locates them.
        factor: The emission factor the runs get.
        origin: Why, as the output says it: ``set by --country``, ``from your
            configuration`` or ``the demo's default``.
    """

    country: str | None
    factor: Factor
    origin: str


def demo_location(country: str | None = None) -> DemoLocation:
    """The location of the demo's runs: ``country``, else the configured location, else
    :data:`DEMO_COUNTRY`.

    Raises:
        ConfigError: ``country`` is not a country CodeCarbon has a factor for, or the
            configuration is invalid.
    """
    from greenai.config import load_settings
    from greenai.emissions import resolve_factor
    from greenai.figures.flags import UNKNOWN_LOCATION

    if country is not None:
        settings = load_settings({"country": country})
        return DemoLocation(settings.country, resolve_factor(settings), "set by --country")
    configured = resolve_factor(load_settings())
    if UNKNOWN_LOCATION not in configured.flags:
        return DemoLocation(None, configured, "from your configuration")
    settings = load_settings({"country": DEMO_COUNTRY})
    return DemoLocation(settings.country, resolve_factor(settings), "the demo's default")


def demo_config(
    model: str = "gpt-small",
    repeats: int = 3,
    threads: int = 0,
    db_url: str | None = None,
    country: str | None = None,
) -> BenchConfig:
    """The demo's benchmark: one built-in preset, every technique, inference and training,
    batch 8; windows sized to the preset's context (a few seconds per cell on two CPU
    cores once the models are cached); recorded into ``db_url`` (None: the configured
    ledger; the demo passes :func:`demo_ledger_url`), located in ``country`` (None: the
    configured location).

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
        db_url=db_url,
        country=country,
    )


def current_quarter(now: datetime | None = None) -> str:
    """``2026-Q3`` for a time in July to September 2026 (UTC)."""
    now = now or datetime.now(UTC)
    return f"{now.year}-Q{(now.month - 1) // 3 + 1}"


def write_report(console: Console, period: str, out_dir: Path, db_url: str | None = None) -> Any:
    """Write the sample report with ``greenai.reports.report`` where it is installed.

    Args:
        console: Where to say what happened.
        period: The period (``2026-Q3``).
        out_dir: The report's folder.
        db_url: The ledger to report on (default: the configured one).

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
        written = report(period=period, out_dir=out_dir, db_url=db_url)
    except Exception as exc:  # the demo's other results stand without the report
        console.print(f"report: not written ({type(exc).__name__}: {exc})", markup=False)
        return None
    folder = getattr(written, "out_dir", out_dir)
    console.print(f"report for {period} written to {folder}", markup=False, highlight=False)
    return written


def dashboard_command(db_url: str) -> str:
    """The command line that opens the dashboard on ``db_url``, quoted for a shell (a
    password in the URL shown as ``***``)."""
    from greenai.ledger.engine import mask_url

    return f"greenai dashboard --db {shlex.quote(mask_url(db_url))}"


def serve(console: Console, port: int, db_url: str | None = None) -> bool:
    """Start the dashboard (``greenai dashboard --port PORT [--db URL]``), which blocks
    while it serves; False when the dashboard command is not installed."""
    try:
        from greenai.cli import dashboard_cmd  # noqa: F401 - present?
    except ImportError:
        from greenai.ledger.engine import mask_url

        where = f" --db {shlex.quote(mask_url(db_url))}" if db_url else ""
        console.print(
            f"dashboard: not installed here; the runs are in the ledger (greenai runs list{where})",
            markup=False,
            highlight=False,
        )
        return False
    import typer.main

    from greenai.cli.main import app

    console.print(f"dashboard: http://127.0.0.1:{port}  (Ctrl+C stops it)", highlight=False)
    command = typer.main.get_command(app)
    args = ["dashboard", "--port", str(port), *(["--db", db_url] if db_url else [])]
    command.main(args=args, standalone_mode=False)
    return True


def say_where(console: Console, db_url: str, given: bool, location: DemoLocation) -> None:
    """Print which ledger the demo records into and where its runs are located."""
    from greenai.figures.units import format_number
    from greenai.ledger.engine import mask_url

    whose = "given by --db" if given else "the demo's own; --db records elsewhere"
    console.print(f"ledger: {mask_url(db_url)} ({whose})", markup=False, highlight=False)
    factor = location.factor
    change = "" if "--country" in location.origin else "; --country changes it"
    console.print(
        f"location: {factor.location}, {format_number(factor.intensity_g_per_kwh)} gCO2e/kWh "
        f"({factor.source}); {location.origin}{change}",
        markup=False,
        highlight=False,
    )


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
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Ledger URL (default: the demo's own <data dir>/demo/ledger.db)."
        ),
    ] = None,
    country: so.Country = None,
) -> None:
    """Train the built-in models (first use), benchmark them, report, and serve the dashboard."""
    from greenai.bench.runner import run_bench
    from greenai.bench.summary import print_summary
    from greenai.cli.console import table_console

    console = table_console()
    started = time.monotonic()
    url = demo_ledger_url(db)
    location = demo_location(country)
    console.print(
        "greenai demo: a GPT-style model and its optimized variants, measured here "
        "(offline; models are trained once and cached)."
    )
    say_where(console, url, db is not None, location)
    config = demo_config(model, repeats, threads, url, location.country)
    result = run_bench(config, console=console)
    print_summary(result, console)
    period = current_quarter()
    write_report(console, period, demo_folder_path() / "reports" / period, url)
    console.print(
        f"dashboard on this ledger, any time: {dashboard_command(url)}",
        markup=False,
        highlight=False,
    )
    console.print(f"demo finished in {time.monotonic() - started:.0f} s", highlight=False)
    if not no_serve:
        serve(console, port, url)
