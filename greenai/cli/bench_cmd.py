"""``greenai bench``: energy per token of models x techniques x phases x batch sizes,
or (``--serve URL --model NAME``) of a running OpenAI-compatible server.

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
    serve: Annotated[
        str | None,
        typer.Option(
            "--serve", help="Measure a running OpenAI-compatible server (http://host:port/v1)."
        ),
    ] = None,
    model: Annotated[str | None, typer.Option(help="--serve: the served model's name.")] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="--serve: requests in flight at once (B, default 8).")
    ] = None,
    requests: Annotated[
        int | None, typer.Option(help="--serve: requests in all (N > B, default 64).")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option(help="--serve: output tokens per request (default 256).")
    ] = None,
    prompts: Annotated[
        Path | None, typer.Option(help="--serve: prompt file (.jsonl or one per line).")
    ] = None,
    gpus: Annotated[
        str | None, typer.Option(help="--serve: GPUs to measure (indices or UUIDs).")
    ] = None,
    technique: Annotated[
        str | None, typer.Option(help="--serve: technique of the served model.")
    ] = None,
    base_model: Annotated[
        str | None, typer.Option(help="--serve: the model the technique was applied to.")
    ] = None,
) -> None:
    """Measure J per token of models x techniques x phases, with intervals and savings;
    or, with --serve, of a running server at a steady batch (ML.ENERGY's method)."""
    from greenai.bench.config import BenchConfig, split_list
    from greenai.bench.runner import run_bench
    from greenai.bench.summary import payload, print_summary

    if list_workloads:
        _list_workloads(format)
        return
    serve_only: dict[str, Any] = {
        "model": model,
        "concurrency": concurrency,
        "requests": requests,
        "max_tokens": max_tokens,
        "prompts": str(prompts) if prompts is not None else None,
        "gpus": gpus,
        "technique": technique,
        "base_model": base_model,
    }
    if serve is not None or any(v is not None for v in serve_only.values()):
        matrix = {"--config": config, "--models": models, "--techniques": techniques,
                  "--phases": phases, "--batch-sizes": batch_sizes, "--repeats": repeats,
                  "--warmup": warmup, "--prompt-len": prompt_len, "--device": device,
                  "--prefill-iters": prefill_iters, "--decode-tokens": decode_tokens,
                  "--train-steps": train_steps, "--threads": threads,
                  "--workload": workload, "--hf-model": hf_model}  # fmt: skip
        shared = {"seed": seed, "project": project, "db_url": db}
        given = [flag for flag, value in matrix.items() if value not in (None, [])]
        _serve_bench(serve, {**serve_only, **shared}, given, format, json_out, progress)
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


def _serve_bench(
    url: str | None,
    flags: dict[str, Any],
    matrix_flags: list[str],
    fmt: o.OutputFormat,
    json_out: Path | None,
    show_progress: bool,
) -> None:
    """``greenai bench --serve URL --model NAME``: one steady-state run of a server."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from greenai.bench.serve import run_serve_bench
    from greenai.bench.serve_config import ServeConfig
    from greenai.bench.serve_summary import print_summary
    from greenai.errors import ConfigError

    if url is None:
        with_serve = "--model, --concurrency, --requests, --max-tokens, --prompts, --gpus"
        raise ConfigError("serve", None, f"a server URL: {with_serve} go with --serve URL")
    if matrix_flags:
        shown = ", ".join(matrix_flags)
        raise ConfigError("serve", url, f"no {shown}: they set the model matrix, not --serve")
    if flags["model"] is None:
        raise ConfigError("model", None, "the served model's name: --serve URL --model NAME")
    config = ServeConfig(url=url, **{k: v for k, v in flags.items() if v is not None})
    as_data = fmt is not o.OutputFormat.TABLE
    console = table_console(stderr=as_data)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, disable=not show_progress) as bar:
        task = bar.add_task(f"requests to {config.model}", total=config.requests)
        result = run_serve_bench(
            config, observer=lambda e: bar.advance(task) if e.kind == "end" else None
        )
    print_summary(result, console, table_too=not as_data)
    data = result.to_dict()
    if fmt is o.OutputFormat.JSON:
        typer.echo(json_text(data))
    elif fmt is o.OutputFormat.CSV:
        row = {k: v for k, v in data.items() if not isinstance(v, list)}
        typer.echo(csv_text([row], tuple(row)), nl=False)
    if json_out is not None:
        json_out.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    if result.window is None:
        raise typer.Exit(1)


def _keys(config: Path | None) -> set[str]:
    """Keys set in the TOML file (to tell an explicit ``models`` from the default)."""
    import tomllib

    if config is None:
        return set()
    with open(config, "rb") as handle:
        data = tomllib.load(handle)
    table = data.get("bench", data)
    return set(table) if isinstance(table, dict) else set()
