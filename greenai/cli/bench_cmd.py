"""``greenai bench``: energy per token of models x techniques x phases x batch sizes.

The matrix comes from a TOML file (``--config``), then the flags (flags win). Each
cell x repeat is an ordinary tracked run in the ledger; the summary table ends it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from greenai.cli import options as o

_LIST = "comma-separated"


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


def _list_workloads() -> None:
    from rich.console import Console

    from greenai.bench.plugins import ENTRY_POINT_GROUP, registered_workloads

    found = registered_workloads()
    console = Console()
    if not found:
        console.print(f"no workloads registered in the entry point group {ENTRY_POINT_GROUP}")
    for name, entry in sorted(found.items()):
        console.print(f"{name}  {entry.value}", markup=False, highlight=False)


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
) -> None:
    """Measure J per token of models x techniques x phases, with intervals and savings."""
    from rich.console import Console

    from greenai.bench.config import BenchConfig, split_list
    from greenai.bench.runner import run_bench
    from greenai.bench.summary import print_summary

    if list_workloads:
        _list_workloads()
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
    console = Console()
    result = run_bench(settings, console=console, show_progress=progress)
    rows = print_summary(result, console)
    if json_out is not None:
        payload = {
            "bench_id": result.bench_id,
            "device": result.device,
            "rows": [row.to_dict() for row in rows],
            "skipped": [{"cell": s.label, "reason": s.reason} for s in result.skipped],
            "failures": result.failures,
        }
        json_out.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")


def _keys(config: Path | None) -> set[str]:
    """Keys set in the TOML file (to tell an explicit ``models`` from the default)."""
    import tomllib

    if config is None:
        return set()
    with open(config, "rb") as handle:
        data = tomllib.load(handle)
    table = data.get("bench", data)
    return set(table) if isinstance(table, dict) else set()
