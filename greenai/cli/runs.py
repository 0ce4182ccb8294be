"""``greenai runs list | show ID | export``: read the ledger."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from greenai.cli import options as o
from greenai.cli.card_cmd import card
from greenai.cli.console import table_console
from greenai.cli.data_output import csv_text, json_text
from greenai.cli.period_totals import AsOfOpt, LastOpt, PeriodOpt, export_lines, totals
from greenai.cli.shown_text import shown_text
from greenai.errors import ConfigError
from greenai.figures.definitions import j_per_token_or_none

app = typer.Typer(help="Runs in the ledger.", no_args_is_help=True)
app.command("totals")(totals)
app.command("card")(card)


class Format(StrEnum):
    """The shared :class:`~greenai.cli.options.OutputFormat` (table, json, csv), plus
    ``codecarbon``: CodeCarbon's emissions.csv columns."""

    TABLE = o.OutputFormat.TABLE.value
    JSON = o.OutputFormat.JSON.value
    CSV = o.OutputFormat.CSV.value
    CODECARBON = "codecarbon"


FormatOpt = Annotated[
    Format,
    typer.Option(
        "--format",
        help="table (for people), json or csv (raw numbers, units in names), or codecarbon.",
    ),
]
TABLE_COLUMNS = (
    "id", "status", "project", "model", "technique", "phase", "started_at", "duration_s",
    "energy_j", "tokens_output", "j_per_output_token", "emissions_kg",
)  # fmt: skip


def with_ratios(run: dict[str, Any]) -> dict[str, Any]:
    """A run row plus its per-token figures (IT energy / tokens)."""
    out = dict(run)
    energy_j = float(run.get("energy_j") or 0.0)
    tokens_out = int(run.get("tokens_output") or 0)
    tokens_all = tokens_out + int(run.get("tokens_input") or 0)
    out["j_per_output_token"] = j_per_token_or_none(energy_j, tokens_out)
    out["j_per_token"] = j_per_token_or_none(energy_j, tokens_all)
    return out


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def _open(db: str | None) -> Any:
    from greenai.config import load_settings
    from greenai.ledger import Ledger
    from greenai.ledger.journal import unshipped_note

    settings = load_settings({"db_url": db} if db else None)
    ledger = Ledger.open(settings.db_url)
    note = unshipped_note(settings.db_url)
    if note is not None:
        typer.echo(f"greenai: note: {note}", err=True)
    return ledger


def _print_rows(rows: list[dict[str, Any]], fmt: Format) -> None:
    if fmt is Format.JSON:
        typer.echo(json_text(rows))
    elif fmt is Format.CSV:
        typer.echo(csv_text(rows, list(rows[0]) if rows else TABLE_COLUMNS), nl=False)
    elif fmt is Format.CODECARBON:
        from greenai.interop.codecarbon_csv import write_codecarbon_csv

        typer.echo(write_codecarbon_csv(rows), nl=False)
    else:
        from rich.table import Table

        table = Table()
        for column in TABLE_COLUMNS:
            table.add_column(column, no_wrap=column == "id")
        for row in rows:
            table.add_row(*(_text(row.get(c)) for c in TABLE_COLUMNS))
        table_console().print(table)


def _text(value: object) -> Any:
    """A table cell of a run's values, shown as text (:mod:`greenai.cli.shown_text`):
    never read as rich markup, control characters written as escapes."""
    return shown_text(_cell(value))


@app.command("list")
def list_runs(
    limit: Annotated[
        int, typer.Option(help=f"Most runs shown, newest first (1 to {o.LIMIT_MAX}).")
    ] = 50,
    status: Annotated[str | None, typer.Option(help="Only runs with this status.")] = None,
    project: Annotated[str | None, typer.Option(help="Only this project.")] = None,
    format: FormatOpt = Format.TABLE,
    db: o.DbUrl = None,
) -> None:
    """List runs, newest first."""
    limit = o.check_limit(limit)
    ledger = _open(db)
    try:
        rows = [
            with_ratios(r) for r in ledger.list_runs(limit=limit, status=status, project=project)
        ]
    finally:
        ledger.close()
    _print_rows(rows, format)


class Source(StrEnum):
    """Where ``runs show`` takes a run's energy from."""

    LEDGER = "ledger"
    PROMETHEUS = "prometheus"


SourceOpt = Annotated[
    Source,
    typer.Option(
        "--source", help="ledger, or prometheus: GPU energy from the node agents' counters."
    ),
]
PrometheusUrl = Annotated[
    str,
    typer.Option("--prometheus-url", envvar="GREENAI_PROMETHEUS_URL", help="Prometheus base URL."),
]


@app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    format: FormatOpt = Format.TABLE,
    source: SourceOpt = Source.LEDGER,
    prometheus_url: PrometheusUrl = "http://127.0.0.1:9090",
    db: o.DbUrl = None,
) -> None:
    """Show one run with its devices, windows, metrics and the revisions of its figures."""
    ledger = _open(db)
    try:
        record = ledger.get_run(run_id)
        parts = _rank_parts(ledger, record) if source is Source.PROMETHEUS else []
        revisions = ledger.revisions(record["run"]["id"]) if record is not None else []
    finally:
        ledger.close()
    if record is None:
        typer.echo(f"greenai: no run {run_id!r} in the ledger", err=True)
        raise typer.Exit(1)
    if source is Source.PROMETHEUS:
        _show_prometheus(record, parts or [record], prometheus_url, format)
        return
    run = with_ratios(record["run"])
    if format is Format.JSON:
        full = {**run, **{k: record[k] for k in ("devices", "windows", "metrics")}}
        typer.echo(json_text({**full, "revisions": revisions}))
        return
    if format is not Format.TABLE:
        _print_rows([run], format)
        return
    from rich.table import Table

    table = Table(title=_text(f"run {run['id']}"), show_header=False)
    for key, value in run.items():
        table.add_row(key, _text(value))
    console = table_console()
    console.print(table)
    for part in ("devices", "windows", "metrics"):
        if record[part]:
            console.print(f"[bold]{part}[/]")
            _print_rows(record[part], Format.JSON)
    if revisions:
        console.print("[bold]revisions[/]")
        _print_rows(revisions, Format.JSON)


