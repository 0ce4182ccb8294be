"""What a workload sees while it runs: its run, its windows, its device; and ``@workload``.

No torch at import: CUDA is synchronized only when the device is a CUDA device.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from greenai.errors import ConfigError

if TYPE_CHECKING:
    from greenai.tracking.run import Run

_F = TypeVar("_F", bound=Callable[..., Any])
META_ATTRIBUTE = "__greenai_workload__"
_META_KEYS = ("model", "base_model", "technique", "precision", "phase", "batch_size", "seq_len")


def synchronize(device: str) -> None:
    """Wait for queued CUDA work on ``device`` (a no-op on the CPU)."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)


@dataclass
class WorkloadContext:
    """Handed to a workload for the warm-up and for each measured repeat.

    Attributes:
        device: ``cpu`` or ``cuda`` (or ``cuda:N``).
        repeat: Repeat number from 0; -1 during the warm-up.
        run: The tracked run of this repeat; None during the warm-up.
        batch_size: The matrix's batch size for this cell.
        state: A dict kept across the warm-up and the repeats of one cell (load a model
            once, keep it here).
    """

    device: str
    repeat: int
    run: Run | None
    batch_size: int
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def warmup(self) -> bool:
        """Whether this call is the untracked warm-up."""
        return self.run is None

    @contextlib.contextmanager
    def window(self, name: str) -> Iterator[None]:
        """A measured window of the run, marked steady state (CUDA synchronized at both
        ends); a no-op during the warm-up. Keep ramp-up and drain outside it, count its
        tokens inside it."""
        if self.run is None:
            yield
            return
        synchronize(self.device)
        with self.run.window(name, steady_state=True):
            try:
                yield
            finally:
                synchronize(self.device)

    def add_tokens(self, input: int = 0, output: int = 0) -> None:
        """Count tokens (in the innermost open window and the run)."""
        if self.run is not None:
            self.run.add_tokens(input=input, output=output)

    def log_metric(self, name: str, value: float) -> None:
        """Record a quality metric on the run (perplexity, accuracy)."""
        if self.run is not None:
            self.run.log_metric(name, value)


def workload(
    *,
    model: str | None = None,
    base_model: str | None = None,
    technique: str = "baseline",
    precision: str | None = None,
    phase: str = "inference",
    seq_len: int | None = None,
) -> Callable[[_F], _F]:
    """Mark a function as a benchmark workload and describe what it runs.

    The function receives a :class:`WorkloadContext`; it is called once for the warm-up
    (``ctx.warmup`` is true, nothing is recorded) and once per repeat inside an ordinary
    tracked run::

        @greenai.bench.workload(model="my-llm", technique="int8", precision="int8")
        def decode(ctx):
            model = ctx.state.setdefault("model", load_my_model())
            with ctx.window("decode"):
                n = model.generate(batch=ctx.batch_size)
                ctx.add_tokens(output=n)

    Args:
        model: Model name of the runs (default: the function's name).
        base_model: The model the technique was applied to.
        technique: Technique name (baseline, int8, ...).
        precision: Numeric precision.
        phase: inference, training, ...
        seq_len: Sequence length, tokens.
    """
    meta = {
        "model": model,
        "base_model": base_model,
        "technique": technique,
        "precision": precision,
        "phase": phase,
        "seq_len": seq_len,
    }

    def mark(fn: _F) -> _F:
        setattr(fn, META_ATTRIBUTE, meta)
        return fn

    return mark


def workload_meta(fn: Callable[..., Any], name: str) -> dict[str, Any]:
    """The run metadata of a workload function (its ``@workload`` values, else defaults).

    Raises:
        ConfigError: The object is not callable.
    """
    if not callable(fn):
        raise ConfigError("workload", name, "a callable taking a WorkloadContext")
    declared = getattr(fn, META_ATTRIBUTE, None) or {}
    meta: dict[str, Any] = {"technique": "baseline", "phase": "inference"}
    meta.update({k: v for k, v in declared.items() if k in _META_KEYS and v is not None})
    meta.setdefault("model", getattr(fn, "__name__", name))
    return meta
