"""Revisions of runs' final figures: a read as of any past moment gives exactly the final
figures the ledger held at that moment, whatever was recorded, replaced, re-imported or
marked interrupted afterwards; runs still running then read as running."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from greenai.interop.bulk_runs import save_runs
from greenai.ledger import Ledger
from greenai.ledger.revisions import INTERRUPTED, NOT_REVISED, RECORDED, REPLACED, RUN_COLUMNS
from greenai.queries import RunFilter, runs_frame
from tests.ledger.conftest import Clock, sample_record

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FIGURES = [c for c in RUN_COLUMNS if c not in NOT_REVISED]
IDS = ("a", "b", "c")


def _plain(value: Any) -> Any:
    """None for every way a frame marks a missing value (None, NaN, NaT)."""
    return None if not isinstance(value, list | dict) and pd.isna(value) else value


def _final(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    rows = frame[frame["status"] != "running"].to_dict("records")
    return {r["id"]: {c: _plain(r[c]) for c in FIGURES} for r in rows}


def _running(frame: pd.DataFrame) -> set[str]:
    return set(frame[frame["status"] == "running"]["id"])


def _held(ledger: Ledger, moment: datetime) -> pd.DataFrame:
    return runs_frame(ledger, RunFilter(root_only=False, as_of=moment))


def _revisions(ledger: Ledger, run_id: str) -> list[tuple[int, str]]:
    import sqlalchemy as sa

    from greenai.ledger import schema

    rev = schema.run_revisions
    query = sa.select(rev.c.revision, rev.c.reason).where(rev.c.id == run_id)
    with ledger.read() as conn:
        return [(int(n), str(r)) for n, r in conn.execute(query.order_by(rev.c.revision))]


STEP = st.tuples(
    st.sampled_from(IDS),
    st.sampled_from(("start", "final", "again", "import", "stale")),
    st.integers(1, 5),  # energy, kWh-ish
    st.sampled_from(("chat", "search")),
    st.integers(1, 600),  # seconds until the next step
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=1, max_size=14))
def test_a_read_as_of_any_past_moment_gives_the_final_figures_held_then(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, str, int, str, int]]
) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('rev') / 'ledger.db'}"
    clock = Clock(T0)
    seq: dict[str, int] = dict.fromkeys(IDS, 0)
    final: set[str] = set()
    moments: list[tuple[datetime, dict[str, dict[str, Any]], set[str]]] = []
    with Ledger.open(url, clock=clock) as ledger:
        for run_id, action, energy, project, wait_s in steps:
            seq[run_id] += 1
            if action == "start" and run_id not in final:
                record = sample_record(run_id, record_seq=seq[run_id], project=project)
                ledger.save_run(record)
            elif action in ("final", "again") and (action == "final" or run_id in final):
                status = "failed" if energy == 5 else "completed"
                columns = {"energy_j": 1000.0 * (energy if action == "final" else 1)}
                record = sample_record(
                    run_id, status=status, record_seq=seq[run_id], project=project, **columns
                )
                ledger.save_run(record)
                final.add(run_id)
            elif action == "import" and run_id not in final:
                started = T0 - timedelta(hours=1)
                row = {"id": run_id, "status": "completed", "started_at": started,
                       "energy_j": 7.0 * energy, "project": project}  # fmt: skip
                save_runs(ledger, [row], reason="imported from a test", clock=clock)
                final.add(run_id)
            elif action == "stale":
                final.update(ledger.mark_stale_runs(stale_after_s=60.0))
            now = _held_current(ledger)
            moments.append((clock.now, _final(now), _running(now)))
            clock.advance(wait_s)
        for moment, figures, running in moments:
            held = _held(ledger, moment)
            assert _final(held) == figures
            assert _running(held) == running


def _held_current(ledger: Ledger) -> pd.DataFrame:
    """What the runs table holds now (the reference a past read must reproduce)."""
    return runs_frame(ledger, RunFilter(root_only=False))


def test_each_change_of_a_final_run_is_a_revision_with_its_reason(
    ledger: Ledger, clock: Clock
) -> None:
    ledger.save_run(sample_record("r", record_seq=1))  # running: no revision
    assert _revisions(ledger, "r") == []
    clock.advance(60)
    ledger.save_run(sample_record("r", status="completed", record_seq=2))
    clock.advance(60)
    ledger.save_run(sample_record("r", status="completed", record_seq=3))  # same figures
    clock.advance(60)
    ledger.save_run(sample_record("r", status="completed", record_seq=4, energy_j=900.0))
    assert _revisions(ledger, "r") == [(1, RECORDED), (2, REPLACED)]

    ledger.save_run(sample_record("s", record_seq=1))
    clock.advance(3600)
    assert ledger.mark_stale_runs(stale_after_s=60.0) == ["s"]
    ((number, reason),) = _revisions(ledger, "s")
    seen = sample_record("s")["run"]["heartbeat_at"]
    assert (number, reason) == (1, INTERRUPTED.format(seen=seen.isoformat()))


def test_a_correction_after_the_as_of_time_leaves_the_past_read_alone(
    ledger: Ledger, clock: Clock
) -> None:
    ledger.save_run(sample_record("r", status="completed", record_seq=2))
    before = clock.now
    clock.advance(86_400)
    ledger.save_run(sample_record("r", status="completed", record_seq=3, energy_j=600.0))
    past = _held(ledger, before)
    now = _held(ledger, clock.now)
    assert list(past["energy_j"]) == [1200.0] and list(past["revision"]) == [1]
    assert list(now["energy_j"]) == [600.0] and list(now["revision"]) == [2]
    assert list(now["revision_reason"]) == [REPLACED]
    assert past["updated_at"].iloc[0] == before  # nothing recorded later shows in the past


def test_a_run_still_running_at_the_as_of_time_reads_as_running(
    ledger: Ledger, clock: Clock
) -> None:
    ledger.save_run(sample_record("r", record_seq=1))
    during = clock.now
    clock.advance(600)
    ledger.save_run(sample_record("r", status="completed", record_seq=2, energy_j=5000.0))
    held = _held(ledger, during)
    assert list(held["status"]) == ["running"] and held["revision"].isna().all()
    assert list(_held(ledger, clock.now)["status"]) == ["completed"]
    assert list(_held(ledger, during - timedelta(seconds=1))["id"]) == []  # not yet held
