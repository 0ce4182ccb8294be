"""The fleet and agent modules load nothing heavy at import (a rank's start stays cheap,
``greenai agent --help`` answers without prometheus_client)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "alembic", "psycopg", "pandas", "prometheus_client", "pynvml", "torch",
         "codecarbon", "typer", "rich")  # fmt: skip


def loaded_after(statement: str) -> list[str]:
    code = f"import sys\n{statement}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True, timeout=120)  # fmt: skip
    return [m for m in done.stdout.strip().split(",") if m]


def test_fleet_and_agent_modules_are_light() -> None:
    assert loaded_after("import greenai.fleet.ranks, greenai.fleet.prometheus_energy") == []
    assert loaded_after("import greenai.agent, greenai.agent.config") == []
    assert loaded_after("import greenai.agent.metrics, greenai.agent.recorder") == []


def test_rank_detection_at_run_start_loads_no_database_code() -> None:
    statement = "from greenai.fleet.ranks import detect_rank; detect_rank({'RANK': '1'})"
    assert loaded_after(statement) == []