def _rank_parts(ledger: Any, record: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The parts of a multi-rank job's row (each rank's devices over its own window)."""
    if record is None or record["run"].get("rank") is not None:
        return []
    world_size = int(record["run"].get("world_size") or 0)
    from greenai.fleet.ranks import part_run_id

    found = (ledger.get_run(part_run_id(record["run"]["id"], r)) for r in range(world_size))
    return [part for part in found if part is not None]


def _show_prometheus(
    record: dict[str, Any], parts: list[dict[str, Any]], url: str, fmt: Format
) -> None:
    """A run's GPU energy per device: the agents' counters in Prometheus vs the ledger."""
    from greenai.fleet.prometheus_energy import compare_with_ledger

    try:
        total, rows = compare_with_ledger(url, record, parts)
    except ValueError as exc:
        typer.echo(f"greenai: {exc}", err=True)
        raise typer.Exit(1) from exc
    if fmt is Format.JSON:
        typer.echo(json_text({**total, "devices": rows}))
        return
    if fmt is not Format.TABLE:
        _print_rows(rows, fmt)
        return
    from rich.table import Table

    columns = ("host", "device", "share", "prometheus_energy_j", "ledger_energy_j", "partial")
    table = Table(title=_text(f"GPU energy of run {total['id']} from Prometheus"))
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_text(row[c]) for c in columns))
    console = table_console()
    console.print(table)
    for key, value in total.items():
        console.print(f"{key}: {_cell(value)}", markup=False)


@app.command("amend")
def amend(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    set_: Annotated[
        list[str],
        typer.Option(
            "--set",
            help="KEY=VALUE to correct (repeatable): project, phase, model, base_model, "
            "technique, name, pue (recomputes facility energy, emissions and cost), "
            "tokens_input, tokens_output.",
        ),
    ],
    reason: Annotated[
        str, typer.Option("--reason", help="Why: kept with the revision, shown in restatements.")
    ],
    db: o.DbUrl = None,
) -> None:
    """Correct a finished run's recorded figures: a new revision with its reason (reports as
    of an earlier time keep the figures held then)."""
    from greenai.errors import ConfigError
    from greenai.ledger.amend import parse_changes

    try:
        changes = parse_changes(set_)
        ledger = _open(db)
        try:
            done = ledger.amend_run(run_id, changes, reason)
        finally:
            ledger.close()
    except ConfigError as exc:  # one line, exit 2, nothing written
        typer.echo(f"greenai: error: {exc}", err=True)
        raise typer.Exit(2) from None
    if done.revision is None:
        typer.echo(f"run {run_id}: nothing to change (it already holds these values)")
        return
    said = ", ".join(f"{k} {_cell(a)} -> {_cell(b)}" for k, (a, b) in sorted(done.changes.items()))
    typer.echo(f"run {run_id}: revision {done.revision}: {said}")


@app.command("export")
def export(
    format: FormatOpt = Format.CSV,
    limit: Annotated[
        int, typer.Option(help=f"Most runs exported, newest first (1 to {o.LIMIT_MAX}).")
    ] = 100_000,
    project: Annotated[str | None, typer.Option(help="Only this project.")] = None,
    period: PeriodOpt = None,
    last: LastOpt = None,
    as_of: AsOfOpt = None,
    include_parts: Annotated[
        bool,
        typer.Option(
            "--include-parts",
            help="codecarbon: child runs and rank parts too, marked as parts of their parent"
            " (default: root runs only, whose energy includes their parts').",
        ),
    ] = False,
    db: o.DbUrl = None,
) -> None:
    """Export runs (csv, json, or codecarbon: CodeCarbon's emissions.csv columns).

    codecarbon: root runs only unless ``--include-parts``; imported runs keep their
    CodeCarbon run_id, so re-importing an export changes nothing.

    With ``--period`` or ``--last``: the period's lines instead (each root run's share
    of the period, node idle energy), which add up to ``greenai runs totals``."""
    if period is not None or last is not None or as_of is not None:
        if format not in (Format.CSV, Format.JSON):
            raise ConfigError("format", format.value, "csv or json for a period's lines")
        projects = [project] if project else None
        export_lines(period, last, projects, as_of, o.OutputFormat(format.value), db)
        return
    limit = o.check_limit(limit)
    ledger = _open(db)
    if format is Format.CODECARBON:
        from greenai.interop.codecarbon_export import export_codecarbon

        try:
            text = export_codecarbon(
                ledger, limit=limit, project=project, include_parts=include_parts
            )
        finally:
            ledger.close()
        typer.echo(text, nl=False)
        return
    try:
        rows = [with_ratios(r) for r in ledger.list_runs(limit=limit, project=project)]
    finally:
        ledger.close()
    _print_rows(rows, format)
