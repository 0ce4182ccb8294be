"""``greenai report``: the periodic ESG disclosure report of a period.

Its inputs are checked before the ledger is read: the period lies within
:data:`FIRST_YEAR` to :data:`LAST_YEAR` (a report compares it with the period before
and the year before, so these must be real dates too) and spans at most
:data:`MAX_YEARS` calendar years (its trend has a point per month, a few milliseconds
each: 8,000 years took minutes), and ``--out`` is a folder that exists or can be
created. An existing folder's report files are replaced (a cron job
reruns a period into the same folder); a file is never overwritten.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from greenai.cli import options as o
from greenai.errors import ConfigError

if TYPE_CHECKING:
    from greenai.figures.periods import Period

FIRST_YEAR = 1970
LAST_YEAR = 9998
MAX_YEARS = 100

PeriodOpt = Annotated[
    str | None,
    typer.Option(
        "--period",
        help="2026-Q3 (quarter), 2026-10 (month), 2026 (year) or 2026-07-01..2026-09-30, "
        "in the configured time zone.",
    ),
]
LastOpt = Annotated[
    str | None,
    typer.Option(
        "--last", help="month, quarter or year: the last complete calendar period (for cron)."
    ),
]
ProjectOpt = Annotated[
    list[str] | None, typer.Option("--project", help="Only this project (repeatable).")
]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Output folder, created if needed; its report files are replaced "
        "(default: ./greenai-report-PERIOD).",
    ),
]
FormatOpt = Annotated[str, typer.Option("--format", help="Comma-separated: html, pdf, csv, json.")]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Count the runs the ledger held at this ISO 8601 time (no offset: configured "
        "time zone; default: now).",
    ),
]

CompareOpt = Annotated[
    Path | None,
    typer.Option(
        "--compare-to",
        help="An earlier report of the same period (its manifest.json or folder): list the "
        "restatements since, with the ledger's reasons.",
    ),
]


def report(
    period: PeriodOpt = None,
    last: LastOpt = None,
    project: ProjectOpt = None,
    out: OutOpt = None,
    format: FormatOpt = "html,pdf,csv,json",
    as_of: AsOfOpt = None,
    compare_to: CompareOpt = None,
    db: o.DbUrl = None,
) -> None:
    """Write the ESG disclosure report of a period: report.html, report.pdf, report.json,
    summary.csv, runs.csv and manifest.json."""
    from greenai.config import load_settings
    from greenai.ledger.journal import unshipped_note
    from greenai.reports import report as make_report

    settings = load_settings({"db_url": db} if db else None)
    note = unshipped_note(settings.db_url)
    if note is not None:
        typer.echo(f"greenai: note: {note}; the report leaves them out", err=True)
    chosen = checked_period(period, last, as_of, settings.timezone)
    folder = out if out is not None else Path(f"greenai-report-{chosen.label}")
    created = prepare_folder(folder)
    try:
        result = make_report(
            chosen,
            projects=tuple(project or ()),
            out_dir=folder,
            formats=format,
            as_of=as_of,
            db_url=db,
            compare_to=compare_to,
        )
    except OSError as exc:
        _remove_empty(created)
        if exc.filename and _inside(Path(exc.filename), folder):
            raise ConfigError("out", str(folder), f"a folder greenai can write ({exc})") from exc
        raise
    except BaseException:
        _remove_empty(created)
        raise
    data = result.report
    typer.echo(
        f"report {data['period_label']} ({data['period_start'][:10]} to "
        f"{data['period_last_day']}, {data['timezone']}), as of {data['as_of']}: "
        f"{data['runs_count']} root run(s)"
    )
    typer.echo(
        f"  energy {data['energy_facility_kwh']:,.3f} kWh (IT {data['energy_it_kwh']:,.3f} kWh); "
        f"Scope 2 location {data['scope2_location_tco2e']:.6f} tCO2e, "
        f"market {data['scope2_market_tco2e']:.6f} tCO2e ({data['scope2_market_basis']}); "
        f"Scope 3 cloud {data['scope3_cloud_tco2e']:.6f} tCO2e"
    )
    restated = data.get("restatements")
    if restated is not None:
        typer.echo(
            f"  restated since the report as of {restated['compared_to']['as_of']}: "
            f"{len(restated['runs'])} run(s)"
        )
    typer.echo(f"written to {result.out_dir}: {', '.join(sorted(result.files))}")


def checked_period(
    period: str | None, last: str | None, as_of: str | None, timezone: str
) -> Period:
    """The period ``--period`` or ``--last`` names, checked (:func:`check_period`), with
    ``--as-of`` checked too (:func:`check_as_of`), before anything is read.

    Raises:
        ConfigError: Neither or both of ``period`` and ``last``, or an invalid value.
    """
    from greenai.reports.api import resolve_period

    chosen = check_period(resolve_period(period, last, timezone))
    check_as_of(as_of, timezone)
    return chosen


def check_period(period: Period) -> Period:
    """The period, when it lies within :data:`FIRST_YEAR` to :data:`LAST_YEAR` and
    spans at most :data:`MAX_YEARS` calendar years.

    Raises:
        ConfigError: It does not.
    """
    if period.first_day.year < FIRST_YEAR or period.last_day.year > LAST_YEAR:
        raise ConfigError(
            "period", period.label, f"a period within the years {FIRST_YEAR} to {LAST_YEAR}"
        )
    if period.last_day.year - period.first_day.year >= MAX_YEARS:
        raise ConfigError("period", period.label, f"a period of at most {MAX_YEARS} years")
    return period


def check_as_of(text: str | None, timezone: str) -> None:
    """Checks ``--as-of``: ISO 8601, within :data:`FIRST_YEAR` to :data:`LAST_YEAR`.

    Raises:
        ConfigError: It is not.
    """
    if text is None:
        return
    from greenai.figures.periods import parse_as_of

    accepted = f"an ISO 8601 time within the years {FIRST_YEAR} to {LAST_YEAR}"
    try:
        moment = parse_as_of(text, timezone)  # ConfigError when not ISO 8601
    except OverflowError as exc:  # a time zone's offset past year 1 or 9999
        raise ConfigError("as_of", text, accepted) from exc
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ConfigError("as_of", text, accepted)


def prepare_folder(folder: Path) -> list[Path]:
    """Creates the output folder if needed; returns the folders created, deepest first.

    Raises:
        ConfigError: It is not a folder, or it cannot be created.
    """
    missing: list[Path] = []
    try:
        if folder.exists() and not folder.is_dir():
            raise ConfigError("out", str(folder), "a folder, and this is not a folder (a file "
                              "is never overwritten)")  # fmt: skip
        missing = [p for p in (folder, *folder.parents) if not p.exists()]
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as exc:  # a name too long, no permission, a NUL
        _remove_empty(missing)
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError("out", str(folder), f"a folder that can be created ({reason})") from exc
    return missing


def _remove_empty(folders: list[Path]) -> None:
    """Removes the folders created for a report that was not written (deepest first)."""
    for path in folders:
        with contextlib.suppress(OSError):
            path.rmdir()


def _inside(path: Path, folder: Path) -> bool:
    return path.absolute().is_relative_to(folder.absolute())
