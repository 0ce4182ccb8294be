"""``greenai bench``: energy per token of models x techniques x phases x batch sizes.

The matrix comes from a TOML file (``--config``), then the flags (flags win). Each
cell x repeat is an ordinary tracked run in the ledger; the summary table ends it. With
``--format json`` or ``csv`` the summary rows are the only thing on standard output;
progress bars and notes go to standard error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from greenai.cli import options as o
from greenai.cli.console import table_console
from greenai.cli.data_output import csv_text, json_text
from greenai.cli.shown_text import shown_text

if TYPE_CHECKING:
    from rich.console import Console

    from greenai.bench.runner import BenchResult
    from greenai.bench.summary import Row

_LIST = "comma-separated"
WORKLOAD_COLUMNS = ("workload", "target")
"""``--list-workloads``: the registered name and the ``module:function`` it loads."""


def _ints(text: str | None) -> list[int] | None:
    from greenai.bench.config import split_list
    from greenai.errors import ConfigError

    parts = split_list(text)
    if parts is None:
        return None
    try:
        return [int(part) for part in parts]
    except ValueError as exc:
        raise ConfigError("batch_sizes", text, "whole numbers > 0, comma-separated") from exc


def _list_workloads(fmt: o.OutputFormat) -> None:
    from greenai.bench.plugins import ENTRY_POINT_GROUP, registered_workloads

    found = [
        {"workload": name, "target": entry.value}
        for name, entry in sorted(registered_workloads().items())
    ]
    if fmt is o.OutputFormat.JSON:
        typer.echo(json_text(found))
        return
    if fmt is o.OutputFormat.CSV:
        typer.echo(csv_text(found, WORKLOAD_COLUMNS), nl=False)
        return
    from rich.table import Table

    console = table_console()
    if not found:
        console.print(f"no workloads registered in the entry point group {ENTRY_POINT_GROUP}")
        return
    table = Table(*WORKLOAD_COLUMNS)
    for row in found:  # names from installed packages: text, never rich markup
        table.add_row(*(shown_text(row[c]) for c in WORKLOAD_COLUMNS))
    console.print(table)


def _print_data(result: BenchResult, fmt: o.OutputFormat, notes_console: Console) -> list[Row]:
    """The summary rows as JSON or CSV on standard output, the notes on ``notes_console``."""
    from greenai.bench.summary import ROW_KEYS, payload, print_notes, summarize

    rows = summarize(result)
    print_notes(result, rows, notes_console)
    if fmt is o.OutputFormat.JSON:
        typer.echo(json_text(payload(result, rows)))
    else:
        typer.echo(csv_text([row.to_dict() for row in rows], ROW_KEYS, extra="raise"), nl=False)
    return rows


def bench(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="TOML file with the matrix (a bench table or top-level keys)."
        ),
    ] = None,
    models: Annotated[
        str | None, typer.Option(help=f"Built-in presets ({_LIST}): gpt-tiny, gpt-small, ...")
    ] = None,
    techniques: Annotated[
        str | None,
        typer.Option(help=f"{_LIST}: baseline, bf16, int8, pruning, distillation, smaller-model."),
    ] = None,
    phases: Annotated[str | None, typer.Option(help=f"{_LIST}: inference, training.")] = None,
    batch_sizes: Annotated[str | None, typer.Option(help=f"Batch sizes ({_LIST}).")] = None,
    repeats: Annotated[int | None, typer.Option(help="Measured repeats per cell.")] = None,
    warmup: Annotated[int | None, typer.Option(help="Warm-up iterations per cell.")] = None,
    prompt_len: Annotated[int | None, typer.Option(help="Prompt length, tokens.")] = None,
    prefill_iters: Annotated[int | None, typer.Option(help="Passes in the prefill window.")] = None,
    decode_tokens: Annotated[int | None, typer.Option(help="Steps in the decode window.")] = None,
    train_steps: Annotated[int | None, typer.Option(help="Steps in the training window.")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu or cuda.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of every random choice.")] = None,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads of torch (0: one per core).")
    ] = None,
    project: o.Project = None,
    db: o.DbUrl = None,
    workload: Annotated[
        list[str] | None,
        typer.Option("--workload", help="module:function or a registered name; repeatable."),
    ] = None,
    hf_model: Annotated[
        list[str] | None,
        typer.Option("--hf-model", help="Local Hugging Face model folder; repeatable."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the summary rows to this file.")
    ] = None,
    list_workloads: Annotated[
        bool, typer.Option("--list-workloads", help="List registered workloads and exit.")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    format: o.FormatOpt = o.OutputFormat.TABLE,
) -> None:
    """Measure J per token of models x techniques x phases, with intervals and savings."""
    from greenai.bench.config import BenchConfig, split_list
    from greenai.bench.runner import run_bench
    from greenai.bench.summary import payload, print_summary

    if list_workloads:
        _list_workloads(format)
        return
    base = BenchConfig.from_toml(config) if config is not None else None
    flags: dict[str, Any] = {
        "models": split_list(models),
        "techniques": split_list(techniques),
        "phases": split_list(phases),
        "batch_sizes": _ints(batch_sizes),
        "repeats": repeats,
        "warmup": warmup,
        "prompt_len": prompt_len,
        "prefill_iters": prefill_iters,
        "decode_tokens": decode_tokens,
        "train_steps": train_steps,
        "device": device,
        "seed": seed,
        "threads": threads,
        "project": project,
        "db_url": db,
        "workloads": workload or None,
        "hf_models": hf_model or None,
    }
    if (
        (workload or hf_model)
        and models is None
        and (base is None or "models" not in _keys(config))
    ):
        flags["models"] = []  # only what was named
    settings = BenchConfig.from_mapping(flags, base)
    as_data = format is not o.OutputFormat.TABLE  # standard output holds only the data
    console = table_console(stderr=as_data)
    result = run_bench(settings, console=console, show_progress=progress)
    rows = _print_data(result, format, console) if as_data else print_summary(result, console)
    if json_out is not None:
        text = json.dumps(payload(result, rows), indent=2, default=str)
        json_out.write_text(text, encoding="utf-8")


def _keys(config: Path | None) -> set[str]:
    """Keys set in the TOML file (to tell an explicit ``models`` from the default)."""
    import tomllib

    if config is None:
        return set()
    with open(config, "rb") as handle:
        data = tomllib.load(handle)
    table = data.get("bench", data)
    return set(table) if isinstance(table, dict) else set()
