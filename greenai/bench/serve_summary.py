"""The summary of ``greenai bench --serve``: J/token, tokens/s, the window, the requests,
and how each figure was obtained."""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenai.figures.units import format_joules

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from greenai.bench.serve import ServeResult

TOKENS_NOTE = {
    "usage": "tokens: the server's usage counts (completion_tokens), spread over the chunks "
    "each request streamed, timed by their arrival",
    "chunks": "tokens: one per streamed chunk with output text (the server sent no usage "
    "counts); engines that merge tokens into a chunk are undercounted",
    "usage+chunks": "tokens: usage counts where the server sent them, else one per chunk",
}


def table(result: ServeResult) -> Table:
    """The figures as a rich table (one row)."""
    from rich.table import Table

    config, window = result.config, result.window
    out = Table(title=f"greenai bench --serve {result.bench_id[:8]}: {config.model}")
    for name in ("model / technique", "batch", "J/token (GPU)", "tokens/s", "window",
                 "window tokens", "requests", "GPUs"):  # fmt: skip
        out.add_column(name, justify="left" if name.startswith("model") else "right")
    per_token = result.j_per_token
    requests = f"{result.ok}/{config.requests}" + (
        f" ({result.failed} failed)" * bool(result.failed)
    )
    gpus = ", ".join(result.gpu_ids) or "none"
    out.add_row(
        f"{config.model} {config.technique}",
        str(config.concurrency),
        "-" if per_token is None else format_joules(per_token),
        "-" if window is None else f"{window.tokens_per_s:,.1f}",
        "-" if window is None else f"{window.duration_s:.2f} s",
        "-" if window is None else f"{window.tokens:,}",
        requests,
        f"{gpus} ({result.gpu_method})" if result.gpu_ids else gpus,
    )
    return out


def notes(result: ServeResult) -> list[str]:
    """What the reader must know besides the table."""
    config = result.config
    b, n = config.concurrency, config.requests
    lines = [
        f"method: ML.ENERGY steady state: the window runs from the moment {b} requests had "
        f"their first token to the moment {n - b} of {n} had ended; J/token = the GPUs' "
        "energy over the window / the tokens that arrived in it.",
        TOKENS_NOTE.get(result.tokens_method, f"tokens: {result.tokens_method}") + ".",
        "energy: this machine's GPUs, whole (whatever runs on them); run the bench on the "
        "server's machine.",
    ]
    if result.no_window:
        lines.append(f"no steady-state window: {result.no_window}.")
    elif not result.gpu_ids:
        lines.append("no GPU is measured on this machine (NVML sees none): no J/token (GPU).")
    elif result.gpu_energy_j is None:
        lines.append("no GPU energy over the window: it is below the GPUs' counter resolution "
                     "(send more requests).")  # fmt: skip
    if result.gpu_processes == 0 and result.gpu_ids:
        lines.append(
            "warning: no process is computing on the measured GPUs: is the server on another "
            "machine? Its energy is not in these figures."
        )
    if result.energy_j is not None:
        lines.append(
            f"the window's IT energy (GPUs and this process's CPU and memory, as the dashboard's "
            f"Compare uses it): {format_joules(result.energy_j)}."
        )
    lines.extend(f"failed request: {error}" for error in result.failures)
    return lines


def print_summary(result: ServeResult, console: Console, *, table_too: bool = True) -> None:
    """Print the table (unless ``table_too`` is false), the notes and where the run went."""
    if table_too:
        console.print(table(result))
    for line in notes(result):
        console.print(line, markup=False, highlight=False)
    console.print(
        f"1 run recorded in the ledger (project {result.config.project}, tag "
        f"bench_id={result.bench_id}, window serve); {result.tokens_output:,} output and "
        f"{result.tokens_input:,} prompt tokens in {result.duration_s:.1f} s.",
        markup=False,
        highlight=False,
    )
