"""Rank parts in the ledger (SQLite and PostgreSQL): written apart, aggregated together."""

from __future__ import annotations

from datetime import timedelta

import pytest

from greenai.ledger import Ledger
from greenai.ledger.ranks import jobs_changed_since, reaggregate, save_part
from tests.fleet.parts import T0, part


def test_parts_never_overwrite_each_other_and_the_job_row_adds_them(backend_url: str) -> None:
    with Ledger.open(backend_url) as ledger:
        save_part(ledger, part("j", 0, "a", [("gpu:0", "gpu", 100.0, 1.0),
                                             ("cpu:package-0", "cpu", 30.0, 1.0)]))  # fmt: skip
        save_part(ledger, part("j", 1, "a", [("gpu:1", "gpu", 110.0, 1.0)]))
        save_part(ledger, part("j", 2, "b", [("gpu:0", "gpu", 120.0, 1.0),
                                             ("cpu:package-0", "cpu", 31.0, 1.0)]))  # fmt: skip
        save_part(ledger, part("j", 3, "b", [("gpu:1", "gpu", 130.0, 1.0)]))
        job = ledger.get_run("j")
        roots = ledger.list_runs(root_only=True)
        parts = [r for r in ledger.list_runs() if r["parent_run_id"] == "j"]
    assert job is not None
    assert job["run"]["energy_gpu_j"] == 460.0 and job["run"]["energy_cpu_j"] == 61.0
    assert job["run"]["hosts"] == ["a", "b"] and job["run"]["world_size"] == 4
    assert sorted((d["host_id"], d["device_id"]) for d in job["devices"] if d["kind"] == "gpu") == [
        ("a", "gpu:0"), ("a", "gpu:1"), ("b", "gpu:0"), ("b", "gpu:1")]  # fmt: skip
    assert [r["id"] for r in roots] == ["j"]  # totals that add root runs count the job once
    assert sorted(p["rank"] for p in parts) == [0, 1, 2, 3]


def test_a_part_written_again_replaces_only_itself(backend_url: str) -> None:
    with Ledger.open(backend_url) as ledger:
        save_part(ledger, part("j", 0, "a", [("gpu:0", "gpu", 100.0, 1.0)], status="running",
                               end_s=None, world_size=2))  # fmt: skip
        save_part(ledger, part("j", 1, "a", [("gpu:1", "gpu", 50.0, 1.0)], world_size=2))
        first = ledger.get_run("j")
        save_part(ledger, part("j", 0, "a", [("gpu:0", "gpu", 250.0, 1.0)], world_size=2))
        second = ledger.get_run("j")
    assert first is not None and second is not None
    assert first["run"]["status"] == "running" and first["run"]["energy_j"] == 150.0
    assert second["run"]["status"] == "completed" and second["run"]["energy_j"] == 300.0
    assert second["run"]["created_at"] == first["run"]["created_at"]


def test_a_rank_that_died_is_interrupted_by_the_next_write_of_another(backend_url: str) -> None:
    with Ledger.open(backend_url) as ledger:
        dead = part("j", 1, "a", [("gpu:1", "gpu", 40.0, 1.0)], status="running", end_s=None,
                    world_size=2)  # fmt: skip
        save_part(ledger, dead, now=T0 + timedelta(seconds=5))
        alive = part("j", 0, "a", [("gpu:0", "gpu", 400.0, 1.0)], status="running", end_s=None,
                     world_size=2, heartbeat_at=T0 + timedelta(seconds=600))  # fmt: skip
        save_part(ledger, alive, stale_after_s=60.0, now=T0 + timedelta(seconds=600))
        job = ledger.get_run("j")
        stale = ledger.get_run("j/rank1")
    assert stale is not None and stale["run"]["status"] == "interrupted"
    assert any(f.startswith("interrupted: heartbeat stale") for f in stale["run"]["flags"])
    assert job is not None
    assert job["run"]["status"] == "running"  # the other rank carries on
    assert "rank_interrupted:1" in job["run"]["flags"]
    assert job["run"]["energy_gpu_j"] == 440.0  # the dead rank keeps its energy so far


def test_parts_replayed_without_their_job_are_repaired(backend_url: str) -> None:
    with Ledger.open(backend_url) as ledger:
        save_part(ledger, part("j", 0, "a", [("gpu:0", "gpu", 100.0, 1.0)], world_size=2))
        # Rank 1's part comes back from a spool: a plain run record, no aggregation.
        since = ledger.get_run("j")["run"]["updated_at"]  # type: ignore[index]
        ledger.save_run(part("j", 1, "b", [("gpu:0", "gpu", 70.0, 1.0)], world_size=2))
        assert ledger.get_run("j")["run"]["energy_j"] == 100.0  # type: ignore[index]
        changed = jobs_changed_since(ledger, since)
        assert reaggregate(ledger, changed) == ["j"]
        job = ledger.get_run("j")
    assert job is not None and job["run"]["energy_j"] == 170.0 and job["run"]["hosts"] == ["a", "b"]


def test_a_record_that_is_not_a_part_is_refused(backend_url: str) -> None:
    record = part("j", 0, "a", [])
    record["run"]["rank"] = None
    with Ledger.open(backend_url) as ledger, pytest.raises(ValueError, match=r"run\.rank"):
        save_part(ledger, record)
