"""What the agent writes to the ledger: node energy per interval, downsampled series.

Node energy rows (table ``node_energy``) hold each device's energy over one interval:
the counter delta between two snapshots, so intervals are contiguous and add up to the
node's whole energy. Series rows (table ``series``, run_id "") hold, per device and
bucket of the tier, the mean power of the readings in it and the energy that went by.

Writes never raise: rows that could not be written wait in memory (at most
``max_backlog`` of each kind, the oldest dropped first, with a warning) and are tried
again at the next flush. A node-energy interval is written once whatever the retries
(a unique index on host, device and interval start).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from collectors.sampler import Snapshot
from collectors.types import Reading

if TYPE_CHECKING:
    from greenai.ledger import Ledger

log = logging.getLogger(__name__)

NODE_KEYS = ("host_id", "device_id", "start_at")
MAX_BACKLOG = 100_000
REPAIR_LOOKBACK_S = 3600.0


def utc_now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def node_rows(
    host_id: str, before: Snapshot, after: Snapshot, start_at: datetime, end_at: datetime
) -> list[dict[str, Any]]:
    """One ``node_energy`` row per device present in both snapshots (energy >= 0); a
    device lost before the interval has none (its energy up to the loss is in the
    interval where it was lost)."""
    rows = []
    for device_id, end in sorted(after.devices.items()):
        begin = before.devices.get(device_id)
        if begin is None or device_id in before.lost:
            continue
        rows.append(
            {
                "host_id": host_id,
                "device_id": device_id,
                "kind": end.kind.value,
                "method": end.method.value,
                "start_at": start_at,
                "end_at": end_at,
                "energy_j": max(end.energy_j - begin.energy_j, 0.0),
            }
        )
    return rows


class SeriesBuckets:
    """Mean power and energy per device and bucket, from the sampler's readings.

    Args:
        host_id: The node.
        tier: Tier label of the rows (``1m``).
        width_s: Bucket width, s.
        wall_minus_mono_s: Returns wall-clock time minus monotonic time, s (injectable).
    """

    def __init__(
        self,
        host_id: str,
        tier: str,
        width_s: int,
        wall_minus_mono_s: Callable[[], float] | None = None,
    ) -> None:
        self._host = host_id
        self._tier = tier
        self._width_s = width_s
        self._offset = wall_minus_mono_s or (lambda: time.time() - time.monotonic())
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, float], list[float]] = {}
        self._last_energy: dict[str, float] = {}

    @property
    def pending(self) -> int:
        """Buckets not taken yet (those of the current interval, per device)."""
        with self._lock:
            return len(self._buckets)

    def add(self, readings: Sequence[Reading]) -> None:
        """Add one tick's readings (called on the sampler thread)."""
        offset = self._offset()
        with self._lock:
            for r in readings:
                if r.power_w is None:
                    continue
                start = math.floor((r.timestamp_s + offset) / self._width_s) * self._width_s
                bucket = self._buckets.setdefault((r.device_id, start), [0.0, 0.0, 0.0, 0.0])
                bucket[0] += r.power_w
                bucket[1] += 1
                if r.energy_j is not None:
                    previous = self._last_energy.get(r.device_id)
                    if previous is not None:
                        bucket[2] += max(r.energy_j - previous, 0.0)
                        bucket[3] = 1.0
                    self._last_energy[r.device_id] = r.energy_j

    def take(self, now_s: float, final: bool = False) -> list[dict[str, Any]]:
        """Rows of the buckets that ended by ``now_s`` (epoch s); every bucket if final."""
        with self._lock:
            done = [k for k in self._buckets if final or k[1] + self._width_s <= now_s]
            taken = [(k, self._buckets.pop(k)) for k in sorted(done)]
        return [
            {
                "run_id": "",
                "host_id": self._host,
                "device_id": device_id,
                "tier": self._tier,
                "ts": datetime.fromtimestamp(start, UTC),
                "power_w": total_w / count,
                "energy_j": energy_j if has_energy else None,
                "sample_count": int(count),
            }
            for (device_id, start), (total_w, count, energy_j, has_energy) in taken
        ]


