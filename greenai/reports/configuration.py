"""The report configuration as the ledger held it at the report's as-of time.

The settings a report reads (:data:`REPORT_KEYS`) and the text of the files it reads
(:data:`FILE_KEYS`) form one configuration, versioned in the ledger
(:mod:`greenai.ledger.report_inputs`). A report as of a past time uses the revision held
then: its settings, and copies of its files written to a private folder for the time of
the report, read by the same parsers (so their errors name the same file).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenai.errors import ConfigError

if TYPE_CHECKING:
    from greenai.config import Settings
    from greenai.ledger import Ledger
    from greenai.ledger.report_inputs import HeldInputs

__all__ = ["FILE_KEYS", "REPORT_KEYS", "HeldSettings", "held_settings"]

NAME = "report"
REPORT_KEYS = (
    "country", "region", "cloud_provider", "pue", "wue", "price_per_kwh", "currency",
    "market_factors", "scope1_tco2e", "scope1_statement", "net_revenue",
    "high_climate_impact_revenue", "revenue_currency", "consolidation_approach",
    "organisational_boundary", "base_year", "restatement_policy", "sites", "site_pue",
)  # fmt: skip
FILE_KEYS = ("instruments_file", "market_factors_file")
BY_YEAR = ("scope1_tco2e", "net_revenue", "high_climate_impact_revenue")


@dataclass(frozen=True)
class HeldSettings:
    """The settings a report uses, and which configuration revision they come from."""

    settings: Settings
    held: HeldInputs

    def section(self) -> dict[str, Any]:
        """report.json's ``configuration``: its revision and hash (not the time it was
        recorded: the same figures from two ledgers give the same bytes)."""
        return {
            "revision": self.held.revision,
            "sha256": self.held.sha256,
            "note": self.held.note,
        }


def _file(path: Path | None, key: str) -> dict[str, str] | None:
    if path is None:
        return None
    try:
        return {"name": path.name, "text": path.read_text(encoding="utf-8")}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(key, str(path), f"a readable UTF-8 file ({exc})") from exc


def current(settings: Settings) -> dict[str, Any]:
    """The configuration in effect now, as plain JSON values."""
    plain = settings.as_dict()
    return {
        "settings": {key: plain[key] for key in REPORT_KEYS},
        "files": {key: _file(getattr(settings, key), key) for key in FILE_KEYS},
    }


def _values(content: dict[str, Any]) -> dict[str, Any]:
    values = dict(content["settings"])
    for key in BY_YEAR:
        values[key] = {int(year): value for year, value in (values.get(key) or {}).items()}
    return values


@contextmanager
def held_settings(ledger: Ledger, settings: Settings, as_of: datetime) -> Iterator[HeldSettings]:
    """The settings as held at ``as_of`` (recording the current ones for a present report)."""
    import sqlalchemy as sa

    from greenai.ledger.report_inputs import (
        held_inputs,
        inputs_sha256,
        record_inputs,
        unrecorded,
    )

    now = ledger.now().replace(microsecond=0)
    mine = current(settings)
    refused = None
    try:
        with ledger.write() as conn:
            record_inputs(conn, NAME, mine, now, as_of)
    except sa.exc.DBAPIError as exc:  # a read-only ledger (the dashboard's preview), ...
        refused = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
    with ledger.read() as conn:
        held = held_inputs(conn, NAME, mine, as_of)
    if refused is not None and as_of >= now:  # the present: never an older configuration
        held = unrecorded(mine, f"the ledger refused the write: {refused}")
    if held.sha256 == inputs_sha256(mine):
        yield HeldSettings(settings, held)
        return
    with tempfile.TemporaryDirectory(prefix="greenai-report-inputs-") as folder:
        files: dict[str, Path | None] = {}
        for key in FILE_KEYS:
            stored = held.content["files"].get(key)
            if stored is None:
                files[key] = None
                continue
            path = Path(folder) / key / stored["name"]
            path.parent.mkdir()
            path.write_text(stored["text"], encoding="utf-8")
            files[key] = path
        yield HeldSettings(settings.replace(**_values(held.content), **files), held)
