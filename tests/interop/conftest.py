"""Fixtures of the import and export tests: a ledger on SQLite and on PostgreSQL, and
``greenai import codecarbon`` run in this process (the real command, through typer).

PostgreSQL tests are marked ``postgres`` (see :mod:`tests.pg`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from greenai.ledger import Ledger, upgrade
from tests.pg import pg_admin_url, pg_database, pg_url

__all__ = ["pg_admin_url", "pg_database", "pg_url"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty ledger at head: a SQLite file, then the PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = str(request.getfixturevalue("pg_url"))
        upgrade(url)
    Ledger.open(url).close()
    return url


@dataclass(frozen=True)
class Outcome:
    """What ``greenai import codecarbon`` did: exit code, output, and any exception that
    escaped the command (a traceback for the user)."""

    exit_code: int
    stdout: str
    stderr_lines: list[str]
    escaped: BaseException | None


def import_file(path: Path, url: str, *options: str) -> Outcome:
    """Runs ``greenai import codecarbon PATH --db URL [OPTIONS]`` in this process."""
    from typer.testing import CliRunner

    from greenai.cli.main import app

    args = ["import", "codecarbon", str(path), "--db", url, *options]
    result = CliRunner().invoke(app, args)
    escaped = result.exception if not isinstance(result.exception, SystemExit) else None
    return Outcome(result.exit_code, result.stdout, result.stderr.splitlines(), escaped)


def export_file(url: str, path: Path, *options: str) -> Path:
    """Runs ``greenai runs export --format codecarbon --db URL [OPTIONS]`` in this process
    and writes what it printed to ``path``; returns ``path``."""
    from typer.testing import CliRunner

    from greenai.cli.main import app

    args = ["runs", "export", "--format", "codecarbon", "--db", url, *options]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    path.write_text(result.stdout, encoding="utf-8")
    return path


def root_energy_j(url: str) -> float:
    """IT energy of the ledger's root runs (those the totals count), J."""
    return sum(r["energy_j"] for r in ledger_runs(url) if r["parent_run_id"] is None)


def ledger_runs(url: str) -> list[dict[str, Any]]:
    """Every run in the ledger at ``url``, by id."""
    with Ledger.open(url) as ledger:
        return sorted(ledger.list_runs(limit=1_000_000), key=lambda r: r["id"])


def assert_refused(outcome: Outcome, *needles: str) -> str:
    """The import was refused with one-line messages, no traceback; returns stderr."""
    assert outcome.escaped is None, repr(outcome.escaped)
    assert outcome.exit_code == 2, (outcome.stdout, outcome.stderr_lines)
    assert outcome.stderr_lines, "no message"
    assert all(line.startswith("greenai: error: ") for line in outcome.stderr_lines)
    assert "nothing imported" in outcome.stderr_lines[-1]
    text = "\n".join(outcome.stderr_lines)
    for needle in needles:
        assert needle in text, (needle, text)
    return text
