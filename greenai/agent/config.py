"""The node agent's settings, checked when built (a mistake names the key)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from greenai.agent.serve_config import ServeTarget, check_targets
from greenai.agent.serving_record import SiteFigures
from greenai.errors import ConfigError
from greenai.figures.tiers import tier_seconds

DEFAULT_PORT = 9877
DEFAULT_INTERVAL_S = 60.0


def tier_width_s(tier: str) -> int:
    """The width of a series tier's buckets, s (``1m`` -> 60).

    Raises:
        ConfigError: Not a number followed by s, m, h or d.
    """
    try:
        return tier_seconds(tier)
    except ValueError:
        raise ConfigError("series_tier", tier, "a tier such as 1s, 10s, 1m or 1h") from None


@dataclass(frozen=True)
class AgentConfig:
    """What the agent does.

    Attributes:
        host_id: The node's name in metrics and in the ledger (as on its runs).
        port: TCP port of the metrics endpoint (0: any free port).
        address: Address the endpoint listens on (``0.0.0.0``: every interface).
        interval_s: Length of the node-energy intervals written to the ledger, s; they
            are aligned on multiples of it in UTC (60: on the minute).
        series_tier: Tier of the downsampled power series written to the ledger
            (``1m``), or None to write none.
        db_url: Ledger URL (None: the default SQLite file).
        record: Whether to write to the ledger at all (False: metrics only).
        repair_jobs: Whether to bring the rows of multi-rank jobs up to date.
        stale_after_s: A rank's part without a heartbeat for this long is interrupted, s.
        powercap_root: RAPL powercap root (None: the default).
        cpu_tdp_w: CPU TDP for the CPU estimate where RAPL is missing, W.
        series_hz: Counter reading rate between intervals, Hz.
        power_hz: Rate of power-only sensors, Hz.
        duration_s: Stop after this long, s (None: until SIGTERM).
        serve: Serving engines to read (:mod:`greenai.agent.serve_config`).
        site: Location, factor and PUE of the serving runs (None: none recorded).
    """

    host_id: str
    port: int = DEFAULT_PORT
    address: str = "0.0.0.0"
    interval_s: float = DEFAULT_INTERVAL_S
    series_tier: str | None = None
    db_url: str | None = None
    record: bool = True
    repair_jobs: bool = True
    stale_after_s: float = 60.0
    powercap_root: Path | None = None
    cpu_tdp_w: float | None = None
    series_hz: float = 1.0
    power_hz: float = 10.0
    duration_s: float | None = None
    serve: tuple[ServeTarget, ...] = ()
    site: SiteFigures | None = None

    def __post_init__(self) -> None:
        if not self.host_id or any(c.isspace() for c in self.host_id):
            raise ConfigError("host_id", self.host_id, "a name without whitespace")
        if not 0 <= self.port <= 65535:
            raise ConfigError("port", self.port, "a TCP port, 0 to 65535 (0: any free port)")
        if not self.address.strip():
            raise ConfigError("address", self.address, "an IP address such as 0.0.0.0")
        if not self.interval_s > 0:
            raise ConfigError("interval", self.interval_s, "a number of seconds > 0")
        if self.series_tier is not None:
            tier_width_s(self.series_tier)
        if self.duration_s is not None and not self.duration_s > 0:
            raise ConfigError("duration", self.duration_s, "a number of seconds > 0")
        if not 0 < self.series_hz <= 100:
            raise ConfigError("series_hz", self.series_hz, "a number in (0, 100]")
        if not 0 < self.power_hz <= 1000:
            raise ConfigError("power_hz", self.power_hz, "a number in (0, 1000]")
        check_targets(self.serve)

    @property
    def series_width_s(self) -> int | None:
        """Width of the series buckets, s, or None when no series are written."""
        return tier_width_s(self.series_tier) if self.series_tier else None
