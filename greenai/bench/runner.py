"""Runs a benchmark: prepare the cells, warm each up, then measure N repeats round robin.

Every cell x repeat is an ordinary tracked run (``greenai.track``) in the ledger, tagged
with the bench id and the repeat number, so the dashboard and the reports read the same
data as the summary. The repeats are interleaved across cells (repeat r visits every
cell, starting one cell further each time), so slow drift in temperature or machine load
does not favour one cell.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenai.bench.config import BenchConfig
from greenai.bench.context import WorkloadContext
from greenai.errors import ConfigError, GreenAIError
from greenai.figures.definitions import j_per_token_or_none

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from greenai.bench.cells import Cell, Skipped
    from greenai.tracking.run import Run

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Measurement:
    """One window of one repeat of one cell, as recorded in the ledger.

    Attributes:
        cell: The cell's key.
        repeat: Repeat number from 0.
        run_id: The tracked run's id.
        window: Window name (prefill, decode, train, or a user workload's).
        energy_j: Window energy, J; None when below the counters' resolution.
        tokens: Tokens processed inside the window (input + output).
        duration_s: Window duration, s.
        methods: Device kind -> how its energy was obtained (counter, power, model).
        metrics: Quality metrics logged on the run (name -> value).
    """

    cell: str
    repeat: int
    run_id: str
    window: str
    energy_j: float | None
    tokens: int
    duration_s: float
    methods: dict[str, str]
    metrics: dict[str, float]

    @property
    def j_per_token(self) -> float | None:
        """Window energy per token, J (None without energy or tokens)."""
        return j_per_token_or_none(self.energy_j, self.tokens)


@dataclass
class BenchResult:
    """Everything a benchmark measured.

    Attributes:
        bench_id: Id shared by all its runs (tag ``bench_id``).
        config: The configuration.
        device: Where it ran (cpu, cuda).
        cells: Cells measured, in matrix order.
        skipped: Cells not run, with reasons.
        measurements: One per window per repeat.
        failures: Repeats that raised (``cell #repeat: error``); their runs are ``failed``.
        trained: Built-in models trained (not found in the cache) by this benchmark.
        training_s: Seconds spent training them.
        prepare_s: Seconds spent preparing cells (training included) and warming up.
        measure_s: Seconds spent in the measured repeats.
    """

    bench_id: str
    config: BenchConfig
    device: str
    cells: list[Cell] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    trained: list[str] = field(default_factory=list)
    training_s: float = 0.0
    prepare_s: float = 0.0
    measure_s: float = 0.0


def resolve_device(name: str) -> str:
    """``auto`` -> ``cuda`` where torch sees a GPU, else ``cpu``.

    Raises:
        ConfigError: ``cuda`` asked for where torch has no CUDA device.
    """
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", name, "cpu or auto: torch sees no CUDA device here")
    return name


def round_robin(count: int, repeat: int) -> list[int]:
    """Cell order of one repeat: every cell once, starting at ``repeat % count``."""
    start = repeat % count if count else 0
    return [*range(start, count), *range(start)]


def _measurements(cell: Cell, repeat: int, run: Run) -> list[Measurement]:
    metrics = {m["name"]: float(m["value"]) for m in run.metrics}
    out = []
    for window in run.windows:
        data = window.to_dict()
        methods = {kind: str(v["method"]) for kind, v in data["energy_by_kind"].items()}
        out.append(
            Measurement(
                cell.key,
                repeat,
                run.id,
                data["name"],
                data["energy_j"],
                data["tokens_input"] + data["tokens_output"],
                data["duration_s"],
                methods,
                metrics,
            )
        )
    if not out:  # a workload without windows: the whole run is its measurement
        tokens = run.tokens_input + run.tokens_output
        methods = {kind: str(v["method"]) for kind, v in run.energy_by_kind.items()}
        out.append(
            Measurement(
                cell.key,
                repeat,
                run.id,
                "run",
                run.energy_j,
                tokens,
                run.duration_s,
                methods,
                metrics,
            )
        )
    return out


class _Bench:
    """State of one benchmark while it runs."""

    def __init__(self, config: BenchConfig, result: BenchResult, progress: Progress) -> None:
        self.config, self.result, self.progress = config, result, progress
        self.train_tasks: dict[str, Any] = {}
        import torch

        self.threads = torch.get_num_threads()

    def hook(self, name: str, done: int, total: int) -> None:
        """Training progress of a built-in model (first use)."""
        task = self.train_tasks.get(name)
        if task is None:
            task = self.progress.add_task(f"training {name} (first use, cached)", total=total)
            self.train_tasks[name] = task
        self.progress.update(task, completed=done)

    def prepare(self, data_dir: Path | None) -> None:
        from greenai.bench.cells import Matrix, builtin_matrix, user_cells
        from greenai.bench.corpus import load_corpus

        config, device = self.config, self.result.device
        matrix = Matrix()
        if config.models or config.hf_models:
            matrix = builtin_matrix(
                config, load_corpus(), device, data_dir=data_dir, hook=self.hook
            )
        user_cells(config, device, matrix)
        self.result.cells, self.result.skipped = matrix.cells, matrix.skipped
        self.result.trained, self.result.training_s = matrix.trained, matrix.training_s

    def warm_up(self) -> None:
        from greenai.bench.cells import Skipped

        result = self.result
        task = self.progress.add_task("warm-up", total=len(result.cells) * self.config.warmup)
        ready = []
        for cell in result.cells:
            try:
                for _ in range(self.config.warmup):
                    cell.execute(
                        WorkloadContext(result.device, -1, None, cell.batch_size, cell.state)
                    )
                    self.progress.advance(task)
            except Exception as exc:  # a workload that cannot even warm up is left out
                log.warning("%s: warm-up failed: %s", cell.key, exc)
                result.skipped.append(Skipped(cell.label, f"warm-up failed: {exc}"))
                continue
            ready.append(cell)
        result.cells = ready

    def measure(self, cell: Cell, repeat: int) -> None:
        import greenai

        config = self.config
        tags = {
            **cell.tags,
            "bench_id": self.result.bench_id,
            "repeat": str(repeat),
            "cell": cell.key,
            "threads": str(self.threads),
        }
        settings = run_settings(config)
        name = f"bench {cell.label} {cell.meta.get('phase', '')} #{repeat}"
        try:
            with greenai.track(
                project=config.project, name=name, tags=tags, **cell.meta, **settings
            ) as run:
                cell.execute(
                    WorkloadContext(self.result.device, repeat, run, cell.batch_size, cell.state)
                )
        except ConfigError:
            raise
        except Exception as exc:  # one broken cell must not lose the others' results
            log.warning("%s repeat %d failed: %s", cell.key, repeat, exc)
            self.result.failures.append(f"{cell.key} #{repeat}: {type(exc).__name__}: {exc}")
            return
        self.result.measurements.extend(_measurements(cell, repeat, run))

    def repeats(self) -> None:
        cells = self.result.cells
        task = self.progress.add_task("measuring", total=len(cells) * self.config.repeats)
        for repeat in range(self.config.repeats):
            for index in round_robin(len(cells), repeat):
                cell = cells[index]
                label = f"{cell.label} {cell.meta.get('phase', '')}"
                self.progress.update(task, description=f"measuring r{repeat} {label}")
                self.measure(cell, repeat)
                self.progress.advance(task)
        self.progress.update(task, description="measured")


@contextmanager
def _progress(console: Console | None, show: bool) -> Iterator[Progress]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=not show) as progress:
        yield progress


def precheck(config: BenchConfig) -> None:
    """Fail before any training or measuring on settings a run would reject (ledger URL,
    location, ...).

    Raises:
        ConfigError: An invalid setting.
        StorageError: The ledger file is not a SQLite database.
    """
    from greenai.config import load_settings
    from greenai.ledger import default_ledger_path
    from greenai.tracking.precheck import check_url

    settings = load_settings(run_settings(config))
    check_url(settings.db_url, default_ledger_path())


def run_settings(config: BenchConfig) -> dict[str, str]:
    """The per-run settings the configuration sets (ledger, location); the rest are the
    configured ones."""
    chosen = {"db_url": config.db_url, "country": config.country}
    return {key: value for key, value in chosen.items() if value}


def run_bench(
    config: BenchConfig,
    *,
    console: Console | None = None,
    show_progress: bool = True,
    data_dir: Path | None = None,
) -> BenchResult:
    """Run the benchmark ``config`` describes and record every repeat in the ledger.

    Args:
        config: The matrix and how to measure it.
        console: Where progress bars go (rich; default stdout).
        show_progress: Show progress bars.
        data_dir: Data folder of the model cache (default: ``config.data_dir``, else the
            per-user data folder).

    Returns:
        The measurements, cells, skipped cells and failures.

    Raises:
        ConfigError: An invalid configuration (checked before anything is recorded).
        StorageError: The ledger cannot be used.
        GreenAIError: PyTorch is not installed.
    """
    try:
        import torch
    except ImportError as exc:
        raise GreenAIError(
            "the benchmark needs PyTorch: pip install 'greenai[bench]' "
            "(pip install torch==2.13.0 first for a CPU build)"
        ) from exc
    precheck(config)
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    result = BenchResult(uuid.uuid4().hex, config, device)
    folder = data_dir or (Path(config.data_dir) if config.data_dir else None)
    started = time.monotonic()
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        with _progress(console, show_progress) as progress:
            bench = _Bench(config, result, progress)
            bench.prepare(folder)
            bench.warm_up()
            result.prepare_s = time.monotonic() - started
            bench.repeats()
    finally:
        torch.set_num_threads(threads)
    result.measure_s = time.monotonic() - started - result.prepare_s
    return result
