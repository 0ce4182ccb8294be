"""The fault matrix: every fault of the README's Reliability table around one standard job.

Each case (:mod:`tests.reliability.matrix.faults`) sets its fault up around the same
job (:mod:`tests.reliability.matrix.job`: CPU work in steps, tokens, a printed result,
exit code 3), a real subprocess tracked by ``greenai.track`` or run under ``greenai
run``, on two fake GPUs at 100 W each (the fake NVML library), then ships what the
fault left in the journal with ``greenai sync``, and checks the same three things:

1. the job ends as it does without greenai: same result, same exit code (a signal's
   fault: the same death; under ``greenai run``, the child's exit status);
2. the ledger is consistent: the job's run is there once and alone, with its final
   status, none left ``running``, energies finite and >= 0, windows and power series
   inside the run, its tokens, and the fault flagged where greenai flags it;
3. what was lost is counted: runs expected against runs stored, and energy where a
   fault loses some (SIGKILL: since the last heartbeat, bounded by one interval).

Each case records its figures for the README (:func:`tests.reliability.figures.record`).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from greenai.ledger import Ledger, schema
from greenai.ledger.heartbeat_columns import RUN_COLUMNS
from greenai.ledger.sink import RUN_PREFIX
from tests.reliability.figures import record
from tests.reliability.matrix.faults import FAULTS, STEPS, Fault
from tests.reliability.matrix.harness import Baseline, Case, Ended, finite_non_negative

RUN_ENERGIES = tuple(c for c in RUN_COLUMNS if c.endswith("_j") or c == "emissions_kg")
CLOCK_SLACK = timedelta(seconds=0.5)  # wall readings of one run, made apart
SERIES_SLACK = timedelta(seconds=1.5)  # series rows are 1 s buckets


@pytest.fixture(scope="session")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    return Baseline(tmp_path_factory.mktemp("bare-jobs"), STEPS)


def _params() -> list[Any]:
    return [
        pytest.param(fault, id=fault.name, marks=[pytest.mark.postgres] if fault.postgres else [])
        for fault in FAULTS
    ]


@pytest.mark.parametrize("fault", _params())
def test_the_job_is_unchanged_the_ledger_consistent_and_the_losses_counted(
    fault: Fault,
    tmp_path: Path,
    baseline: Baseline,
    fake_nvml_library: Path,
    request: pytest.FixtureRequest,
) -> None:
    expected = fault.expected(baseline)
    case = Case.make(fault.name, tmp_path / "job", fake_nvml_library, request.getfixturevalue)
    case.env.update(fault.settings())
    with fault.arranged(case):
        job = case.start(launch=fault.launch, **fault.job())
        fault.strike(case, job)
        ended = job.end()
        fault.restore(case)
        journaled = case.journaled()
        fault.recover(case)
    stored = fault.stored(case)
    runs = [r for r in case.runs() if r["run"]["name"] == case.name]
    unchanged = (ended.returncode, ended.result) == (expected.returncode, expected.result)
    loss = fault.loss(case, runs[0]) if runs else {}
    record(
        "fault",
        fault.name,
        runs=fault.runs,
        lost=fault.runs - stored,
        job_unchanged=unchanged,
        journaled=journaled,
        to_stderr=_printed_records(ended),
        job_s=round(ended.wall_s, 2),
        **loss,
    )
    why = f"job ended {ended.returncode} {ended.result}, expected {expected}\n{ended.stderr}"
    assert unchanged, why[-4000:]
    assert stored == fault.runs, (
        f"{fault.runs - stored} run(s) lost; the ledger holds {case.runs()}; "
        f"{case.journaled()} journaled; sync said {case.notes.get('synced')}\n{ended.stderr}"
    )
    _assert_consistent(fault, case)
    assert fault.loss_ok(loss), loss
    fault.check(case, runs[0])


def _printed_records(ended: Ended) -> int:
    return sum(line.startswith(RUN_PREFIX) for line in ended.stderr.splitlines())


def _assert_consistent(fault: Fault, case: Case) -> None:
    """The job's ledger holds its run once and nothing else, finished as the fault
    says, with finite energies and its windows and power series inside it."""
    records = case.runs()
    assert [r["run"]["name"] for r in records] == [case.name], records
    (found,) = records
    run = found["run"]
    assert run["status"] == fault.status, run
    for prefix in fault.flags:
        assert any(flag.startswith(prefix) for flag in run["flags"]), (prefix, run["flags"])
    for name in RUN_ENERGIES:
        assert finite_non_negative(run[name]), (name, run[name])
    for row in found["devices"]:
        assert finite_non_negative(row["energy_j"]), row
    assert finite_non_negative(run["duration_s"])
    assert run["ended_at"] is not None and run["ended_at"] >= run["started_at"], run
    assert fault.tokens_ok(run["tokens_output"]), run["tokens_output"]
    start, end = run["started_at"] - CLOCK_SLACK, run["ended_at"] + CLOCK_SLACK
    for window in found["windows"]:
        assert window["energy_j"] is None or finite_non_negative(window["energy_j"]), window
        assert start <= window["started_at"] <= end, (window, run)
        assert window["ended_at"] is None or window["ended_at"] <= end, (window, run)
    for ts in _series_times(case.read_url, run["id"]):
        assert start - SERIES_SLACK <= ts <= end + SERIES_SLACK, (ts, run)


def _series_times(url: str, run_id: str) -> list[Any]:
    with Ledger.open(url) as ledger, ledger.read() as conn:
        query = sa.select(schema.series.c.ts).where(schema.series.c.run_id == run_id)
        return [schema.to_utc(ts) for (ts,) in conn.execute(query)]
