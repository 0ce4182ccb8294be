"""Load: many processes, each a stream of short tracked runs, on one ledger at once.

Every process is a real interpreter (let go at the same instant, :mod:`tests.at_once`)
measuring the fake NVML library's GPUs in real time; the ledger is a SQLite file or a
PostgreSQL database. Afterwards every run is in the ledger exactly once, completed, with
its tokens and finite, non-negative energies, and the ledger's journal is empty: nothing
is waiting to be shipped, nothing was lost. No timing asserts.
"""

from __future__ import annotations

import math
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from greenai.ledger import Ledger, schema, upgrade
from greenai.ledger.journal import journal_for
from tests.at_once import run_at_once
from tests.fake_nvml.driver import subprocess_env
from tests.reliability.figures import record, sized

PROCESSES = sized(4, 16)
RUNS_EACH = sized(50, 200)

TRACKED_RUNS = textwrap.dedent(
    """
    import sys
    import greenai
    import greenai.ledger.ledger, greenai.tracking.api  # the heavy imports, before the race
    from tests.at_once import wait_for_go

    url, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    wait_for_go()
    for i in range(n):
        with greenai.track(name="load", db_url=url, run_id=f"{prefix}-{i}") as run:
            run.add_tokens(input=i + 1, output=2 * i)
    """
)


def expected_runs() -> dict[str, tuple[int, int]]:
    """Run id -> (input, output) tokens, as the script gives them."""
    return {f"p{p}-{i}": (i + 1, 2 * i) for p in range(PROCESSES) for i in range(RUNS_EACH)}


def _stored(url: str) -> tuple[list[Any], list[float]]:
    """Every run row (id, status, energy, tokens) and every device row's energy."""
    runs = schema.runs
    columns = ("id", "status", "energy_j", "tokens_input", "tokens_output")
    with Ledger.open(url) as ledger, ledger.read() as conn:
        rows = conn.execute(sa.select(*(runs.c[name] for name in columns))).all()
        device_j = conn.execute(sa.select(schema.run_devices.c.energy_j)).scalars().all()
    return list(rows), [float(j) for j in device_j]


def load(url: str, backend: str, fake_nvml_library: Path) -> None:
    """Run the load against ``url`` and check what the ledger holds."""
    argv = [[url, f"p{p}", str(RUNS_EACH)] for p in range(PROCESSES)]
    ends = run_at_once(TRACKED_RUNS, argv, env=subprocess_env(fake_nvml_library), timeout_s=600)
    rows, device_j = _stored(url)
    expected = expected_runs()
    seen = Counter(row.id for row in rows)
    stored = sum(1 for run_id in expected if run_id in seen)
    lost = len(expected) - stored
    unfinished = sum(1 for row in rows if row.status != "completed")
    journaled = journal_for(url).pending()
    record("load", backend, processes=PROCESSES, runs_each=RUNS_EACH, stored=stored, lost=lost,
           unfinished=unfinished, journaled=journaled)  # fmt: skip

    assert [end.returncode for end in ends] == [0] * PROCESSES, [end.why() for end in ends]
    odd = [(row.id, row.status) for row in rows if row.status != "completed"]
    assert (lost, unfinished, journaled) == (0, 0, 0), odd
    assert seen == Counter(list(expected))  # each once, and nothing else
    assert Counter(row.status for row in rows) == {"completed": len(expected)}
    assert {row.id: (row.tokens_input, row.tokens_output) for row in rows} == expected
    energies = [row.energy_j for row in rows] + device_j
    assert all(math.isfinite(j) and j >= 0.0 for j in energies)
    assert len(device_j) >= len(expected)  # the fake GPUs were measured in every run


@pytest.mark.timeout(sized(300, 1200))
def test_many_processes_of_short_runs_lose_nothing_in_a_sqlite_file(
    ledger_url: str, fake_nvml_library: Path
) -> None:
    upgrade(ledger_url)  # a ledger at head, as the PostgreSQL one is
    load(ledger_url, "SQLite file", fake_nvml_library)


@pytest.mark.postgres
@pytest.mark.timeout(sized(300, 1200))
def test_many_processes_of_short_runs_lose_nothing_in_postgresql(
    pg_ledger: str, fake_nvml_library: Path
) -> None:
    load(pg_ledger, "PostgreSQL", fake_nvml_library)