def _write_node_rows(ledger: Ledger, rows: list[dict[str, Any]]) -> None:
    from greenai.ledger import schema
    from greenai.ledger.upsert import insert_ignore

    with ledger.write() as conn:
        insert_ignore(conn, schema.node_energy, rows, NODE_KEYS)


class LedgerOutbox:
    """Rows on their way to the ledger; kept and retried while it cannot be written.

    Args:
        ledger_factory: Opens the ledger (called lazily, again after a failure).
        max_backlog: Most rows of each kind kept while the ledger is unreachable.
        repair_jobs: Whether flushes also bring multi-rank job rows up to date.
        stale_after_s: Parts of a job without a heartbeat for this long are interrupted.
        clock: Ledger time (aware UTC).
        writers: Also called with the ledger at each flush, after the node rows (they
            keep what they could not write; an exception counts as a failed flush).
    """

    def __init__(
        self,
        ledger_factory: Callable[[], Ledger],
        *,
        max_backlog: int = MAX_BACKLOG,
        repair_jobs: bool = True,
        stale_after_s: float = 60.0,
        clock: Callable[[], datetime] = utc_now,
        writers: Sequence[Callable[[Ledger], None]] = (),
    ) -> None:
        self._factory = ledger_factory
        self._writers = list(writers)
        self._ledger: Ledger | None = None
        self._nodes: deque[dict[str, Any]] = deque(maxlen=max_backlog)
        self._series: deque[dict[str, Any]] = deque(maxlen=max_backlog)
        self._repair = repair_jobs
        self._stale_after_s = stale_after_s
        self._clock = clock
        self._repaired_at = clock() - timedelta(seconds=REPAIR_LOOKBACK_S)
        self.dropped = 0
        self.failures = 0
        self.repaired_jobs: list[str] = []

    @property
    def pending(self) -> int:
        """Rows waiting to be written."""
        return len(self._nodes) + len(self._series)

    def add(self, nodes: Sequence[dict[str, Any]], series: Sequence[dict[str, Any]]) -> None:
        """Queue rows (the oldest are dropped beyond the backlog's size)."""
        for queue, rows in ((self._nodes, nodes), (self._series, series)):
            overflow = max(len(queue) + len(rows) - (queue.maxlen or 0), 0)
            if overflow:
                self.dropped += overflow
                log.warning("ledger unreachable for long: %d old rows dropped", overflow)
            queue.extend(rows)

    def flush(self) -> bool:
        """Write what is queued (and repair job rows); False when the ledger failed."""
        try:
            ledger = self._open()
            if self._nodes:
                _write_node_rows(ledger, list(self._nodes))
                self._nodes.clear()
            if self._series:
                ledger.add_series(list(self._series))
                self._series.clear()
            for writer in self._writers:
                writer(ledger)
            if self._repair:
                self._repair_jobs(ledger)
        except Exception as exc:  # the agent carries on; rows wait for the next flush
            self.failures += 1
            log.warning("cannot write to the ledger (%s); %d rows wait", exc, self.pending)
            self.close()
            return False
        return True

    def _repair_jobs(self, ledger: Ledger) -> None:
        from greenai.ledger.ranks import jobs_changed_since, reaggregate

        started = self._clock()
        jobs = jobs_changed_since(ledger, self._repaired_at - timedelta(minutes=10))
        self.repaired_jobs = reaggregate(ledger, jobs, stale_after_s=self._stale_after_s)
        self._repaired_at = started

    def _open(self) -> Ledger:
        if self._ledger is None:
            self._ledger = self._factory()
        return self._ledger

    def close(self) -> None:
        """Close the ledger (opened again at the next flush)."""
        ledger, self._ledger = self._ledger, None
        if ledger is not None:
            try:
                ledger.close()
            except Exception as exc:  # a broken pool; nothing else to do
                log.debug("closing the ledger failed: %s", exc)
