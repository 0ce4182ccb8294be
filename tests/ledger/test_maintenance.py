"""Stale runs become interrupted; old power series are downsampled exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from greenai.ledger import Ledger, schema

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
# 20 days before NOW, at a whole hour: old enough for 1s -> 1m (7 days), not 1m -> 1h.
OLD = datetime(2026, 5, 12, 6, 0, tzinfo=UTC)


def _series(ledger: Ledger, tier: str | None = None) -> list[sa.Row[Any]]:
    series = schema.series
    query = sa.select(series).order_by(series.c.tier, series.c.device_id, series.c.ts)
    if tier is not None:
        query = query.where(series.c.tier == tier)
    with ledger.engine.connect() as conn:
        return list(conn.execute(query))


def _one_second_rows(start: datetime, seconds: int, device: str = "gpu0") -> list[dict[str, Any]]:
    return [
        {
            "run_id": "r1",
            "host_id": "h1",
            "device_id": device,
            "tier": "1s",
            "ts": start + timedelta(seconds=s),
            "power_w": float(s),
            "energy_j": float(s) + 0.5,
        }
        for s in range(seconds)
    ]


def test_stale_running_runs_become_interrupted(ledger: Ledger, make_record) -> None:
    heartbeat = NOW - timedelta(minutes=10)
    ledger.save_run(
        make_record("stale", heartbeat_at=heartbeat, energy_j=777.0, flags=["earlier flag"])
    )
    ledger.save_run(make_record("fresh", heartbeat_at=NOW - timedelta(seconds=30)))
    ledger.save_run(make_record("done", status="completed", heartbeat_at=heartbeat))
    ledger.save_run(make_record("silent", heartbeat_at=None, started_at=NOW - timedelta(hours=1)))

    marked = ledger.mark_stale_runs(stale_after_s=300, now=NOW)

    assert sorted(marked) == ["silent", "stale"]
    got = ledger.get_run("stale")
    assert got is not None
    run = got["run"]
    assert run["status"] == "interrupted"
    assert run["ended_at"] == heartbeat
    assert run["energy_j"] == 777.0
    assert run["flags"] == [
        "earlier flag",
        f"interrupted: heartbeat stale since {heartbeat.isoformat()}",
    ]
    assert len(got["devices"]) == 2  # the breakdown is kept too
    statuses = {r["id"]: r["status"] for r in ledger.list_runs()}
    assert statuses == {
        "stale": "interrupted",
        "silent": "interrupted",
        "fresh": "running",
        "done": "completed",
    }
    assert ledger.mark_stale_runs(stale_after_s=300, now=NOW) == []


def test_compaction_downsamples_exactly(ledger: Ledger) -> None:
    # Three minutes of 1 s samples, 20 days old, plus one recent sample.
    ledger.add_series(_one_second_rows(OLD, 180))
    recent = NOW - timedelta(hours=1)
    ledger.add_series([{"device_id": "gpu0", "tier": "1s", "ts": recent, "power_w": 7.0}])

    assert ledger.compact_series(now=NOW) == {"1s": 180, "1m": 0, "1h": 0}

    minutes = _series(ledger, "1m")
    assert [r.ts for r in minutes] == [OLD + timedelta(minutes=m) for m in range(3)]
    for m, row in enumerate(minutes):
        seconds = range(60 * m, 60 * m + 60)
        assert row.power_w == pytest.approx(sum(seconds) / 60, abs=1e-9)
        assert row.energy_j == pytest.approx(sum(s + 0.5 for s in seconds), abs=1e-9)
        assert (row.sample_count, row.run_id, row.host_id) == (60, "r1", "h1")
    assert [r.ts for r in _series(ledger, "1s")] == [recent]

    # Idempotent: a second pass changes nothing.
    assert ledger.compact_series(now=NOW) == {"1s": 0, "1m": 0, "1h": 0}
    assert _series(ledger, "1m") == minutes

    # 100 days on, the minutes become one hour (mean of all 180 samples).
    later = NOW + timedelta(days=100)
    assert ledger.compact_series(now=later) == {"1s": 1, "1m": 4, "1h": 0}
    (hour,) = _series(ledger, "1h")[:1]
    assert hour.ts == OLD
    assert hour.power_w == pytest.approx(sum(range(180)) / 180, abs=1e-9)
    assert hour.energy_j == pytest.approx(sum(s + 0.5 for s in range(180)), abs=1e-9)
    assert hour.sample_count == 180
    assert ledger.compact_series(now=later) == {"1s": 0, "1m": 0, "1h": 0}


def test_compaction_never_splits_a_bucket(ledger: Ledger) -> None:
    # Samples from 11:59:00 to 12:00:59, seven days back. Compacting 30 s after 12:00
    # puts the cutoff at 12:00:30: the 12:00 minute is not complete before the cutoff,
    # so it waits whole for the next pass.
    start = NOW - timedelta(days=7, seconds=60)
    ledger.add_series(_one_second_rows(start, 120))
    assert ledger.compact_series(now=NOW + timedelta(seconds=30)) == {"1s": 60, "1m": 0, "1h": 0}
    assert len(_series(ledger, "1s")) == 60
    assert ledger.compact_series(now=NOW + timedelta(minutes=2)) == {"1s": 60, "1m": 0, "1h": 0}
    assert [r.sample_count for r in _series(ledger, "1m")] == [60, 60]


def test_late_rows_merge_into_an_existing_bucket(ledger: Ledger) -> None:
    rows = _one_second_rows(OLD, 60)
    ledger.add_series(rows[:40])
    ledger.compact_series(now=NOW)
    ledger.add_series(rows[40:])  # arrive after the bucket was written
    assert ledger.compact_series(now=NOW) == {"1s": 20, "1m": 0, "1h": 0}
    (minute,) = _series(ledger, "1m")
    assert minute.sample_count == 60
    assert minute.power_w == pytest.approx(sum(range(60)) / 60, abs=1e-9)
    assert minute.energy_j == pytest.approx(sum(s + 0.5 for s in range(60)), abs=1e-9)


def test_devices_runs_and_nodes_stay_apart(ledger: Ledger) -> None:
    rows = _one_second_rows(OLD, 60, "gpu0") + _one_second_rows(OLD, 60, "gpu1")
    rows += [dict(r, run_id="") for r in _one_second_rows(OLD, 60, "gpu0")]
    ledger.add_series(rows)
    assert ledger.compact_series(now=NOW)["1s"] == 180
    minutes = _series(ledger, "1m")
    assert sorted((r.run_id, r.device_id, r.sample_count) for r in minutes) == [
        ("", "gpu0", 60),
        ("r1", "gpu0", 60),
        ("r1", "gpu1", 60),
    ]


def test_last_tier_with_days_is_a_retention(ledger: Ledger) -> None:
    ledger.add_series(_one_second_rows(OLD, 5))
    removed = ledger.compact_series(tiers=(("1s", 10),), now=NOW)
    assert removed == {"1s": 5}
    assert _series(ledger) == []


def test_bad_tier_is_refused_before_anything_changes(ledger: Ledger) -> None:
    ledger.add_series(_one_second_rows(OLD, 5))
    with pytest.raises(ValueError, match="tier"):
        ledger.compact_series(tiers=(("1s", 7), ("minute", 0)), now=NOW)
    assert len(_series(ledger)) == 5
