"""The summary of a benchmark: J per token with its interval, the change against the
baseline with the interval of the ratio, the quality metric, and how each energy figure
was obtained (stating plainly when the figures are estimates, not measurements).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from greenai.bench.stats import Interval, mean, mean_interval, ratio_interval
from greenai.figures.units import format_joules

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from greenai.bench.cells import Cell
    from greenai.bench.runner import BenchResult, Measurement

MODEL_NOTE = (
    "Energy figures marked 'model' are estimates, not measurements: with no RAPL counter "
    "or GPU energy counter on this machine, CPU energy is modelled from the CPU time the "
    "runs used (x the CPU's TDP, load model) and DRAM energy from memory in use. They "
    "rank the techniques by CPU time spent per token."
)


ROW_KEYS = (
    "cell", "model", "base_model", "technique", "phase", "batch_size", "window",
    "j_per_token", "j_per_token_low", "j_per_token_high", "n", "missing",
    "change_vs_baseline", "change_low", "change_high", "quality_metric", "quality",
    "methods", "params", "nonzero_params", "size_bytes",
)  # fmt: skip
"""The keys of :meth:`Row.to_dict`, in order (the columns of ``--format csv``)."""


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the summary: a cell's window over its repeats.

    Attributes:
        cell: The cell.
        window: prefill, decode, train or a user workload's window.
        j_per_token: Mean J per token over the repeats with its 95% t-interval; None when
            no repeat gave an energy.
        missing: Repeats without an energy figure (below the counters' resolution).
        change: J/token ratio to the baseline minus 1, with its 95% interval; None for
            the baseline itself or without a baseline.
        methods: Device kind -> method, over the repeats (``model``, ``counter``, ...).
        quality: The quality metric's name and mean value: the held-out perplexity of
            an inference cell, the training loss of a training cell, else the first
            metric a workload logged; None without one.
    """

    cell: Cell
    window: str
    j_per_token: Interval | None
    missing: int
    change: Interval | None
    methods: dict[str, str]
    quality: tuple[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain values in base units (JSON and CSV output): J per token, the change as a
        fraction (``-0.38``), sizes in bytes; keys :data:`ROW_KEYS`."""
        interval = self.j_per_token
        change = self.change
        return {
            "cell": self.cell.key,
            "model": self.cell.meta.get("model"),
            "base_model": self.cell.meta.get("base_model"),
            "technique": self.cell.meta.get("technique"),
            "phase": self.cell.meta.get("phase"),
            "batch_size": self.cell.meta.get("batch_size"),
            "window": self.window,
            "j_per_token": interval.value if interval else None,
            "j_per_token_low": interval.low if interval else None,
            "j_per_token_high": interval.high if interval else None,
            "n": interval.n if interval else 0,
            "missing": self.missing,
            "change_vs_baseline": change.value if change else None,
            "change_low": change.low if change else None,
            "change_high": change.high if change else None,
            "quality_metric": self.quality[0] if self.quality else None,
            "quality": self.quality[1] if self.quality else None,
            "methods": dict(self.methods),
            **{k: self.cell.info.get(k) for k in ("params", "nonzero_params", "size_bytes")},
        }


def _values(measurements: list[Measurement]) -> list[float]:
    return [m.j_per_token for m in measurements if m.j_per_token is not None]


def _baseline_key(cell: Cell) -> tuple[Any, ...]:
    meta = cell.meta
    return (meta.get("base_model"), meta.get("phase"), meta.get("batch_size"))


def summarize(result: BenchResult) -> list[Row]:
    """Rows in matrix order (cells, then windows in the order they ran)."""
    groups: dict[tuple[str, str], list[Measurement]] = {}
    for m in result.measurements:
        groups.setdefault((m.cell, m.window), []).append(m)
    baselines = {
        (_baseline_key(c), w): _values(ms)
        for c in result.cells
        if c.meta.get("technique") == "baseline"
        for (key, w), ms in groups.items()
        if key == c.key
    }
    rows = []
    for cell in result.cells:
        for (key, window), ms in groups.items():
            if key != cell.key:
                continue
            values = _values(ms)
            interval = mean_interval(values) if values else None
            base = baselines.get((_baseline_key(cell), window))
            change = None
            if values and base and cell.meta.get("technique") != "baseline":
                ratio = ratio_interval(values, base)
                change = Interval(ratio.value - 1, _shift(ratio.low), _shift(ratio.high), ratio.n)
            methods = {k: v for m in ms for k, v in sorted(m.methods.items())}
            missing = len(ms) - len(values)
            rows.append(Row(cell, window, interval, missing, change, methods, _quality(cell, ms)))
    return rows


def _quality(cell: Cell, measurements: list[Measurement]) -> tuple[str, float] | None:
    perplexity = cell.info.get("perplexity")
    if cell.meta.get("phase") == "inference" and perplexity is not None:
        return "perplexity", float(perplexity)
    names = [name for m in measurements for name in m.metrics]
    if not names:
        return None
    name = "train_loss" if "train_loss" in names else names[0]
    return name, mean([m.metrics[name] for m in measurements if name in m.metrics])


def _shift(value: float | None) -> float | None:
    return None if value is None else value - 1


def format_interval(interval: Interval | None) -> str:
    """``1.23 mJ ± 0.05`` style: the mean and the half width of its 95% interval."""
    if interval is None:
        return "-"
    half = interval.half_width
    text = format_joules(interval.value)
    return text if half is None else f"{text} ± {format_joules(half)}"


def format_change(change: Interval | None) -> str:
    """``-38% (-45% to -31%)``; ``n.s.`` when the interval holds zero."""
    if change is None:
        return "-"
    text = f"{change.value:+.0%}"
    if change.low is None or change.high is None:
        return text
    note = " n.s." if change.low <= 0 <= change.high else ""
    return f"{text} ({change.low:+.0%} to {change.high:+.0%}){note}"


def _size(cell: Cell) -> str:
    params, nonzero = cell.info.get("params"), cell.info.get("nonzero_params")
    if params is None:
        return "-"
    text = f"{params / 1e6:.2f}M"
    if nonzero is not None and nonzero < params * 0.99:
        text += f" ({nonzero / 1e6:.2f}M ≠0)"
    size = cell.info.get("size_bytes")
    return text if size is None else f"{text}, {size / 1e6:.1f} MB"


def table(result: BenchResult, rows: list[Row]) -> Table:
    """The summary as a rich table."""
    from rich.table import Table

    out = Table(title=f"greenai bench {result.bench_id[:8]} on {result.device}")
    for name, justify in (
        ("model / technique", "left"),
        ("phase", "left"),
        ("batch", "right"),
        ("J/token (95% CI)", "right"),
        ("n", "right"),
        ("J/token vs baseline (95% CI)", "right"),
        ("tokens/J", "right"),
        ("quality", "right"),
        ("params, size", "right"),
        ("method", "left"),
    ):
        out.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        interval = row.j_per_token
        per_joule = f"{1 / interval.value:,.0f}" if interval and interval.value > 0 else "-"
        n = str(interval.n if interval else 0) + (f" (+{row.missing} ?)" if row.missing else "")
        quality = "-" if row.quality is None else f"{row.quality[0]} {row.quality[1]:.3g}"
        out.add_row(
            row.cell.label,
            row.window,
            str(row.cell.batch_size),
            format_interval(interval),
            n,
            format_change(row.change),
            per_joule,
            quality,
            _size(row.cell),
            ", ".join(f"{k}:{v}" for k, v in row.methods.items()) or "-",
        )
    return out


def notes(result: BenchResult, rows: list[Row]) -> list[str]:
    """What the reader must know besides the table."""
    lines = []
    if any("model" in row.methods.values() for row in rows):
        lines.append(MODEL_NOTE)
    if any(row.missing for row in rows):
        lines.append(
            "'?': repeats whose window was below the energy counters' resolution "
            "(no figure); lengthen the windows (--decode-tokens, --prefill-iters)."
        )
    lines.append("'n.s.': the interval of the ratio holds zero (no significant difference).")
    lines.extend(f"skipped {s.label}: {s.reason}" for s in result.skipped)
    lines.extend(f"failed {f}" for f in result.failures)
    return lines


def payload(result: BenchResult, rows: list[Row]) -> dict[str, Any]:
    """The summary as plain data (``--json FILE``, ``--format json``): the bench id, the
    device, the rows (:meth:`Row.to_dict`), skipped cells and failed repeats."""
    return {
        "bench_id": result.bench_id,
        "device": result.device,
        "rows": [row.to_dict() for row in rows],
        "skipped": [{"cell": s.label, "reason": s.reason} for s in result.skipped],
        "failures": result.failures,
    }


def print_summary(result: BenchResult, console: Console) -> list[Row]:
    """Print the table and its notes; returns the rows.

    Args:
        result: What the benchmark measured.
        console: Where to print (the CLI's :func:`greenai.cli.console.table_console`:
            whole tables when the output is not a terminal).
    """
    rows = summarize(result)
    console.print(table(result, rows))
    print_notes(result, rows, console)
    return rows


def print_notes(result: BenchResult, rows: list[Row], console: Console) -> None:
    """The notes that go with the table (:func:`notes`) and where the runs were recorded."""
    for line in notes(result, rows):
        console.print(line, markup=False, highlight=False)
    runs = len({m.run_id for m in result.measurements})
    console.print(
        f"{runs} runs recorded in the ledger (project {result.config.project}, "
        f"tag bench_id={result.bench_id}); prepared in {result.prepare_s:.0f} s "
        f"(training {result.training_s:.0f} s), measured in {result.measure_s:.0f} s.",
        markup=False,
        highlight=False,
    )
