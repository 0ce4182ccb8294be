"""Importing the reports package (as the CLI and ``greenai.report`` do) stays light."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pandas", "sqlalchemy", "jinja2", "weasyprint", "codecarbon", "pynvml")


def test_import_loads_nothing_heavy() -> None:
    code = (
        "import sys, greenai.reports, greenai.figures.periods\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)  # fmt: skip
    assert done.stdout.strip() == ""


def test_report_command_is_registered() -> None:
    from greenai.cli.main import app

    names = {command.name for command in app.registered_commands}
    assert "report" in names
