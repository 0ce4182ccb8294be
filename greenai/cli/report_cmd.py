"""``greenai report``: the periodic ESG disclosure report of a period."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from greenai.cli import options as o

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
    Path | None, typer.Option("--out", help="Output folder (default: ./greenai-report-PERIOD).")
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


def report(
    period: PeriodOpt = None,
    last: LastOpt = None,
    project: ProjectOpt = None,
    out: OutOpt = None,
    format: FormatOpt = "html,pdf,csv,json",
    as_of: AsOfOpt = None,
    db: o.DbUrl = None,
) -> None:
    """Write the ESG disclosure report of a period: report.html, report.pdf, report.json,
    summary.csv, runs.csv and manifest.json."""
    from greenai.reports import report as make_report

    result = make_report(
        period,
        last=last,
        projects=tuple(project or ()),
        out_dir=out,
        formats=format,
        as_of=as_of,
        db_url=db,
    )
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
    typer.echo(f"written to {result.out_dir}: {', '.join(sorted(result.files))}")
