"""The Python API of reports: :func:`build_report` (a dict) and :func:`report` (files)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenai.errors import ConfigError, GreenAIError, StorageError
from greenai.figures.periods import Period, last_period, parse_as_of, parse_period
from greenai.reports.outputs import FORMATS

if TYPE_CHECKING:
    from greenai.config import Settings
    from greenai.ledger import Ledger
    from greenai.reports.restatements import EarlierReport

__all__ = [
    "FORMATS",
    "EmptyPeriodError",
    "ReportResult",
    "build_report",
    "report",
    "resolve_period",
]


class EmptyPeriodError(GreenAIError):
    """The period holds no root run (and no node energy): there is nothing to report."""


@dataclass(frozen=True)
class ReportResult:
    """What :func:`report` produced.

    Attributes:
        report: The report (as in report.json).
        files: File name -> path of every file written (manifest.json included).
        out_dir: The output folder.
    """

    report: dict[str, Any]
    files: dict[str, Path]
    out_dir: Path


def _as_of(value: datetime | str | None, timezone: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            from greenai.figures.periods import zone

            value = value.replace(tzinfo=zone(timezone))
        return value.astimezone(UTC).replace(microsecond=0)
    return parse_as_of(value, timezone)


MAX_WAIT_S = 1.0
"""A report as of the current second (the default, rounded up) waits for it to pass."""


def _wait_for(ledger: Ledger, moment: datetime) -> None:
    """Waits until ledger time reaches ``moment`` when it is at most :data:`MAX_WAIT_S`
    away, so that nothing can still be recorded at or before it once the report reads:
    read again later as of the same time, the report is the same."""
    import time

    ahead_s = (moment - ledger.now()).total_seconds()
    if 0.0 < ahead_s <= MAX_WAIT_S:
        time.sleep(ahead_s)


def build_report(
    ledger: Ledger,
    period: Period | str,
    *,
    projects: Sequence[str] = (),
    as_of: datetime | str | None = None,
    compare_to: Path | str | None = None,
) -> dict[str, Any]:
    """The report of a period as a plain dict (the content of report.json).

    Configuration (time zone, market factors, WUE, price) comes from
    :func:`greenai.config.load_settings`.

    Args:
        ledger: An open ledger.
        period: A :class:`Period` or its spelling (``2026-Q3``, ``2026-10``, ``2026``,
            ``2026-07-01..2026-09-30``).
        projects: Only these projects (empty: every project, plus node-level energy).
        as_of: Count only the runs the ledger held at this time (aware datetime or ISO 8601;
            without an offset, in the configured time zone); default now.
        compare_to: An earlier report of the same period (its manifest.json or folder):
            the report gains ``restatements`` against it.

    Returns:
        The report; keys documented in :mod:`greenai.reports`.

    Raises:
        ConfigError: A bad period or as-of time, a period starting after as-of, or invalid
            market factors.
        EmptyPeriodError: Nothing to report in the period.
    """
    from greenai.config import load_settings
    from greenai.reports.restatements import read_earlier

    settings = load_settings()
    earlier = None if compare_to is None else read_earlier(Path(compare_to))
    return _build(ledger, period, projects, as_of, settings, earlier)


def _build(
    ledger: Ledger,
    period: Period | str,
    projects: Sequence[str],
    as_of: datetime | str | None,
    settings: Settings,
    compare_to: EarlierReport | None = None,
) -> dict[str, Any]:
    from greenai.reports.build import build
    from greenai.reports.configuration import held_settings

    chosen = parse_period(period, settings.timezone) if isinstance(period, str) else period
    moment = _as_of(as_of, settings.timezone).astimezone(UTC).replace(microsecond=0)
    _wait_for(ledger, moment)
    with held_settings(ledger, settings, moment) as held:
        report = build(
            ledger,
            chosen,
            projects=tuple(projects),
            as_of=moment,
            settings=held.settings,
            compare_to=compare_to,
        )
        report["configuration"] = held.section()
    return report


def resolve_period(period: Period | str | None, last: str | None, timezone: str) -> Period:
    """The period named by ``--period`` or ``--last`` (exactly one of them).

    Raises:
        ConfigError: Neither or both given, or an invalid one.
    """
    if period is None and last is None:
        accepted = (
            "give --period (2026-Q3, 2026-10, 2026 or 2026-07-01..2026-09-30) "
            "or --last (month, quarter or year)"
        )
        raise ConfigError("period", "", accepted)
    if period is not None and last is not None:
        raise ConfigError("last", last, "not together with --period: give one of them")
    if last is not None:
        return last_period(last, timezone=timezone)
    assert period is not None
    return parse_period(period, timezone) if isinstance(period, str) else period


def _open_ledger(url: str | None) -> Ledger:
    """Opens the ledger; refuses a SQLite file that does not exist (nothing to report)."""
    from greenai.ledger import Ledger, default_ledger_path

    if url is None:
        path: Path | None = default_ledger_path()
    else:
        import sqlalchemy as sa

        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError as exc:
            raise ConfigError("db_url", url, "a SQLAlchemy URL") from exc
        database = parsed.database or ""
        on_disk = parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:")
        path = Path(database) if on_disk else None
    if path is not None and not path.exists():
        raise StorageError(f"no ledger at {path}", str(path), "check --db or GREENAI_DB_URL")
    return Ledger.open(url)


def report(
    period: Period | str | None = None,
    *,
    last: str | None = None,
    projects: Sequence[str] = (),
    out_dir: Path | str | None = None,
    formats: Sequence[str] = FORMATS,
    as_of: datetime | str | None = None,
    db_url: str | None = None,
    compare_to: Path | str | None = None,
) -> ReportResult:
    """Builds the report of a period and writes its files.

    Args:
        period: ``2026-Q3``, ``2026-10``, ``2026`` or ``2026-07-01..2026-09-30`` (or a
            :class:`Period`); give this or ``last``.
        last: ``month``, ``quarter`` or ``year``: the last complete calendar period.
        projects: Only these projects (empty: all).
        out_dir: Output folder (default ``./greenai-report-<label>``).
        formats: Any of ``html``, ``pdf``, ``csv``, ``json``; manifest.json is always written.
        as_of: Count only the runs the ledger held at this time (default now).
        db_url: Ledger URL (default: the configured one).
        compare_to: An earlier report of the same period (its manifest.json or folder):
            the report gains ``restatements`` against it.

    Returns:
        The report, the files written and the folder.

    Raises:
        ConfigError: Bad period, as-of, format or configuration.
        StorageError: The ledger cannot be opened.
        EmptyPeriodError: Nothing to report in the period.
    """
    from greenai.config import load_settings
    from greenai.reports.outputs import check_formats, write_report
    from greenai.reports.restatements import read_earlier

    settings = load_settings({"db_url": db_url} if db_url else None)
    chosen = resolve_period(period, last, settings.timezone)
    wanted = check_formats(formats)
    earlier = None if compare_to is None else read_earlier(Path(compare_to))
    ledger = _open_ledger(settings.db_url)
    try:
        data = _build(ledger, chosen, projects, as_of, settings, earlier)
    finally:
        ledger.close()
    directory = Path(out_dir) if out_dir is not None else Path(f"greenai-report-{chosen.label}")
    files = write_report(data, directory, wanted)
    return ReportResult(data, files, directory)
