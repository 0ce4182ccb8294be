"""``greenai``: the command line entry point; each command lives in its own module."""

from __future__ import annotations

import logging
import sys

import typer

from greenai.cli import db, detect, imports, run_cmd, runs
from greenai.errors import GreenAIError

app = typer.Typer(
    name="greenai",
    help="Energy and carbon footprint of AI work: measure, record, compare, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("detect")(detect.detect)
app.command("run", cls=run_cmd.RunCommand)(run_cmd.run)  # options up to the command's name
app.add_typer(runs.app, name="runs")
app.add_typer(imports.app, name="import")
app.add_typer(db.app, name="db")
app.command("sync")(db.sync)

_OPTIONAL = (
    ("greenai.cli.demo", "demo"),
    ("greenai.cli.dashboard_cmd", "dashboard"),
    ("greenai.cli.report_cmd", "report"),
    ("greenai.cli.bench_cmd", "bench"),
    ("greenai.cli.agent_cmd", "agent"),
)


def _register_optional() -> None:
    import importlib

    for module_name, command in _OPTIONAL:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        app.command(command)(getattr(module, command))


_register_optional()


def main() -> None:
    """Run the CLI; greenai's own errors print as one line, exit code 2."""
    logging.basicConfig(level=logging.WARNING, format="greenai: %(message)s")
    try:
        app()
    except GreenAIError as exc:
        print(f"greenai: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
